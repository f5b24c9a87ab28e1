package evidence_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/mdebot/mdebot/evidence"
	"github.com/mdebot/mdebot/evidence/evidencetest"
)

func TestDownloadName(t *testing.T) {
	tests := []struct {
		c    evidence.Custody
		want string
	}{
		{evidence.Custody{RequestID: "ab12"}, "investigation-package-ab12.zip"},
		{evidence.Custody{RequestID: "ab12", MachineName: "ws-042.contoso.com"}, "investigation-package-ws-042.contoso.com-ab12.zip"},
		{evidence.Custody{RequestID: "ab12", MachineName: `a"b; filename=x`}, "investigation-package-a_b_filename_x-ab12.zip"},
		{evidence.Custody{RequestID: "ab12", MachineName: "..."}, "investigation-package-ab12.zip"},
		{evidence.Custody{RequestID: "ab12", FileName: `C:\Windows\System32\drivers\evil.sys.gz`}, "evil.sys.gz"},
		{evidence.Custody{RequestID: "ab12", FileName: "../../etc/passwd"}, "passwd"},
		{evidence.Custody{RequestID: "ab12", FileName: "/tmp/.hidden"}, "hidden"},
		{evidence.Custody{RequestID: "ab12", FileName: "/tmp/", MachineName: "m"}, "investigation-package-m-ab12.zip"},
		{evidence.Custody{RequestID: "ab12", FileName: strings.Repeat("n", 300)}, strings.Repeat("n", 100)},
	}
	for _, tt := range tests {
		if got := evidence.DownloadName(tt.c); got != tt.want {
			t.Errorf("DownloadName(file %q, machine %q) = %q, want %q", tt.c.FileName, tt.c.MachineName, got, tt.want)
		}
	}
}

// A Link printed or logged shows no token and no signature.
func TestLinkRedacted(t *testing.T) {
	l := evidence.Link{URL: "https://acct.blob.core.windows.net/c/ab12.package?sv=2025&sig=SECRETSIG&se=x", ExpiresAt: time.Now()}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("issued", "link", l)
	for _, s := range []string{l.String(), fmt.Sprint(l), fmt.Sprintf("%v", l), buf.String()} {
		if strings.Contains(s, "SECRETSIG") || !strings.Contains(s, "ab12.package") {
			t.Errorf("printed link %q: want the path without the signature", s)
		}
	}
}

func TestValidID(t *testing.T) {
	for id, ok := range map[string]bool{
		"a1b2c3d4e5f60718": true, "ABC123": true, strings.Repeat("f", 64): true,
		"": false, strings.Repeat("f", 65): false, "a-b": false, "a.b": false, "a/b": false, "..": false, "a b": false, "ü": false,
	} {
		if err := evidence.ValidID(id); (err == nil) != ok {
			t.Errorf("ValidID(%q) = %v, want ok %v", id, err, ok)
		}
	}
}

// none keeps nothing, but Put still reads the whole body through SHA-256 so
// callers get the hash and size; everything else says ErrNotKept.
func TestNone(t *testing.T) {
	ctx := context.Background()
	s := evidence.NewNone(nil)
	body := []byte("a package passed through")
	c, err := s.Put(ctx, "ab12", iotest.OneByteReader(bytes.NewReader(body)), evidence.Custody{MachineName: "m"})
	if err != nil {
		t.Fatal(err)
	}
	if c.SHA256 != evidencetest.Sum(body) || c.Size != int64(len(body)) || c.RequestID != "ab12" || c.MachineName != "m" || c.ReceivedAt.IsZero() {
		t.Errorf("Put = %+v, want the body's hash and size", c)
	}
	errs := map[string]error{}
	_, errs["Open"] = s.Open(ctx, "ab12")
	_, errs["Custody"] = s.Custody(ctx, "ab12")
	_, errs["Link"] = s.Link(ctx, "ab12", time.Minute, "U1")
	errs["Record"] = s.Record(ctx, "ab12", evidence.Access{Kind: evidence.AccessDownloaded})
	errs["Purge"] = s.Purge(ctx, "ab12", time.Now())
	for op, err := range errs {
		if !errors.Is(err, evidence.ErrNotKept) {
			t.Errorf("%s: %v, want ErrNotKept", op, err)
		}
	}
	if checks, err := evidence.Verify(ctx, s, "cli:test"); err != nil || len(checks) != 0 {
		t.Errorf("Verify = %v, %v; want nothing to check", checks, err)
	}
	boom := errors.New("boom")
	if _, err := s.Put(ctx, "ab12", iotest.ErrReader(boom), evidence.Custody{}); !errors.Is(err, boom) {
		t.Errorf("Put of a failing body: %v, want %v", err, boom)
	}
	if _, err := s.Put(ctx, "../x", bytes.NewReader(body), evidence.Custody{}); !errors.Is(err, evidence.ErrInvalidID) {
		t.Errorf("Put of a bad id: %v, want ErrInvalidID", err)
	}
}
