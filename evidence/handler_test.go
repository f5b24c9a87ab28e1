package evidence_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdebot/mdebot/evidence"
	"github.com/mdebot/mdebot/evidence/evidencetest"
)

// lockedBuffer collects log output written from the handler's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// The file store's download route: every refusal in plain text with its
// status, ranges, HEAD, headers, and neither logs nor database holding a token.
func TestDownloadHandler(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	clk := &evidencetest.Clock{}
	var logs lockedBuffer
	var mu sync.Mutex
	var downloads []evidence.Download
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	s, err := evidence.NewFile(evidence.FileOptions{Dir: t.TempDir(), PublicURL: srv.URL + "/", Tokens: db, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle(evidence.DownloadPath, s.Handler(evidence.HandlerOptions{
		Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		OnDownload: func(_ context.Context, d evidence.Download) {
			mu.Lock()
			downloads = append(downloads, d)
			mu.Unlock()
		}}))
	body := []byte("0123456789abcdefghijklmnopqrstuvwxyz")
	for _, id := range []string{"aa11", "bb22", "cc33"} {
		if _, err := s.Put(ctx, id, bytes.NewReader(body), evidence.Custody{MachineName: "WS 1/../x", Requester: evidence.Person{SlackID: "U1"}}); err != nil {
			t.Fatal(err)
		}
	}
	link := func(id string, ttl time.Duration) string {
		l, err := s.Link(ctx, id, ttl, "U1")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(l.URL, srv.URL+"/evidence/"+id+"?token=") {
			t.Fatalf("link %s does not have the form {public_url}/evidence/{id}?token=", l)
		}
		return l.URL
	}
	good := link("aa11", 10*time.Minute)
	other := link("bb22", 10*time.Minute)
	clk.Set(time.Now().Add(-time.Hour))
	expired := link("aa11", 10*time.Minute)
	clk.Set(time.Time{})
	purgedLink := link("cc33", 10*time.Minute)
	if err := s.Purge(ctx, "cc33", time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	// A valid token for a request whose package was never stored.
	ghostToken := "ghost-token-for-an-unknown-package"
	th := sha256.Sum256([]byte(ghostToken))
	if err := db.SaveLinkToken(ctx, evidence.LinkToken{Hash: hex.EncodeToString(th[:]), RequestID: "dd44", Actor: "U1",
		CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	token := func(u string) string { p, _ := url.Parse(u); return p.Query().Get("token") }
	tests := []struct {
		name, method, url, rangeHdr string
		status                      int
		text                        string
	}{
		{"good link", "GET", good, "", 200, string(body)},
		{"a range", "GET", good, "bytes=10-19", 206, "abcdefghij"},
		{"HEAD", "HEAD", good, "", 200, ""},
		{"POST", "POST", good, "", 405, "Only GET"},
		{"no token", "GET", srv.URL + "/evidence/aa11", "", 403, "This download link is not valid."},
		{"made-up token", "GET", srv.URL + "/evidence/aa11?token=guess", "", 403, "This download link is not valid."},
		{"another package's token", "GET", srv.URL + "/evidence/aa11?token=" + token(other), "", 403, "This download link is not valid."},
		{"expired token", "GET", expired, "", 403, "This download link expired at "},
		{"purged package", "GET", purgedLink, "", 410, "This package was purged at 2025-05-01T00:00:00Z"},
		{"unknown package", "GET", srv.URL + "/evidence/dd44?token=" + ghostToken, "", 404, "No package is stored for this request."},
		{"id with a dot", "GET", srv.URL + "/evidence/aa11.custody.json?token=" + token(good), "", 404, "No package is stored"},
		{"escaped slash", "GET", srv.URL + "/evidence/..%2faa11?token=" + token(good), "", 404, "No package is stored"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, tt.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.rangeHdr != "" {
				req.Header.Set("Range", tt.rangeHdr)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || !strings.HasPrefix(string(got), tt.text) {
				t.Errorf("HTTP %d %q, want %d %q…", resp.StatusCode, got, tt.status, tt.text)
			}
			if h := resp.Header.Get("Cache-Control"); h != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", h)
			}
			if h := resp.Header.Get("Referrer-Policy"); h != "no-referrer" {
				t.Errorf("Referrer-Policy %q, want no-referrer", h)
			}
			if tt.status >= 400 && !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
				t.Errorf("refusal Content-Type %q, want text/plain", resp.Header.Get("Content-Type"))
			}
			if tt.status < 300 {
				want := map[string]string{
					"Content-Disposition": `attachment; filename="investigation-package-WS_1_.._x-aa11.zip"`,
					"X-Content-SHA256":    evidencetest.Sum(body),
					"Content-Type":        "application/zip",
				}
				for k, v := range want {
					if resp.Header.Get(k) != v {
						t.Errorf("%s: %q, want %q", k, resp.Header.Get(k), v)
					}
				}
			}
		})
	}
	// Only the two GETs that sent the package count as downloads.
	mu.Lock()
	got := downloads
	mu.Unlock()
	if len(got) != 2 || got[0].Status != 200 || got[0].Bytes != int64(len(body)) || got[1].Status != 206 || got[1].Bytes != 10 || got[1].Actor != "U1" {
		t.Errorf("downloads reported: %+v", got)
	}
	rec, err := s.Custody(ctx, "aa11")
	if err != nil {
		t.Fatal(err)
	}
	if a := evidencetest.Accesses(rec); a != "link_issued U1, link_issued U1, downloaded U1, downloaded U1" || !strings.Contains(rec.Accesses[3].Detail, "bytes=10-19") {
		t.Errorf("custody accesses: %s (%+v)", a, rec.Accesses)
	}
	// The logs tell downloads apart, and hold no token.
	out := logs.String()
	if strings.Count(out, "evidence download served") != 2 {
		t.Errorf("want two download lines in the log:\n%s", out)
	}
	rows, err := db.SQL.QueryContext(ctx, `SELECT token_sha256 FROM evidence_links`)
	if err != nil {
		t.Fatal(err)
	}
	var stored []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			t.Fatal(err)
		}
		stored = append(stored, h)
	}
	rows.Close()
	for _, u := range []string{good, other, expired, purgedLink} {
		tok := token(u)
		if strings.Contains(out, tok) {
			t.Errorf("a token reached the log:\n%s", out)
		}
		h := sha256.Sum256([]byte(tok))
		if !strings.Contains(strings.Join(stored, " "), hex.EncodeToString(h[:])) || strings.Contains(strings.Join(stored, " "), tok) {
			t.Errorf("the database should hold the token's hash only: %v", stored)
		}
	}
}

// Without http.public_url the file store says so distinctly (the caller
// then uploads the package to the clicker's DMs instead).
func TestFileLinkWithoutPublicURL(t *testing.T) {
	ctx := context.Background()
	s, err := evidence.NewFile(evidence.FileOptions{Dir: t.TempDir(), Tokens: openDB(t)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "ab12", strings.NewReader("zip"), evidence.Custody{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Link(ctx, "ab12", time.Minute, "U1"); err != evidence.ErrNoPublicURL {
		t.Errorf("Link without a public URL: %v, want ErrNoPublicURL", err)
	}
}
