package slackfake

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
)

// serveUpload is the upload_url of files.getUploadURLExternal. It takes the
// bytes raw or as multipart/form-data (slack-go sends a "file" part), hashes
// them while they stream in, and keeps only the first KeepUploadBytes.
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("file")
	s.mu.Lock()
	_, known := s.uploads[id]
	failing := s.upFails > 0
	if failing {
		s.upFails--
	}
	s.mu.Unlock()
	if failing {
		_, _ = io.Copy(io.Discard, r.Body)
		http.Error(w, "upload failed (injected fault)", http.StatusInternalServerError)
		return
	}
	if !known {
		http.Error(w, "unknown upload URL", http.StatusNotFound)
		return
	}

	body, err := fileBody(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h := sha256.New()
	kept := &capped{max: s.o.KeepUploadBytes}
	n, err := io.Copy(io.MultiWriter(h, kept), body)
	if err != nil {
		http.Error(w, "reading upload: "+err.Error(), http.StatusBadRequest)
		return
	}
	_, _ = io.Copy(io.Discard, r.Body) // the rest of a multipart body

	s.mu.Lock()
	u := s.uploads[id]
	u.Received, u.SHA256, u.Bytes = n, hex.EncodeToString(h.Sum(nil)), kept.buf.Bytes()
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	u.Multipart, u.ContentLength = ct == "multipart/form-data", r.ContentLength
	snap := *u
	snap.Bytes = slices.Clone(u.Bytes)
	s.mu.Unlock()
	s.record(Event{Kind: EventUpload, Upload: &snap})
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "OK - %d", n)
}

// fileBody returns the file bytes of an upload request.
func fileBody(r *http.Request) (io.Reader, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "multipart/form-data" {
		return r.Body, nil
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, fmt.Errorf("bad multipart body: %w", err)
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, errors.New("multipart body has no file part")
		}
		if err != nil {
			return nil, fmt.Errorf("bad multipart body: %w", err)
		}
		if part.FormName() == "file" || part.FileName() != "" {
			return part, nil
		}
	}
}

// capped keeps the first max bytes written and discards the rest.
type capped struct {
	buf bytes.Buffer
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.buf.Len(); room > 0 {
		c.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}
