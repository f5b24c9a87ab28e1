package evidence

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// DownloadPath is the route prefix of file store links: GET DownloadPath+id?token=….
const DownloadPath = "/evidence/"

// Download is one download served through a file store link.
type Download struct {
	RequestID string
	// Actor is the Slack user the link was issued to.
	Actor  string
	At     time.Time
	Status int   // 200, or 206 for a range
	Bytes  int64 // body bytes sent
	SHA256 string
}

// HandlerOptions configure the download handler.
type HandlerOptions struct {
	// OnDownload is told of every download served (the caller audits it as
	// evidence.downloaded); it runs after the body is sent.
	OnDownload func(ctx context.Context, d Download)
	// Logger gets one line per download served, never the URL or token.
	Logger *slog.Logger
	// WriteWindow is how long each write may take: the handler keeps
	// moving the write deadline on while the body streams, so a large
	// package outlives the server's write timeout (default 30s).
	WriteWindow time.Duration
}

// Handler serves file store links: the package streamed as an attachment
// named by DownloadName, with X-Content-SHA256 and range support. A missing,
// unknown or expired token is 403, an unknown package 404, a purged one 410,
// each in plain text. Every download served is appended to the custody
// record and reported to OnDownload. Nothing it logs holds the query string.
func (s *File) Handler(o HandlerOptions) http.Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.WriteWindow <= 0 {
		o.WriteWindow = 30 * time.Second
	}
	return &downloadHandler{s: s, o: o}
}

type downloadHandler struct {
	s *File
	o HandlerOptions
}

// The texts people read in their browser.
const (
	textInvalidLink = "This download link is not valid. Click Download in Slack for a new one.\n"
	textNoPackage   = "No package is stored for this request.\n"
	textMissing     = "The package is missing from the evidence store; tell the bot's operators.\n"
	textUnreadable  = "The package could not be read; try again later.\n"
)

func (h *downloadHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The URL is a credential: keep it out of caches and Referer headers.
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "Only GET is served here.", http.StatusMethodNotAllowed)
		return
	}
	id, ok := strings.CutPrefix(r.URL.Path, DownloadPath)
	if !ok || ValidID(id) != nil {
		http.Error(w, textNoPackage, http.StatusNotFound)
		return
	}
	ctx := r.Context()
	lt, status, text := h.checkToken(ctx, id, r.URL.Query().Get("token"))
	if status != 0 {
		http.Error(w, text, status)
		return
	}
	p, err := h.s.Open(ctx, id)
	if err != nil {
		status, text := openFailure(err)
		if status == http.StatusInternalServerError {
			h.o.Logger.ErrorContext(ctx, "evidence download failed", "request_id", id, "err", err)
		}
		http.Error(w, text, status)
		return
	}
	defer p.Close()
	c := p.Custody()
	w.Header().Set("Content-Type", ContentType(DownloadName(c)))
	w.Header().Set("Content-Disposition", `attachment; filename="`+DownloadName(c)+`"`)
	w.Header().Set("X-Content-SHA256", c.SHA256)
	w.Header().Set("ETag", `"`+c.SHA256+`"`)
	dw := &deadlineWriter{ResponseWriter: w, rc: http.NewResponseController(w), window: h.o.WriteWindow}
	http.ServeContent(dw, r, "", c.StoredAt, io.NewSectionReader(p, 0, p.Size()))
	if r.Method != http.MethodGet || (dw.status != http.StatusOK && dw.status != http.StatusPartialContent) {
		return
	}
	h.served(context.WithoutCancel(ctx), r, Download{RequestID: id, Actor: lt.Actor, At: now(h.s.clock),
		Status: dw.status, Bytes: dw.n, SHA256: c.SHA256})
}

// checkToken returns the link's token, or the status and text to refuse with.
func (h *downloadHandler) checkToken(ctx context.Context, id, token string) (LinkToken, int, string) {
	if token == "" || len(token) > 128 || h.s.tokens == nil {
		return LinkToken{}, http.StatusForbidden, textInvalidLink
	}
	lt, err := h.s.tokens.LinkToken(ctx, tokenHash(token))
	switch {
	case errors.Is(err, ErrUnknownToken):
		return LinkToken{}, http.StatusForbidden, textInvalidLink
	case err != nil:
		h.o.Logger.ErrorContext(ctx, "evidence link lookup failed", "request_id", id, "err", err)
		return LinkToken{}, http.StatusInternalServerError, textUnreadable
	case lt.RequestID != id:
		return LinkToken{}, http.StatusForbidden, textInvalidLink
	case !now(h.s.clock).Before(lt.ExpiresAt):
		return LinkToken{}, http.StatusForbidden, fmt.Sprintf("This download link expired at %s. Click Download in Slack for a new one.\n",
			lt.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return lt, 0, ""
}

// openFailure maps Open's error to a status and a plain text.
func openFailure(err error) (int, string) {
	var purged *PurgedError
	switch {
	case errors.As(err, &purged):
		return http.StatusGone, fmt.Sprintf("This package was purged at %s (evidence retention); only its custody record is kept.\n",
			purged.At.UTC().Format(time.RFC3339))
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound, textNoPackage
	case errors.Is(err, ErrMissing):
		return http.StatusNotFound, textMissing
	}
	return http.StatusInternalServerError, textUnreadable
}

// served records the download in the custody record and tells the caller.
func (h *downloadHandler) served(ctx context.Context, r *http.Request, d Download) {
	detail := fmt.Sprintf("%d bytes sent, HTTP %d", d.Bytes, d.Status)
	if rg := r.Header.Get("Range"); rg != "" && len(rg) <= 100 {
		detail += ", " + rg
	}
	if err := h.s.Record(ctx, d.RequestID, Access{Kind: AccessDownloaded, Actor: d.Actor, At: d.At, Detail: detail}); err != nil {
		h.o.Logger.ErrorContext(ctx, "evidence download not recorded in custody", "request_id", d.RequestID, "err", err)
	}
	h.o.Logger.InfoContext(ctx, "evidence download served", "request_id", d.RequestID, "actor", d.Actor,
		"status", d.Status, "bytes", d.Bytes)
	if h.o.OnDownload != nil {
		h.o.OnDownload(ctx, d)
	}
}

// ContentType is the media type a download of name is served with.
func ContentType(name string) string {
	switch {
	case strings.HasSuffix(name, ".zip"):
		return "application/zip"
	case strings.HasSuffix(name, ".gz"):
		return "application/gzip"
	}
	return "application/octet-stream"
}

// deadlineWriter moves the write deadline on as the body streams, and
// notes the status and the body bytes written.
type deadlineWriter struct {
	http.ResponseWriter
	rc     *http.ResponseController
	window time.Duration
	next   time.Time
	status int
	n      int64
}

func (d *deadlineWriter) WriteHeader(code int) {
	if d.status == 0 {
		d.status = code
	}
	d.ResponseWriter.WriteHeader(code)
}

func (d *deadlineWriter) Write(b []byte) (int, error) {
	if d.status == 0 {
		d.status = http.StatusOK
	}
	if t := time.Now(); t.After(d.next) {
		_ = d.rc.SetWriteDeadline(t.Add(d.window)) // unsupported by test recorders: fine
		d.next = t.Add(d.window / 4)
	}
	n, err := d.ResponseWriter.Write(b)
	d.n += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the real writer.
func (d *deadlineWriter) Unwrap() http.ResponseWriter { return d.ResponseWriter }
