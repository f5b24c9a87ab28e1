package e2e

import (
	"context"
	"database/sql"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/mdebot/mdebot/bot/slackfake"
	"github.com/mdebot/mdebot/demo"
	"github.com/mdebot/mdebot/mde"
	"github.com/mdebot/mdebot/mde/mdetest"
)

// noLeaks fails the test when goroutines started during it outlive it (the
// environment is closed first: registered after start, this runs before).
func noLeaks(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		http.DefaultClient.CloseIdleConnections()
		var now int
		for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
			if now = runtime.NumGoroutine(); now <= before {
				return
			}
		}
		buf := make([]byte, 1<<20)
		t.Errorf("goroutines: %d before, %d after the test\n%s", before, now, buf[:runtime.Stack(buf, true)])
	})
}

// faultEnv starts a bot with alice linked, checking for leaked goroutines.
func faultEnv(t *testing.T, o demo.Options) *demo.Env {
	t.Helper()
	noLeaks(t)
	e, _ := start(t, o)
	t.Cleanup(e.HTTP.CloseIdleConnections)
	login(t, e, demo.Alice)
	return e
}

// deliveredOnce waits for exactly one completed upload of the package and
// checks nothing more arrives.
func deliveredOnce(t *testing.T, e *demo.Env, mark int, d time.Duration) {
	t.Helper()
	waitEventFor(t, e, mark, d, "the upload", func(ev slackfake.Event) bool { return ev.Kind == slackfake.EventFileShared })
	time.Sleep(time.Second)
	var done []slackfake.Upload
	for _, u := range e.Slack.Uploads() {
		if u.Completed {
			done = append(done, u)
		}
	}
	if len(done) != 1 || done[0].SHA256 != e.MDE.PackageSHA256() {
		t.Errorf("completed uploads %+v, want exactly one with sha %s", done, e.MDE.PackageSHA256())
	}
}

func TestDefenderFaults(t *testing.T) {
	tests := []struct {
		name   string
		inject func(*mdetest.Server)
		within time.Duration
	}{
		{"5xx burst on polls", func(m *mdetest.Server) {
			m.FailNext(mdetest.EndpointListActions, 3, 503)
			m.FailNext(mdetest.EndpointListActions, 2, 500)
		}, 60 * time.Second},
		{"5xx on getPackageUri", func(m *mdetest.Server) { m.FailNext(mdetest.EndpointPackageURI, 1, 500) }, 60 * time.Second},
		{"malformed JSON", func(m *mdetest.Server) {
			m.MalformedNext(mdetest.EndpointListActions, 2)
			m.MalformedNext(mdetest.EndpointPackageURI, 1)
		}, 60 * time.Second},
		{"429 storm", func(m *mdetest.Server) { m.FailNext(mdetest.EndpointListActions, 8, 429) }, 60 * time.Second},
		{"timeout", func(m *mdetest.Server) { m.DelayNext(mdetest.EndpointListActions, 1, 25*time.Second) }, 90 * time.Second},
		{"download cut mid-stream", func(m *mdetest.Server) { m.CutDownloadAfter(100 << 10) }, 60 * time.Second},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := faultEnv(t, demo.Options{})
			id := addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f8a0"+string(rune('0'+i)),
				mdetest.Step{Status: mde.StatusInProgress, Polls: 1}, mdetest.Step{Status: mde.StatusSucceeded})
			tt.inject(e.MDE)
			mark := e.Mark()
			command(t, e, demo.Alice, demo.ChanUpload, id)
			deliveredOnce(t, e, mark, tt.within)
		})
	}
}

// A Defender that keeps failing ends the request in a told failure, not silence.
func TestDefenderDownIsTold(t *testing.T) {
	e := faultEnv(t, demo.Options{Tune: func(c *configT) { c.MDE.WaitTimeout = 5 * time.Second }})
	id := addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f8b01", mdetest.Step{Status: mde.StatusInProgress, Polls: 1}, mdetest.Step{Status: mde.StatusSucceeded})
	mark := e.Mark()
	command(t, e, demo.Alice, demo.ChanUpload, id)
	waitEvent(t, e, mark, "the progress message", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventMessage && ev.Message.Channel == demo.ChanUpload
	})
	e.MDE.FailNext(mdetest.EndpointListActions, 1000, 503)
	waitEvent(t, e, mark, "the failure told", privateTo(demo.Alice, "failed", "Defender"))
}

func TestSlackFaults(t *testing.T) {
	tests := []struct {
		name   string
		inject func(*slackfake.Server)
		check  func(t *testing.T, e *demo.Env, mark int)
	}{
		{"upload URL fails once", func(s *slackfake.Server) { s.FailUploadNext(1) }, func(t *testing.T, e *demo.Env, mark int) {
			deliveredOnce(t, e, mark, 60*time.Second)
		}},
		{"upload URL keeps failing: link instead", func(s *slackfake.Server) { s.FailUploadNext(2) }, func(t *testing.T, e *demo.Env, mark int) {
			waitEvent(t, e, mark, "the private link with the reason", privateTo(demo.Alice, "upload into Slack failed", "Download"))
			for _, u := range e.Slack.Uploads() {
				if u.Completed {
					t.Errorf("a failed upload was completed: %+v", u)
				}
			}
		}},
		{"429 on chat.postMessage", func(s *slackfake.Server) { s.RateLimitNext("chat.postMessage", 2, time.Second) }, func(t *testing.T, e *demo.Env, mark int) {
			deliveredOnce(t, e, mark, 60*time.Second)
			if n := len(e.Slack.Messages()); n == 0 {
				t.Error("no channel message after the 429s")
			}
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := faultEnv(t, demo.Options{})
			id := addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f8c0"+string(rune('0'+i)))
			tt.inject(e.Slack)
			mark := e.Mark()
			command(t, e, demo.Alice, demo.ChanUpload, id)
			tt.check(t, e, mark)
		})
	}
}

// The database is locked by someone else for longer than the busy timeout:
// steps fail and are retried, and the request is still delivered once.
func TestDatabaseBrieflyUnavailable(t *testing.T) {
	e := faultEnv(t, demo.Options{})
	id := addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f8d01", mdetest.Step{Status: mde.StatusInProgress, Polls: 1000})
	mark := e.Mark()
	command(t, e, demo.Alice, demo.ChanUpload, id)
	waitEvent(t, e, mark, "the progress message", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventMessage && ev.Message.Channel == demo.ChanUpload
	})
	// The test's own connection waits for the bot's writes like the bot's do.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(e.Dir, "mdebot.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	e.MDE.SetStatus(id, mde.StatusSucceeded)
	time.Sleep(8 * time.Second) // longer than the store's 5 s busy timeout
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	deliveredOnce(t, e, mark, 90*time.Second)
	if strings.Contains(textOfAll(e, mark), "internal error") {
		t.Log("a step reported an internal error during the outage (it was retried)")
	}
}

// textOfAll is every message text after mark.
func textOfAll(e *demo.Env, mark int) string {
	var b strings.Builder
	for _, ev := range e.Slack.Events()[mark:] {
		b.WriteString(textOf(ev))
	}
	return b.String()
}
