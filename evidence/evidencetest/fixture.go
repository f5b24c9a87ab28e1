// Package evidencetest is the behaviour every evidence store that keeps
// packages must show (Run), the fixture each store's tests build for it, and
// the Put memory benchmark (BenchPutMemory). It lives apart from the stores
// so that evidence's tests run it on the file store and azureblob's on
// Azurite, neither importing the other.
package evidencetest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mdebot/mdebot/evidence"
)

// Clock is a settable test clock; unset, it is the real time.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now is the set time, or time.Now when none is set.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.t.IsZero() {
		return time.Now()
	}
	return c.t
}

// Set fixes the time; the zero time goes back to the real one.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// Fixture is one fresh store and the means to damage it behind its back.
type Fixture struct {
	Store evidence.Store
	// Clock is the store's clock.
	Clock *Clock
	// SHAHeader is the response header a link's download carries the SHA-256 in.
	SHAHeader string
	// Flip changes one byte of the stored package; Drop deletes it, keeping
	// the custody record; Visible lists what anyone could see in the store.
	Flip    func(t *testing.T, id string)
	Drop    func(t *testing.T, id string)
	Visible func(t *testing.T) []string
	// Orphan writes a package with no custody record, as a crash between
	// the two writes of a Put would leave it.
	Orphan func(t *testing.T, id string, body []byte)
	// Downloads are the file handler's reports (nil for azure_blob).
	Downloads func() []evidence.Download
}

// NewFileFixture is a file store in a temp folder, its links served by a
// loopback HTTP server and its tokens kept in tokens.
func NewFileFixture(t *testing.T, tokens evidence.LinkTokens) *Fixture {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "evidence")
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	f := &Fixture{Clock: &Clock{}, SHAHeader: "X-Content-SHA256"}
	s, err := evidence.NewFile(evidence.FileOptions{Dir: dir, PublicURL: srv.URL, Tokens: tokens, Now: f.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []evidence.Download
	mux.Handle(evidence.DownloadPath, s.Handler(evidence.HandlerOptions{OnDownload: func(_ context.Context, d evidence.Download) {
		mu.Lock()
		got = append(got, d)
		mu.Unlock()
	}}))
	f.Store = s
	f.Downloads = func() []evidence.Download {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
	pkg := func(id string) string { return filepath.Join(dir, id+".package") }
	f.Flip = func(t *testing.T, id string) {
		b, err := os.ReadFile(pkg(id))
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/2] ^= 0x01
		if err := os.WriteFile(pkg(id), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	f.Drop = func(t *testing.T, id string) {
		if err := os.Remove(pkg(id)); err != nil {
			t.Fatal(err)
		}
	}
	f.Orphan = func(t *testing.T, id string, body []byte) {
		if err := os.WriteFile(pkg(id), body, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	f.Visible = func(t *testing.T) []string {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			if e.Name() != ".lock" {
				names = append(names, e.Name())
			}
		}
		return names
	}
	return f
}
