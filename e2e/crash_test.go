package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mdebot/mdebot/bot/slackfake"
	"github.com/mdebot/mdebot/demo"
	"github.com/mdebot/mdebot/handlers"
	"github.com/mdebot/mdebot/mde"
	"github.com/mdebot/mdebot/mde/mdetest"
	"github.com/mdebot/mdebot/store"
)

// A real `mdebot serve` is SIGKILLed once during a pending approval, once
// while waiting for an action, and once in the middle of a delivery;
// restarted on the same database, each request completes exactly once.
func TestCrashDuringApprovalAndWait(t *testing.T) {
	if testing.Short() {
		t.Skip("process crash test skipped in -short mode")
	}
	e, err := demo.Start(deadline(t, 20*time.Second), demo.Options{NoApp: true, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	defer func() {
		if t.Failed() {
			dumpState(t, e)
		}
	}()
	cfg := filepath.Join(e.Dir, "config.yaml")
	if err := e.WriteConfig(cfg); err != nil {
		t.Fatal(err)
	}
	p := serve(t, e, cfg, e.BaseURL)
	login(t, e, demo.Alice)

	// 1. A request waiting for approval when the process dies.
	approvalAction := addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6e01")
	msg, req := askForApproval(t, e, approvalAction)
	p.kill()
	p = serve(t, e, cfg, e.BaseURL)
	mark := e.Mark()
	click(t, e, demo.Bob, msg, handlers.ActionApprove, req)
	waitEvent(t, e, mark, "delivery after approval on the restarted bot", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventFileShared && ev.Upload.ThreadTS == msg.Message.TS
	})

	// 2. A request waiting for Defender when the process dies.
	waiting := e.MDE.AddAction(mdeAction("7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6e02"))
	e.MDE.SetStatus(waiting, mde.StatusInProgress)
	mark = e.Mark()
	command(t, e, demo.Alice, demo.ChanUpload, waiting)
	progress := waitEvent(t, e, mark, "the progress message", func(ev slackfake.Event) bool {
		return (ev.Kind == slackfake.EventMessage || ev.Kind == slackfake.EventUpdate) && ev.Message.Channel == demo.ChanUpload && strings.Contains(ev.Message.Text, "InProgress")
	})
	waitPolls(t, e, waiting, 2)
	p.kill()
	e.MDE.SetStatus(waiting, mde.StatusSucceeded) // it finishes while the bot is down
	p = serve(t, e, cfg, e.BaseURL)
	// A job the killed process held counts as running until River's rescuer
	// frees it (about a minute); a snoozed one resumes at once.
	waitEventFor(t, e, mark, 150*time.Second, "delivery after the restart", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventFileShared && ev.Upload.ThreadTS == progress.Message.TS
	})

	// 3. A delivery under way (the package download is slow) when the process dies.
	fetching := addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6e03")
	e.MDE.DelayNext(mdetest.EndpointDownload, 1, 20*time.Second)
	calls := len(e.MDE.PackageURICalls())
	mark = e.Mark()
	command(t, e, demo.Alice, demo.ChanUpload, fetching)
	// The link was asked for (after the two links of the steps above, the
	// 2-per-minute limit may hold it up to a minute); the download (held 20 s
	// by the fake) starts at once.
	waitUntil(t, 90*time.Second, "the link call", func() bool { return len(e.MDE.PackageURICalls()) > calls })
	time.Sleep(time.Second)
	before := len(e.MDE.PackageURIServed())
	p.kill()
	serve(t, e, cfg, e.BaseURL) // the cleanup stops it
	// The dead process's claim lapses (60 s lease), then a sweep (every 30 s)
	// starts a recovery fetch: a new link, one upload.
	waitEventFor(t, e, mark, 150*time.Second, "delivery after the crash mid-fetch", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventFileShared && strings.Contains(ev.Upload.Filename, fetching)
	})
	if n := len(e.MDE.PackageURIServed()); n != before+1 {
		t.Errorf("getPackageUri served %d more links after the crash, want 1", n-before)
	}

	// Exactly once: let any duplicate show itself, then count.
	time.Sleep(3 * time.Second)
	completed := 0
	for _, u := range e.Slack.Uploads() {
		if u.Completed {
			completed++
		}
	}
	if completed != 3 {
		t.Errorf("%d completed uploads, want exactly 3", completed)
	}
	for _, tag := range []string{approvalAction, waiting, fetching} {
		summaries := 0
		for _, m := range e.Slack.Messages() {
			if strings.Contains(m.Text, "Investigation package uploaded") && strings.Contains(textOf(slackfake.Event{Message: &m}), tag) {
				summaries++
			}
		}
		if summaries != 1 {
			t.Errorf("action %s: %d upload summaries, want 1", tag, summaries)
		}
	}
}

// waitPolls waits until Defender was asked n times for the action's status
// (the bot is polling).
func waitPolls(t *testing.T, e *demo.Env, id string, n int) {
	t.Helper()
	end := time.Now().Add(30 * time.Second)
	for time.Now().Before(end) {
		if statusReads(e, id) >= n {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the bot did not poll action %s %d times", id, n)
}

// A request acknowledged just before a crash (stored as received, never
// checked) is picked up by the sweep and completed.
func TestReceivedRequestResumes(t *testing.T) {
	e, _ := start(t, demo.Options{})
	login(t, e, demo.Alice)
	id := addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6e09")
	db, err := store.Open(deadline(t, 10*time.Second), store.DriverSQLite, "file:"+filepath.Join(e.Dir, "mdebot.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// What the dead process left: the row written on the acknowledgement.
	past := time.Now().Add(-2 * time.Minute)
	r := &handlers.Request{ID: "00c0ffee00c0ffee", Team: e.Slack.TeamID(), Channel: demo.ChanUpload, ChannelName: demo.ChannelName(demo.ChanUpload),
		User: demo.Alice, Kind: handlers.KindGet, Target: id, State: handlers.StateReceived, CreatedAt: past, UpdatedAt: past}
	mark := e.Mark()
	if err := db.CreateRequest(deadline(t, 5*time.Second), r); err != nil {
		t.Fatal(err)
	}
	waitEventFor(t, e, mark, 60*time.Second, "the delivery of the recovered request", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventFileShared && strings.Contains(ev.Upload.Filename, id)
	})
}

// statusReads counts Defender's answers about action id's status: a GET of
// the action, or an id filter naming it (the status poller's batch read).
func statusReads(e *demo.Env, id string) int {
	n := 0
	for _, r := range e.MDE.Requests() {
		if strings.HasSuffix(r.Path, "/machineactions/"+id) ||
			(strings.HasSuffix(r.Path, "/machineactions") && strings.Contains(r.RawQuery, id)) {
			n++
		}
	}
	return n
}
