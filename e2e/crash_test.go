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
)

// A real `mdebot serve` is SIGKILLed once during a pending approval and once
// while waiting for an action; restarted on the same database, each request
// completes exactly once.
func TestCrashDuringApprovalAndWait(t *testing.T) {
	if testing.Short() {
		t.Skip("process crash test skipped in -short mode")
	}
	e, err := demo.Start(deadline(t, 20*time.Second), demo.Options{NoApp: true, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
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

	// Exactly once: let any duplicate show itself, then count.
	time.Sleep(3 * time.Second)
	if n := len(e.Slack.Uploads()); n != 2 {
		t.Errorf("%d uploads, want exactly 2", n)
	}
	if n := len(e.MDE.PackageURIServed()); n != 2 {
		t.Errorf("getPackageUri served %d links, want 2", n)
	}
	for _, tag := range []string{approvalAction, waiting} {
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

// waitPolls waits until Defender saw n GETs of the action (the bot is polling).
func waitPolls(t *testing.T, e *demo.Env, id string, n int) {
	t.Helper()
	end := time.Now().Add(30 * time.Second)
	for time.Now().Before(end) {
		c := 0
		for _, r := range e.MDE.Requests() {
			if strings.HasSuffix(r.Path, "/machineactions/"+id) {
				c++
			}
		}
		if c >= n {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the bot did not poll action %s %d times", id, n)
}
