package bot

import (
	"io"
	"log"
	"net/http"
	"time"
)

// Timeouts are the HTTP server's limits (http.read_timeout, .write_timeout,
// .idle_timeout).
type Timeouts struct {
	// Read bounds reading a whole request, headers and body: a body that
	// trickles in is cut off when it passes.
	Read time.Duration
	// Write bounds writing a response, from the end of the request headers.
	// A longer response extends its own deadline (ProgressWriter).
	Write time.Duration
	// Idle closes a keep-alive connection that carries no request.
	Idle time.Duration
}

// maxHeaderBytes is the largest header block read (Slack's are ~1 KiB;
// net/http's default is 1 MiB).
const maxHeaderBytes = 32 << 10

// maxHeaderWait bounds reading the headers alone, so that a client that
// trickles headers is cut off early even with a long read timeout.
const maxHeaderWait = 10 * time.Second

// NewHTTPServer is the http.Server of every listener of the bot: h with t's
// limits, a header size cap, and errorLog (net/http's own messages, which
// should go through the redacting logger: telemetry.HTTPErrorLog).
func NewHTTPServer(h http.Handler, t Timeouts, errorLog *log.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: min(t.Read, maxHeaderWait),
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          errorLog,
	}
}

// ProgressWriter is how a route that streams a large response (such as an
// evidence download) outlives http.write_timeout: before each Write it moves
// the connection's write deadline to idle from now. A download that keeps
// moving runs as long as it needs; a client that stops reading is cut off
// within idle. Call it once, before the first write (the headers are
// written under the first deadline it sets):
//
//	out := bot.ProgressWriter(w, time.Minute)
//	w.Header().Set("Content-Disposition", "attachment; filename=...")
//	_, err := io.Copy(out, file)
func ProgressWriter(w http.ResponseWriter, idle time.Duration) io.Writer {
	pw := &progressWriter{w: w, rc: http.NewResponseController(w), idle: idle}
	_ = pw.rc.SetWriteDeadline(time.Now().Add(idle))
	return pw
}

type progressWriter struct {
	w    http.ResponseWriter
	rc   *http.ResponseController
	idle time.Duration
}

func (p *progressWriter) Write(b []byte) (int, error) {
	if err := p.rc.SetWriteDeadline(time.Now().Add(p.idle)); err != nil {
		return 0, err
	}
	return p.w.Write(b)
}
