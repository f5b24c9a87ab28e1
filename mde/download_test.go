package mde_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mdebot/mdebot/mde"
	"github.com/mdebot/mdebot/mde/mdetest"
)

// link asks the fake for a package link of a succeeded action.
func link(t *testing.T, f *fixture) mde.PackageURL {
	t.Helper()
	id := f.fake.AddAction(mde.MachineAction{Status: mde.StatusSucceeded})
	u, err := f.c.GetPackageURI(t.Context(), alice, id)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// countingServer counts the requests that reached it.
func countingServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		_, _ = w.Write([]byte("foreign"))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func mustURL(t *testing.T, raw string) mde.PackageURL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return mde.NewPackageURL(u)
}

func TestOpenPackage(t *testing.T) {
	for _, chunked := range []bool{false, true} {
		f := newFixture(t, mdetest.Options{PackageSize: 10 << 20, NoContentLength: chunked}, mde.Options{})
		pkg, err := f.c.OpenPackage(t.Context(), link(t, f))
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, pkg)
		if err != nil {
			t.Fatal(err)
		}
		pkg.Close()
		wantSize := f.fake.PackageBytes()
		if chunked {
			wantSize = -1
		}
		if n != 10<<20 || pkg.N() != n || pkg.Size() != wantSize || pkg.Sum() != f.fake.PackageSHA256() {
			t.Fatalf("chunked=%v: copied %d, N %d, Size %d, Sum %s; want %d bytes, sha %s",
				chunked, n, pkg.N(), pkg.Size(), pkg.Sum(), f.fake.PackageBytes(), f.fake.PackageSHA256())
		}
		reqs := f.fake.Requests()
		if d := reqs[len(reqs)-1]; !strings.HasPrefix(d.Path, "/safedownload/") || d.Token != "" {
			t.Fatalf("download request %+v: must carry no bearer token", d)
		}
	}
}

// SkipHash before reading: the bytes still come through, counted and
// checked against the Content-Length, with no hash.
func TestOpenPackageSkipHash(t *testing.T) {
	f := newFixture(t, mdetest.Options{PackageSize: 1 << 20}, mde.Options{})
	pkg, err := f.c.OpenPackage(t.Context(), link(t, f))
	if err != nil {
		t.Fatal(err)
	}
	defer pkg.Close()
	pkg.SkipHash()
	n, err := io.Copy(io.Discard, pkg)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1<<20 || pkg.N() != n || pkg.Sum() != "" {
		t.Fatalf("copied %d, N %d, Sum %q; want %d bytes and no hash", n, pkg.N(), pkg.Sum(), 1<<20)
	}
}

func TestOpenPackageRefusesForeignHost(t *testing.T) {
	foreign, hits := countingServer(t)
	f := newFixture(t, mdetest.Options{}, mde.Options{})
	// Only the fake's exact host:port is allowed; the foreign server is on 127.0.0.1 too.
	c, err := mde.New(mde.Options{BaseURL: f.fake.URL, DownloadHosts: []string{strings.TrimPrefix(f.fake.URL, "http://")}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []string{
		foreign.URL + "/safedownload/WDATP_Investigation_Package.zip?token=SECRET",
		strings.Replace(foreign.URL, "http://", "ftp://", 1) + "/x?token=SECRET",
		"http://userrequests-us.securitycenter.windows.com/x?token=SECRET",
	}
	for _, raw := range tests {
		_, err := c.OpenPackage(t.Context(), mustURL(t, raw))
		var me *mde.Error
		if !errors.As(err, &me) || me.Kind != mde.KindRefusedURL || strings.Contains(err.Error(), "SECRET") {
			t.Fatalf("%s: err = %v, want KindRefusedURL without the credential", raw, err)
		}
	}
	if hits.Load() != 0 {
		t.Fatalf("foreign host saw %d requests", hits.Load())
	}
	// The allowed host still works with the same client.
	id := f.fake.AddAction(mde.MachineAction{Status: mde.StatusSucceeded})
	u, err := c.GetPackageURI(t.Context(), alice, id)
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := c.OpenPackage(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, pkg); err != nil || pkg.Sum() != f.fake.PackageSHA256() {
		t.Fatalf("allowed download: %v", err)
	}
	pkg.Close()
}

func TestOpenPackageRedirects(t *testing.T) {
	foreign, hits := countingServer(t)
	f := newFixture(t, mdetest.Options{}, mde.Options{})
	good := link(t, f)
	var target atomic.Value
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.Load().(string), http.StatusFound)
	}))
	defer redirector.Close()
	allowed := []string{hostOf(redirector.URL), hostOf(f.fake.URL)} // not the foreign one
	c, err := mde.New(mde.Options{BaseURL: f.fake.URL, DownloadHosts: allowed})
	if err != nil {
		t.Fatal(err)
	}
	start := mustURL(t, redirector.URL+"/safedownload/WDATP_Investigation_Package.zip?token=SECRET")

	target.Store(foreign.URL + "/stolen?token=SECRET")
	_, err = c.OpenPackage(t.Context(), start)
	var me *mde.Error
	if !errors.As(err, &me) || me.Kind != mde.KindRefusedURL || strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("redirect to a foreign host: err = %v, want KindRefusedURL without the credential", err)
	}
	if hits.Load() != 0 {
		t.Fatalf("foreign host saw %d requests", hits.Load())
	}

	target.Store(good.Reveal()) // a redirect to an allowed host is followed
	pkg, err := c.OpenPackage(t.Context(), start)
	if err != nil {
		t.Fatal(err)
	}
	defer pkg.Close()
	if _, err := io.Copy(io.Discard, pkg); err != nil || pkg.Sum() != f.fake.PackageSHA256() {
		t.Fatalf("followed redirect: sum %s, err %v", pkg.Sum(), err)
	}
}

func hostOf(raw string) string { return strings.TrimPrefix(raw, "http://") }

func TestOpenPackageTooLarge(t *testing.T) {
	const max = 100 << 10
	// Announced: refused before reading.
	f := newFixture(t, mdetest.Options{PackageSize: max + 1}, mde.Options{MaxPackageSize: max})
	_, err := f.c.OpenPackage(t.Context(), link(t, f))
	var me *mde.Error
	if !errors.As(err, &me) || me.Kind != mde.KindTooLarge {
		t.Fatalf("Content-Length over the maximum: err = %v, want KindTooLarge", err)
	}
	// Not announced: Read fails once past the maximum.
	f = newFixture(t, mdetest.Options{PackageSize: 300 << 10, NoContentLength: true}, mde.Options{MaxPackageSize: max})
	pkg, err := f.c.OpenPackage(t.Context(), link(t, f))
	if err != nil {
		t.Fatal(err)
	}
	defer pkg.Close()
	n, err := io.Copy(io.Discard, pkg)
	if !errors.As(err, &me) || me.Kind != mde.KindTooLarge || n > max {
		t.Fatalf("chunked over the maximum: read %d, err = %v, want KindTooLarge within %d bytes", n, err, max)
	}
	// Exactly the maximum is fine.
	f = newFixture(t, mdetest.Options{PackageSize: max}, mde.Options{MaxPackageSize: max})
	pkg, err = f.c.OpenPackage(t.Context(), link(t, f))
	if err != nil {
		t.Fatal(err)
	}
	defer pkg.Close()
	if n, err := io.Copy(io.Discard, pkg); err != nil || n != max {
		t.Fatalf("package of exactly the maximum: %d, %v", n, err)
	}
}

func TestOpenPackageCut(t *testing.T) {
	for _, chunked := range []bool{false, true} {
		f := newFixture(t, mdetest.Options{PackageSize: 1 << 20, NoContentLength: chunked}, mde.Options{})
		u := link(t, f)
		f.fake.CutDownloadAfter(300 << 10)
		pkg, err := f.c.OpenPackage(t.Context(), u)
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, pkg)
		pkg.Close()
		var me *mde.Error
		if !errors.As(err, &me) || me.Kind != mde.KindServer || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("chunked=%v: copied %d, err = %v; want KindServer wrapping unexpected EOF", chunked, n, err)
		}
		if n != 300<<10 || pkg.N() != n {
			t.Fatalf("chunked=%v: copied %d, N %d, want %d", chunked, n, pkg.N(), 300<<10)
		}
		if _, err2 := pkg.Read(make([]byte, 10)); err2 == nil || errors.Is(err2, io.EOF) {
			t.Fatalf("Read after the failure = %v, want the same error again", err2)
		}
	}
}

func TestOpenPackageRefusedLink(t *testing.T) {
	clk := newClock()
	f := newFixture(t, mdetest.Options{Now: clk.Now, PackageTTL: time.Minute}, mde.Options{})
	u := link(t, f)
	clk.Add(time.Minute)
	_, err := f.c.OpenPackage(t.Context(), u)
	var me *mde.Error
	if !errors.As(err, &me) || me.Kind != mde.KindForbidden || !strings.Contains(me.Message, "link") {
		t.Fatalf("expired link: err = %v, want KindForbidden about the link", err)
	}
	if tok := f.fake.IssuedPackageTokens()[0]; strings.Contains(err.Error(), tok) {
		t.Fatalf("error reveals the credential: %v", err)
	}
	// 5xx before the body is retried like any GET.
	f.fake.FailNext("download", 1, 503)
	pkg, err := f.c.OpenPackage(t.Context(), link(t, f))
	if err != nil {
		t.Fatal(err)
	}
	pkg.Close()
}
