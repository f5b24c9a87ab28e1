package mdetest

import (
	"archive/zip"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"time"
)

const packagePath = "/safedownload/WDATP_Investigation_Package.zip"

// packageFile is the zip every link serves, built once into a temp file so
// large sizes never sit in memory.
type packageFile struct {
	path   string
	size   int64
	sha256 string
}

func (p packageFile) remove() { _ = os.Remove(p.path) }

// packageEntries are the folders of a real Windows package, one small file each.
var packageEntries = []struct{ dir, file string }{
	{"Autoruns", "Run.txt"},
	{"Installed programs", "InstalledPrograms.csv"},
	{"Network connections", "ActiveNetConnections.txt"},
	{"Prefetch files", "PrefetchFilesList.txt"},
	{"Processes", "Processes.csv"},
	{"Scheduled tasks", "ScheduledTasks.csv"},
	{"Security event log", "Security.evtx"}, // carries the filler: the big one in real packages
	{"Services", "Services.txt"},
	{"SMB sessions", "SMBInboundSessions.txt"},
	{"System Information", "SystemInformation.txt"},
	{"Temp Directories", "TempDirectoryList.txt"},
	{"Users and Groups", "UsersAndGroups.txt"},
	{"WdSupportLogs", "MPLog.txt"},
}

const fillerEntry = "Security event log/Security.evtx"

// packageTime keeps the zip byte-for-byte deterministic.
var packageTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// buildPackage writes a zip of exactly size bytes (or its minimum, if size is
// smaller). The filler is stored uncompressed, so each filler byte adds one
// byte: measure the zip with no filler, then write it again with the rest.
func buildPackage(size int64) (packageFile, error) {
	var probe countWriter
	if err := writeZip(&probe, 0); err != nil {
		return packageFile{}, err
	}
	f, err := os.CreateTemp("", "mdetest-package-*.zip")
	if err != nil {
		return packageFile{}, err
	}
	h := sha256.New()
	cw := &countWriter{}
	err = writeZip(io.MultiWriter(f, h, cw), max(size-probe.n, 0))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return packageFile{}, err
	}
	return packageFile{path: f.Name(), size: cw.n, sha256: hex.EncodeToString(h.Sum(nil))}, nil
}

func writeZip(w io.Writer, filler int64) error {
	zw := zip.NewWriter(w)
	for _, e := range packageEntries {
		if _, err := zw.CreateHeader(&zip.FileHeader{Name: e.dir + "/", Modified: packageTime}); err != nil {
			return err
		}
		name := e.dir + "/" + e.file
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store, Modified: packageTime})
		if err != nil {
			return err
		}
		if name == fillerEntry {
			// Deterministic pseudo-random bytes: incompressible, same hash every build.
			_, err = io.CopyN(fw, mrand.NewChaCha8([32]byte{'m', 'd', 'e', 'b', 'o', 't'}), filler)
		} else {
			_, err = fmt.Fprintf(fw, "mdetest fake investigation package: %s\r\n", e.dir)
		}
		if err != nil {
			return err
		}
	}
	fw, err := zw.CreateHeader(&zip.FileHeader{Name: "CollectionSummaryReport.xls", Method: zip.Store, Modified: packageTime})
	if err != nil {
		return err
	}
	if _, err := io.WriteString(fw, "Collection summary\tmdetest\r\n"); err != nil {
		return err
	}
	return zw.Close()
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(b []byte) (int, error) { c.n += int64(len(b)); return len(b), nil }

func newLinkToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// download serves the package to a valid, unexpired link token.
func (s *Server) download(w http.ResponseWriter, r *http.Request, _ string) {
	token := r.URL.Query().Get("token")
	now := s.opts.Now()
	s.mu.Lock()
	expiry, ok := s.links[token]
	s.mu.Unlock()
	if token == "" || !ok || !now.Before(expiry) {
		http.Error(w, "The link is invalid or has expired.", http.StatusForbidden)
		return
	}
	f, err := os.Open(s.pkg.path)
	if err != nil {
		http.Error(w, "package unavailable", http.StatusInternalServerError)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="WDATP_Investigation_Package.zip"`)
	if !s.opts.NoContentLength {
		w.Header().Set("Content-Length", strconv.FormatInt(s.pkg.size, 10))
	}
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	if s.opts.NoContentLength && flusher != nil {
		flusher.Flush() // headers out before any body: chunked encoding
	}
	if cut := s.takeCut(); cut >= 0 {
		_, _ = io.CopyN(w, f, cut)
		if flusher != nil {
			flusher.Flush()
		}
		panic(http.ErrAbortHandler) // drop the connection mid-body
	}
	_, _ = io.Copy(w, f)
}
