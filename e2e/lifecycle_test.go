package e2e

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mdebot/mdebot/bot/slackfake"
	"github.com/mdebot/mdebot/demo"
	"github.com/mdebot/mdebot/handlers"
	"github.com/mdebot/mdebot/mde"
	"github.com/mdebot/mdebot/mde/mdetest"
)

// An approval window of 2 s, clicked at 3 s: nothing is fetched, the
// requester hears of the expiry within seconds of it (a job scheduled for
// that instant, not the 30 s sweep), and both are told the window.
func TestApprovalClickedAfterItsWindow(t *testing.T) {
	e, _ := start(t, demo.Options{Tune: func(c *configT) { c.Policy.Channels[2].Approval.ExpiresAfter = 2 * time.Second }})
	login(t, e, demo.Alice)
	id := addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6c01")
	asked, before := time.Now(), e.Mark()
	msg, req := askForApproval(t, e, id)
	expiresBy := asked.Add(2 * time.Second) // ExpiresAt is set after the ask, so at or before this
	waitEventFor(t, e, before, 10*time.Second, "the requester told it expired", privateTo(demo.Alice, "Your request expired", "2s"))
	if late := time.Since(expiresBy); late > 5*time.Second {
		t.Errorf("the requester was told %s after the window closed, want within 5s", late.Round(time.Millisecond))
	}
	time.Sleep(time.Until(asked.Add(3 * time.Second)))
	mark := e.Mark()
	click(t, e, demo.Bob, msg, handlers.ActionApprove, req)
	waitEvent(t, e, mark, "the clicker told it expired", privateTo(demo.Bob, "expired"))
	time.Sleep(time.Second) // room for a wrong delivery to show itself
	if n := len(e.MDE.PackageURICalls()); n != 0 {
		t.Errorf("getPackageUri called %d times for an expired request", n)
	}
	if n := len(e.Slack.Uploads()); n != 0 {
		t.Errorf("%d uploads for an expired request", n)
	}
}

// Slack's signed request posted twice at once and again a minute later (a
// replay inside the 5-minute window): one delivery, one getPackageUri call,
// every copy acknowledged with a 200.
func TestSignedCommandReplayedActsOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("waits a minute between replays; skipped in -short mode")
	}
	e, _ := start(t, demo.Options{})
	login(t, e, demo.Alice)
	id := addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6c02")
	signed := e.SignCommand(demo.Alice, demo.ChanUpload, id)
	mark := e.Mark()
	sendAll(t, e, signed, e.BaseURL, e.BaseURL)
	deliveredOnce(t, e, mark, 60*time.Second)
	time.Sleep(time.Minute)
	sendAll(t, e, signed, e.BaseURL)
	time.Sleep(2 * time.Second)
	if n := completedUploads(e); n != 1 {
		t.Errorf("%d deliveries, want 1", n)
	}
	if n := len(e.MDE.PackageURICalls()); n != 1 {
		t.Errorf("getPackageUri called %d times, want 1", n)
	}
}

// sendAll posts one signed request to each base at once; every copy gets a 200.
func sendAll(t *testing.T, e *demo.Env, s demo.Signed, bases ...string) {
	t.Helper()
	var wg sync.WaitGroup
	for _, base := range bases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := e.Send(deadline(t, 10*time.Second), base, s)
			if err != nil || a.Status != 200 {
				t.Errorf("sending to %s: %v %+v", base, err, a)
			}
		}()
	}
	wg.Wait()
}

func completedUploads(e *demo.Env) int {
	n := 0
	for _, u := range e.Slack.Uploads() {
		if u.Completed {
			n++
		}
	}
	return n
}

// Two replicas on one PostgreSQL database both receive the same signed
// request (a load balancer retrying, an attacker replaying): one delivery.
func TestReplicasActOnceOnOneSignedRequest(t *testing.T) {
	e, a, b := twoReplicas(t)
	login(t, e, demo.Alice)
	id := addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6c03")
	mark := e.Mark()
	sendAll(t, e, e.SignCommand(demo.Alice, demo.ChanUpload, id), a.url, b.url, a.url, b.url)
	deliveredOnce(t, e, mark, 60*time.Second)
	if n := len(e.MDE.PackageURICalls()); n != 1 {
		t.Errorf("getPackageUri called %d times, want 1", n)
	}
}

// Slack redelivers a slash command envelope (retry_attempt 1, same
// envelope_id): acknowledged and ignored, one delivery.
func TestSocketRedeliveryActsOnce(t *testing.T) {
	e, _ := start(t, demo.Options{Mode: "socket"})
	login(t, e, demo.Alice)
	waitUntil(t, 10*time.Second, "the socket connection", func() bool { return e.Slack.Connections() > 0 })
	id := addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6c04")
	mark := e.Mark()
	if _, err := e.Slack.SendSlashCommand(deadline(t, 10*time.Second), slackfake.CommandParams{
		TeamID: e.Slack.TeamID(), ChannelID: demo.ChanUpload, ChannelName: demo.ChannelName(demo.ChanUpload),
		UserID: demo.Alice, UserName: "alice", Text: id, ResponseURL: e.Slack.ResponseURL(demo.Alice + "-socket"),
	}); err != nil {
		t.Fatal(err)
	}
	envs := e.Slack.Envelopes("slash_commands")
	if len(envs) != 1 {
		t.Fatalf("%d slash command envelopes sent, want 1", len(envs))
	}
	acked, err := e.Slack.Redeliver(deadline(t, 10*time.Second), envs[0].ID)
	if err != nil {
		t.Fatalf("the redelivery was not acknowledged: %v", err)
	}
	if len(acked.Payload) != 0 {
		t.Errorf("the redelivery was answered with %s, want a bare ack", acked.Payload)
	}
	if again := e.Slack.Envelopes("slash_commands"); len(again) != 2 || again[1].RetryAttempt != 1 || again[1].ID != envs[0].ID {
		t.Fatalf("envelopes after the redelivery: %+v", again)
	}
	deliveredOnce(t, e, mark, 60*time.Second)
	if n := len(e.MDE.PackageURICalls()); n != 1 {
		t.Errorf("getPackageUri called %d times, want 1", n)
	}
}

// A single bot on SQLite, SIGKILLed while a request awaits approval,
// restarted, and approved at once: delivered within 10 s, ten runs out of
// ten. The restarted process, alone on the file, frees what its predecessor
// held (running jobs, River's leadership) instead of waiting for the rescue.
// Defender's 2-per-minute link limit is raised here (bot and fake alike) so
// that ten deliveries in a row measure the restart, not the limit.
func TestRestartedBotDeliversApprovalAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("ten process restarts; skipped in -short mode")
	}
	e, err := demo.Start(deadline(t, 20*time.Second), demo.Options{NoApp: true, Dir: t.TempDir(),
		MDE: func(o *mdetest.Options) { o.PackageURILimits = mde.Limits{PerMinute: 60, PerHour: 600} }})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	defer func() {
		if t.Failed() {
			dumpState(t, e)
		}
	}()
	e.Config.MDE.PackageURILimit.PerMinute, e.Config.MDE.PackageURILimit.PerHour = 60, 600
	cfg := filepath.Join(e.Dir, "config.yaml")
	if err := e.WriteConfig(cfg); err != nil {
		t.Fatal(err)
	}
	p := serve(t, e, cfg, e.BaseURL)
	login(t, e, demo.Alice)
	for run := range 10 {
		id := addAction(e, fmt.Sprintf("7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6d%02d", run))
		msg, req := askForApproval(t, e, id)
		p.kill()
		p = serve(t, e, cfg, e.BaseURL)
		mark := e.Mark()
		clicked := time.Now()
		click(t, e, demo.Bob, msg, handlers.ActionApprove, req)
		if _, err := e.WaitAfter(deadline(t, 10*time.Second), mark, func(ev slackfake.Event) bool {
			return ev.Kind == slackfake.EventFileShared && ev.Upload.ThreadTS == msg.Message.TS
		}); err != nil {
			t.Fatalf("run %d: not delivered within 10s of the approval on the restarted bot: %v", run+1, err)
		}
		t.Logf("run %d: delivered %s after the click", run+1, time.Since(clicked).Round(10*time.Millisecond))
	}
}
