package mdetest

import (
	"archive/zip"
	"bufio"
	"compress/flate"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
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

// packageFolders are the documented folders of a Windows package; each
// has a folder entry, as .NET's ZipFile writes them.
var packageFolders = []string{
	"Autoruns", "Installed programs", "Network connections", "Prefetch files", "Processes",
	"Scheduled tasks", "Security event log", "Services", "System Information", "Temp Directories",
	"Users and Groups", "WdSupportLogs", "Windows Server Message Block (SMB) sessions",
}

// fillerEntry carries the filler: the big file of real packages.
const fillerEntry = "Security event log/Security.evtx"

// evtxMagic starts an event log file.
const evtxMagic = "ElfFile\x00"

// packageTime keeps the zip byte-for-byte deterministic.
var packageTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// buildPackage writes the realistic package, of exactly size bytes (or its
// minimum, if size is smaller), to a temp file. The filler is stored
// uncompressed, so each filler byte adds one byte: WritePackage measures
// the zip with no filler, then writes it again with the rest.
func buildPackage(size int64) (packageFile, error) {
	return writeTemp(func(w io.Writer) error { return WritePackage(w, PackageRealistic, size) })
}

// writeTemp writes a package to a temp file through write, hashing it.
func writeTemp(write func(io.Writer) error) (packageFile, error) {
	f, err := os.CreateTemp("", "mdetest-package-*.zip")
	if err != nil {
		return packageFile{}, err
	}
	h := sha256.New()
	cw := &countWriter{}
	bw := bufio.NewWriterSize(io.MultiWriter(f, h, cw), 256<<10)
	err = write(bw)
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return packageFile{}, err
	}
	return packageFile{path: f.Name(), size: cw.n, sha256: hex.EncodeToString(h.Sum(nil))}, nil
}

// writeZip writes the realistic package with filler bytes in Security.evtx.
func writeZip(w io.Writer, filler int64) error {
	return writeRealistic(w, func(fw io.Writer) error {
		// Deterministic pseudo-random bytes: incompressible, same hash every build.
		_, err := io.CopyN(fw, mrand.NewChaCha8([32]byte{'m', 'd', 'e', 'b', 'o', 't'}), filler)
		return err
	}, nil)
}

// writeRealistic writes each folder entry and its files (deflated), the
// evtx stored with what filler writes after its magic, and last the
// files that more adds, if any (before the report, at the top level),
// deflated at the fastest level then: they are many.
func writeRealistic(w io.Writer, filler func(io.Writer) error, more func(*zip.Writer) error) error {
	zw := zip.NewWriter(w)
	if more != nil {
		zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
			return flate.NewWriter(w, flate.BestSpeed)
		})
	}
	files := realisticFiles()
	for _, dir := range packageFolders {
		if _, err := zw.CreateHeader(&zip.FileHeader{Name: dir + "/", Modified: packageTime}); err != nil {
			return err
		}
		if strings.HasPrefix(fillerEntry, dir+"/") {
			fw, err := zw.CreateHeader(&zip.FileHeader{Name: fillerEntry, Method: zip.Store, Modified: packageTime})
			if err != nil {
				return err
			}
			if _, err := io.WriteString(fw, evtxMagic); err != nil {
				return err
			}
			if err := filler(fw); err != nil {
				return err
			}
		}
		for _, f := range files {
			if strings.HasPrefix(f.name, dir+"/") {
				if err := writeDeflated(zw, f.name, f.bytes()); err != nil {
					return err
				}
			}
		}
	}
	if more != nil {
		if err := more(zw); err != nil {
			return err
		}
	}
	for _, f := range files {
		if !strings.Contains(f.name, "/") {
			if err := writeDeflated(zw, f.name, f.bytes()); err != nil {
				return err
			}
		}
	}
	return zw.Close()
}

func writeDeflated(zw *zip.Writer, name string, data []byte) error {
	fw, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: packageTime})
	if err != nil {
		return err
	}
	_, err = fw.Write(data)
	return err
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
	pkg := s.packageFor(token)
	f, err := os.Open(pkg.path)
	if err != nil {
		http.Error(w, "package unavailable", http.StatusInternalServerError)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="WDATP_Investigation_Package.zip"`)
	if !s.opts.NoContentLength {
		w.Header().Set("Content-Length", strconv.FormatInt(pkg.size, 10))
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
	if n, d := s.takeStall(); n >= 0 {
		_, _ = io.CopyN(w, f, n)
		if flusher != nil {
			flusher.Flush()
		}
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
	}
	_, _ = io.Copy(w, f)
}
