package evidencetest

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdebot/mdebot/evidence"
)

// Run runs the behaviour required of every store that keeps packages (file,
// azure_blob): each case on a fresh store from fresh. A package's tests call
// it for their store kind, so the suite reaches every kind without importing
// their packages (azure_blob links the Azure SDK, which evidence must not).
func Run(t *testing.T, fresh func(t *testing.T) *Fixture) {
	t.Helper()
	cases := []struct {
		name string
		run  func(t *testing.T, f *Fixture)
	}{
		{"put, open and read in place", testPutOpen},
		{"a second put of the same id is refused", testPutTwice},
		{"an interrupted put leaves nothing", testInterruptedPut},
		{"of concurrent puts one wins", testConcurrentPuts},
		{"a package left without custody is replaced", testOrphan},
		{"links download the package", testLink},
		{"an expired link is refused", testExpiredLink},
		{"purge keeps the record and says when", testPurge},
		{"verify finds mismatch and missing", testVerify},
		{"concurrent accesses are all recorded", testConcurrentRecords},
		{"invalid ids touch nothing", testInvalidIDs},
		{"unknown ids are not found", testUnknownID},
		{"export writes the package and its record", testExport},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, fresh(t)) })
	}
}

// testZip is a real zip (so reading it in place is exercised) of about
// 2.5 MiB, more than one upload block, with a stored (uncompressed) random
// entry; built once, as deflate under -race is slow.
var testZip = sync.OnceValue(func() []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	random := make([]byte, 5<<19)
	_, _ = rand.Read(random)
	for _, e := range []struct {
		name   string
		method uint16
		body   []byte
	}{
		{"Processes/processes.csv", zip.Deflate, []byte("Name,PID\nsvchost.exe,4\n")},
		{"Autoruns/autoruns.txt", zip.Deflate, bytes.Repeat([]byte("HKLM\\Run\r\n"), 1000)},
		{"Prefetch/random-blob.bin", zip.Store, random},
		{"CollectionSummaryReport.xls", zip.Deflate, []byte("summary")},
	} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: e.method})
		if err != nil {
			panic(err)
		}
		if _, err := w.Write(e.body); err != nil {
			panic(err)
		}
	}
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
})

func randomBytes(t testing.TB, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// Sum is the hex SHA-256 of b.
func Sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

var received = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

func sampleCustody() evidence.Custody {
	return evidence.Custody{
		ActionID: "7f2a0b6c-1d3e-4f5a-8b9c-0d1e2f3a4b5c", MachineID: strings.Repeat("ab", 20), MachineName: "ws-042.contoso.com",
		Requester: evidence.Person{SlackID: "U0ALICE", UPN: "alice@contoso.com"},
		Approvers: []evidence.Approval{{SlackID: "U0BOB", Decision: "approved", At: received.Add(-time.Minute)}},
		Comment:   "INC-1234", ActionCreated: received.Add(-10 * time.Minute), ActionUpdated: received.Add(-2 * time.Minute),
		ReceivedAt: received,
	}
}

func put(t *testing.T, f *Fixture, id string, body []byte) evidence.Custody {
	t.Helper()
	c, err := f.Store.Put(context.Background(), id, bytes.NewReader(body), sampleCustody())
	if err != nil {
		t.Fatalf("Put(%s): %v", id, err)
	}
	return c
}

func testPutOpen(t *testing.T, f *Fixture) {
	ctx := context.Background()
	body := testZip()
	c := put(t, f, "a1b2c3d4e5f60718", body)
	if c.RequestID != "a1b2c3d4e5f60718" || c.Size != int64(len(body)) || c.SHA256 != Sum(body) || c.Version != evidence.CustodyVersion {
		t.Errorf("Put returned id %q size %d sha %s version %d; want the body's %d and %s", c.RequestID, c.Size, c.SHA256, c.Version, len(body), Sum(body))
	}
	if !c.ReceivedAt.Equal(received) || c.StoredAt.IsZero() || c.MachineName != "ws-042.contoso.com" || c.Requester.UPN != "alice@contoso.com" || len(c.Approvers) != 1 {
		t.Errorf("Put lost the caller's fields or times: %+v", c)
	}
	stored, err := f.Store.Custody(ctx, c.RequestID)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(stored) != fmt.Sprint(c) {
		t.Errorf("stored custody\n%+v\nwant\n%+v", stored, c)
	}
	p, err := f.Store.Open(ctx, c.RequestID)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.Size() != int64(len(body)) {
		t.Fatalf("Size %d, want %d", p.Size(), len(body))
	}
	for _, r := range []struct{ off, n int }{{0, 4}, {1, 100}, {len(body) / 2, 700 << 10}, {len(body) - 22, 22}, {1 << 20, 4096}, {3, 4096}} {
		got := make([]byte, r.n)
		if n, err := p.ReadAt(got, int64(r.off)); err != nil || n != r.n || !bytes.Equal(got, body[r.off:r.off+r.n]) {
			t.Errorf("ReadAt(%d bytes at %d) = %d, %v; bytes equal %v", r.n, r.off, n, err, bytes.Equal(got, body[r.off:r.off+r.n]))
		}
	}
	tail := make([]byte, 10)
	if n, err := p.ReadAt(tail, int64(len(body)-4)); n != 4 || !errors.Is(err, io.EOF) {
		t.Errorf("ReadAt across the end = %d, %v; want 4, io.EOF", n, err)
	}
	r, err := p.Reader()
	if err != nil {
		t.Fatal(err)
	}
	all, err := io.ReadAll(r)
	r.Close()
	if err != nil || !bytes.Equal(all, body) {
		t.Errorf("Reader gave %d bytes (%v), want the %d stored", len(all), err, len(body))
	}
	zr, err := zip.NewReader(p, p.Size())
	if err != nil {
		t.Fatalf("zip in place: %v", err)
	}
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil || n != int64(zf.UncompressedSize64) {
			t.Errorf("zip entry %s: %d bytes, %v", zf.Name, n, err)
		}
	}
	list, err := f.Store.List(ctx)
	if err != nil || len(list) != 1 || list[0].RequestID != c.RequestID {
		t.Errorf("List = %v, %v; want the one record", list, err)
	}
}

func testPutTwice(t *testing.T, f *Fixture) {
	ctx := context.Background()
	first := put(t, f, "abc123", []byte("first package"))
	_, err := f.Store.Put(ctx, "abc123", strings.NewReader("another package"), sampleCustody())
	if !errors.Is(err, evidence.ErrExists) {
		t.Fatalf("second Put: %v, want ErrExists", err)
	}
	got := readPackage(t, f, "abc123")
	if Sum(got) != first.SHA256 {
		t.Errorf("the stored package changed: %q", got)
	}
}

func readPackage(t *testing.T, f *Fixture, id string) []byte {
	t.Helper()
	p, err := f.Store.Open(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	r, err := p.Reader()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// failingBody gives n good bytes, then fails like a dropped connection, or
// cancels the context it was given.
type failingBody struct {
	r      io.Reader
	err    error
	cancel context.CancelFunc
}

func (b *failingBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		if b.cancel != nil {
			b.cancel()
			return n, nil
		}
		return n, b.err
	}
	return n, err
}

func testInterruptedPut(t *testing.T, f *Fixture) {
	errReset := errors.New("connection reset by peer")
	tests := []struct {
		name   string
		cancel bool
		want   error
	}{
		{"body fails midway", false, errReset},
		{"context cancelled midway", true, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			body := &failingBody{r: bytes.NewReader(randomBytes(t, 3<<19)), err: errReset}
			if tt.cancel {
				body.cancel = cancel
			}
			_, err := f.Store.Put(ctx, "dead0001", body, sampleCustody())
			if !errors.Is(err, tt.want) {
				t.Fatalf("Put: %v, want %v", err, tt.want)
			}
			if v := f.Visible(t); len(v) != 0 {
				t.Errorf("left visible after the failed Put: %v", v)
			}
			if _, err := f.Store.Open(context.Background(), "dead0001"); !errors.Is(err, evidence.ErrNotFound) {
				t.Errorf("Open after a failed Put: %v, want ErrNotFound", err)
			}
			if list, err := f.Store.List(context.Background()); err != nil || len(list) != 0 {
				t.Errorf("List after a failed Put = %v, %v", list, err)
			}
		})
	}
	// The id is free for the retry.
	put(t, f, "dead0001", []byte("complete package"))
	if got := readPackage(t, f, "dead0001"); string(got) != "complete package" {
		t.Errorf("after the retry: %q", got)
	}
}

func testConcurrentPuts(t *testing.T, f *Fixture) {
	const n = 4
	bodies := make([][]byte, n)
	errs := make([]error, n)
	for i := range n {
		bodies[i] = randomBytes(t, 3<<19)
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = f.Store.Put(context.Background(), "c1c1c1c1", bytes.NewReader(bodies[i]), sampleCustody())
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		if err != nil && !errors.Is(err, evidence.ErrExists) && !errors.Is(err, evidence.ErrBusy) {
			t.Errorf("Put %d: %v, want success, ErrExists or ErrBusy", i, err)
		}
		if err == nil {
			if winner >= 0 {
				t.Fatalf("Puts %d and %d both succeeded", winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatalf("no Put succeeded: %v", errs)
	}
	c, err := f.Store.Custody(context.Background(), "c1c1c1c1")
	if err != nil {
		t.Fatal(err)
	}
	if got := readPackage(t, f, "c1c1c1c1"); c.SHA256 != Sum(bodies[winner]) || Sum(got) != c.SHA256 {
		t.Errorf("stored package sha %s, custody %s, winner's body %s: they must be one", Sum(got), c.SHA256, Sum(bodies[winner]))
	}
}

func testOrphan(t *testing.T, f *Fixture) {
	ctx := context.Background()
	f.Orphan(t, "0a0a0a0a", []byte("half a story"))
	if _, err := f.Store.Open(ctx, "0a0a0a0a"); !errors.Is(err, evidence.ErrNotFound) {
		t.Errorf("Open of a package without custody: %v, want ErrNotFound", err)
	}
	put(t, f, "0a0a0a0a", []byte("whole story"))
	if got := readPackage(t, f, "0a0a0a0a"); string(got) != "whole story" {
		t.Errorf("after replacing the orphan: %q", got)
	}
}

func fetch(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET link: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func testLink(t *testing.T, f *Fixture) {
	ctx := context.Background()
	body := testZip()
	c := put(t, f, "1ink0001", body)
	var urls []string
	for i, actor := range []string{"U0ALICE", "U0BOB"} {
		l, err := f.Store.Link(ctx, c.RequestID, 10*time.Minute, actor)
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Until(l.ExpiresAt); d < 9*time.Minute || d > 11*time.Minute {
			t.Errorf("link %d expires in %s, want about 10m", i, d)
		}
		if s := l.String(); strings.Contains(s, "token=") || strings.Contains(s, "sig=") || !strings.Contains(l.URL, "?") {
			t.Errorf("Link.String() %q shows the credential (or the URL %d has none)", s, i)
		}
		urls = append(urls, l.URL)
	}
	// A file link carries a random token; a SAS is a signature of its
	// times, the same for two links issued within a second.
	if f.Store.Kind() == evidence.KindFile && urls[0] == urls[1] {
		t.Error("two file links are the same URL")
	}
	for i, u := range urls {
		resp, got := fetch(t, u)
		if resp.StatusCode != http.StatusOK || !bytes.Equal(got, body) {
			t.Fatalf("link %d: HTTP %d, %d bytes; want 200 and the %d stored", i, resp.StatusCode, len(got), len(body))
		}
		if h := resp.Header.Get(f.SHAHeader); h != Sum(body) {
			t.Errorf("link %d: %s = %q, want %s", i, f.SHAHeader, h, Sum(body))
		}
		if cd := resp.Header.Get("Content-Disposition"); cd != `attachment; filename="investigation-package-ws-042.contoso.com-1ink0001.zip"` {
			t.Errorf("link %d: Content-Disposition %q", i, cd)
		}
	}
	got, err := f.Store.Custody(ctx, c.RequestID)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"link_issued U0ALICE", "link_issued U0BOB"}
	if f.Downloads != nil {
		want = append(want, "downloaded U0ALICE", "downloaded U0BOB")
		if d := f.Downloads(); len(d) != 2 || d[0].Actor != "U0ALICE" || d[1].Actor != "U0BOB" || d[0].Bytes != int64(len(body)) || d[0].SHA256 != c.SHA256 {
			t.Errorf("downloads reported: %+v", d)
		}
	}
	if a := Accesses(got); a != strings.Join(want, ", ") {
		t.Errorf("custody accesses: %s, want %s", a, strings.Join(want, ", "))
	}
}

// Accesses lists a record's accesses as "kind actor".
func Accesses(c evidence.Custody) string {
	var s []string
	for _, a := range c.Accesses {
		s = append(s, string(a.Kind)+" "+a.Actor)
	}
	return strings.Join(s, ", ")
}

func testExpiredLink(t *testing.T, f *Fixture) {
	ctx := context.Background()
	c := put(t, f, "e0e0e0e0", []byte("expiring"))
	// Issued an hour ago for ten minutes: long expired now, for the bot's
	// handler and for Azure's (Azurite's) SAS check alike.
	f.Clock.Set(time.Now().Add(-time.Hour))
	old, err := f.Store.Link(ctx, c.RequestID, 10*time.Minute, "U0ALICE")
	if err != nil {
		t.Fatal(err)
	}
	f.Clock.Set(time.Time{})
	resp, got := fetch(t, old.URL)
	if resp.StatusCode != http.StatusForbidden || bytes.Contains(got, []byte("expiring")) {
		t.Errorf("expired link: HTTP %d %q, want 403 without the package", resp.StatusCode, got)
	}
	fresh, err := f.Store.Link(ctx, c.RequestID, 10*time.Minute, "U0ALICE")
	if err != nil {
		t.Fatal(err)
	}
	if resp, got := fetch(t, fresh.URL); resp.StatusCode != http.StatusOK || string(got) != "expiring" {
		t.Errorf("a fresh link after the expired one: HTTP %d %q", resp.StatusCode, got)
	}
}

func testPurge(t *testing.T, f *Fixture) {
	ctx := context.Background()
	c := put(t, f, "9a9a9a9a", []byte("to be purged"))
	l, err := f.Store.Link(ctx, c.RequestID, 10*time.Minute, "U0ALICE")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 4, 1, 3, 0, 0, 0, time.UTC)
	if err := f.Store.Purge(ctx, c.RequestID, at); err != nil {
		t.Fatal(err)
	}
	if err := f.Store.Purge(ctx, c.RequestID, at.Add(time.Hour)); err != nil {
		t.Fatalf("second Purge: %v", err)
	}
	var purged *evidence.PurgedError
	if _, err := f.Store.Open(ctx, c.RequestID); !errors.As(err, &purged) || !purged.At.Equal(at) {
		t.Errorf("Open after purge: %v, want PurgedError at %s", err, at)
	}
	_, err = f.Store.Link(ctx, c.RequestID, time.Minute, "U0BOB")
	if !errors.As(err, &purged) || !purged.At.Equal(at) || !strings.Contains(err.Error(), "purged at 2025-04-01T03:00:00Z") {
		t.Errorf("Link after purge: %v, want PurgedError at %s", err, at)
	}
	got, err := f.Store.Custody(ctx, c.RequestID)
	if err != nil || !got.PurgedAt.Equal(at) || got.SHA256 != c.SHA256 || !strings.HasSuffix(Accesses(got), "purged mdebot") {
		t.Errorf("custody after purge: %+v, %v", got, err)
	}
	if resp, body := fetch(t, l.URL); resp.StatusCode < 400 || strings.Contains(string(body), "to be purged") {
		t.Errorf("a link issued before the purge: HTTP %d %q", resp.StatusCode, body)
	}
	checks, err := evidence.Verify(ctx, f.Store, "cli:test")
	if err != nil || len(checks) != 1 || checks[0].Status != evidence.StatusPurged || checks[0].Failed() {
		t.Errorf("Verify after purge: %+v, %v", checks, err)
	}
}

func testVerify(t *testing.T, f *Fixture) {
	ctx := context.Background()
	for _, id := range []string{"aaaa0001", "bbbb0002", "cccc0003"} {
		put(t, f, id, testZip())
	}
	verify := func() map[string]evidence.Check {
		checks, err := evidence.Verify(ctx, f.Store, "cli:test")
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]evidence.Check{}
		for _, c := range checks {
			m[c.RequestID] = c
		}
		return m
	}
	for id, c := range verify() {
		if c.Status != evidence.StatusOK || c.GotSHA256 != c.SHA256 {
			t.Errorf("%s before any damage: %s", id, c)
		}
	}
	f.Flip(t, "aaaa0001")
	f.Drop(t, "bbbb0002")
	got := verify()
	tests := []struct {
		id     string
		status evidence.Status
		line   string
	}{
		{"aaaa0001", evidence.StatusMismatch, "MISMATCH aaaa0001  sha256 of the stored bytes is "},
		{"bbbb0002", evidence.StatusMissing, "MISSING  bbbb0002  the package is gone"},
		{"cccc0003", evidence.StatusOK, "ok       cccc0003  "},
	}
	for _, tt := range tests {
		c := got[tt.id]
		if c.Status != tt.status || !strings.HasPrefix(c.String(), tt.line) || c.Failed() != (tt.status != evidence.StatusOK) {
			t.Errorf("%s: %q (failed %v), want %s %q…", tt.id, c.String(), c.Failed(), tt.status, tt.line)
		}
	}
	rec, err := f.Store.Custody(ctx, "aaaa0001")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(rec.Accesses); n != 2 || rec.Accesses[0].Detail != "ok" || !strings.HasPrefix(rec.Accesses[1].Detail, "mismatch: ") || rec.Accesses[1].Actor != "cli:test" {
		t.Errorf("verified accesses: %+v", rec.Accesses)
	}
}

func testConcurrentRecords(t *testing.T, f *Fixture) {
	ctx := context.Background()
	c := put(t, f, "c0c0c0c0", []byte("popular"))
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			errs <- f.Store.Record(ctx, c.RequestID, evidence.Access{Kind: evidence.AccessDownloaded, Actor: fmt.Sprintf("U%02d", i)})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	got, err := f.Store.Custody(ctx, c.RequestID)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, a := range got.Accesses {
		seen[a.Actor] = true
		if a.At.IsZero() {
			t.Errorf("access by %s has no time", a.Actor)
		}
	}
	if len(got.Accesses) != n || len(seen) != n {
		t.Errorf("%d accesses from %d actors recorded, want %d: %s", len(got.Accesses), len(seen), n, Accesses(got))
	}
	if err := f.Store.Record(ctx, c.RequestID, evidence.Access{Kind: "peeked", Actor: "U1"}); err == nil {
		t.Error("an unknown access kind was recorded")
	}
}

func testInvalidIDs(t *testing.T, f *Fixture) {
	ctx := context.Background()
	for _, id := range []string{"", "../etc", "a/b", `a\b`, "a.b", "x y", "abc%2f", strings.Repeat("a", 65), "é1", "a\x00"} {
		errs := map[string]error{}
		_, errs["Put"] = f.Store.Put(ctx, id, strings.NewReader("x"), sampleCustody())
		_, errs["Open"] = f.Store.Open(ctx, id)
		_, errs["Custody"] = f.Store.Custody(ctx, id)
		errs["Record"] = f.Store.Record(ctx, id, evidence.Access{Kind: evidence.AccessDownloaded})
		_, errs["Link"] = f.Store.Link(ctx, id, time.Minute, "U1")
		errs["Purge"] = f.Store.Purge(ctx, id, time.Now())
		for op, err := range errs {
			if !errors.Is(err, evidence.ErrInvalidID) {
				t.Errorf("%s(%q): %v, want ErrInvalidID", op, id, err)
			}
		}
	}
	if v := f.Visible(t); len(v) != 0 {
		t.Errorf("invalid ids left %v", v)
	}
}

func testUnknownID(t *testing.T, f *Fixture) {
	ctx := context.Background()
	errs := map[string]error{}
	_, errs["Open"] = f.Store.Open(ctx, "feedface")
	_, errs["Custody"] = f.Store.Custody(ctx, "feedface")
	errs["Record"] = f.Store.Record(ctx, "feedface", evidence.Access{Kind: evidence.AccessDownloaded})
	_, errs["Link"] = f.Store.Link(ctx, "feedface", time.Minute, "U1")
	errs["Purge"] = f.Store.Purge(ctx, "feedface", time.Now())
	for op, err := range errs {
		if !errors.Is(err, evidence.ErrNotFound) {
			t.Errorf("%s of an unknown id: %v, want ErrNotFound", op, err)
		}
	}
}

func testExport(t *testing.T, f *Fixture) {
	ctx := context.Background()
	body := testZip()
	c := put(t, f, "e1e2e3e4", body)
	dir := filepath.Join(t.TempDir(), "case-1234")
	out, err := evidence.Export(ctx, f.Store, c.RequestID, dir, "cli:alice")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "investigation-package-ws-042.contoso.com-e1e2e3e4.zip"); out.Package != want {
		t.Errorf("package exported to %s, want %s", out.Package, want)
	}
	got, err := os.ReadFile(out.Package)
	if err != nil || Sum(got) != c.SHA256 || out.SHA256 != c.SHA256 || out.Size != int64(len(body)) {
		t.Errorf("exported package: %d bytes, sha %s (%v); want %s", len(got), Sum(got), err, c.SHA256)
	}
	raw, err := os.ReadFile(out.Custody)
	if err != nil {
		t.Fatal(err)
	}
	var rec evidence.Custody
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(dir)
	if rec.SHA256 != c.SHA256 || len(rec.Accesses) != 1 || rec.Accesses[0].Kind != evidence.AccessExported ||
		rec.Accesses[0].Actor != "cli:alice" || rec.Accesses[0].Detail != "to "+abs {
		t.Errorf("exported custody record: %s", raw)
	}
	for _, p := range []string{out.Package, out.Custody} {
		if info, err := os.Stat(p); err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v (%v), want 0600", p, info.Mode(), err)
		}
	}
	// A second export into the same folder overwrites nothing.
	if _, err := evidence.Export(ctx, f.Store, c.RequestID, dir, "cli:alice"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second export: %v, want already exists", err)
	}
	// A damaged package is not exported.
	f.Flip(t, c.RequestID)
	dir2 := filepath.Join(t.TempDir(), "case-5678")
	if _, err := evidence.Export(ctx, f.Store, c.RequestID, dir2, "cli:alice"); err == nil || !strings.Contains(err.Error(), "does not match its custody record") {
		t.Errorf("export of a damaged package: %v", err)
	}
	if entries, _ := os.ReadDir(dir2); len(entries) != 0 {
		t.Errorf("a refused export left %v", entries)
	}
}
