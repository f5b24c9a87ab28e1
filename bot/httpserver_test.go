package bot

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// serveHTTP serves h with NewHTTPServer on a loopback port.
func serveHTTP(t *testing.T, h http.Handler, to Timeouts) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewHTTPServer(h, to, log.New(io.Discard, "", 0))
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// closedWithin reads from conn until the server closes it, and says how long that took.
func closedWithin(t *testing.T, conn net.Conn, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	_ = conn.SetReadDeadline(start.Add(limit))
	_, err := io.Copy(io.Discard, conn)
	if err != nil {
		t.Fatalf("connection still open after %s: %v", limit, err)
	}
	return time.Since(start)
}

// A client that sends headers and then trickles its body, a byte now and
// then, is cut off once the read timeout passes: the handler's read fails.
func TestHTTPServerCutsTricklingBody(t *testing.T) {
	readErr := make(chan error, 1)
	addr := serveHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		readErr <- err
	}), Timeouts{Read: time.Second, Write: time.Second, Idle: time.Second})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /slack/commands HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n")
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
				if _, err := conn.Write([]byte("a")); err != nil {
					return
				}
			}
		}
	}()
	if err := waitChan(t, readErr, "the handler's read"); err == nil {
		t.Fatal("the trickled body was read to the end")
	}
	if d := closedWithin(t, conn, 5*time.Second); d > 3*time.Second {
		t.Fatalf("closed after %s", d)
	}
}

// Headers are capped: a huge header block is refused with 431.
func TestHTTPServerCapsHeaders(t *testing.T) {
	addr := serveHTTP(t, http.NotFoundHandler(), Timeouts{Read: 5 * time.Second, Write: 5 * time.Second, Idle: 5 * time.Second})
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/healthz", nil)
	req.Header.Set("X-Padding", strings.Repeat("a", 2*maxHeaderBytes))
	status, _ := do(t, req)
	if status != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("status %d, want 431", status)
	}
}

// A streamed response through ProgressWriter runs well past the write
// timeout while the client reads (without it the same stream is cut); a
// client that stops reading is cut within the idle bound.
func TestProgressWriter(t *testing.T) {
	const chunk, chunks = 16 << 10, 30
	slowStream := func(progress bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var out io.Writer = w
			if progress {
				out = ProgressWriter(w, 500*time.Millisecond)
			}
			buf := make([]byte, chunk)
			for range chunks { // about 1.5 s in all
				if _, err := out.Write(buf); err != nil {
					return
				}
				http.NewResponseController(w).Flush()
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	stalled := make(chan error, 1)
	mux := http.NewServeMux()
	mux.Handle("/progress", slowStream(true))
	mux.Handle("/plain", slowStream(false))
	mux.HandleFunc("/stalled", func(w http.ResponseWriter, r *http.Request) {
		out := ProgressWriter(w, 500*time.Millisecond)
		buf := make([]byte, chunk)
		for end := time.Now().Add(20 * time.Second); time.Now().Before(end); {
			if _, err := out.Write(buf); err != nil {
				stalled <- err
				return
			}
		}
		stalled <- nil
	})
	addr := serveHTTP(t, mux, Timeouts{Read: time.Second, Write: 300 * time.Millisecond, Idle: time.Second})

	for _, tt := range []struct {
		path  string
		whole bool
	}{{"/progress", true}, {"/plain", false}} {
		resp, err := http.Get("http://" + addr + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if (n == chunk*chunks) != tt.whole {
			t.Errorf("%s: read %d of %d bytes; want the whole stream %v", tt.path, n, chunk*chunks, tt.whole)
		}
	}

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /stalled HTTP/1.1\r\nHost: x\r\n\r\n") // and never read
	start := time.Now()
	if err := waitChan(t, stalled, "the stalled stream to end"); err == nil {
		t.Fatal("a client that never reads got 20 s of writes")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("the stalled stream was cut after %s", d)
	}
}
