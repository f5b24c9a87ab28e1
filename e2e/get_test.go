package e2e

import (
	"strings"
	"testing"

	"github.com/mdebot/mdebot/bot/slackfake"
	"github.com/mdebot/mdebot/demo"
	"github.com/mdebot/mdebot/mde"
	"github.com/mdebot/mdebot/mde/mdetest"
)

// passThrough keeps no evidence (evidence.store none): Defender's link is
// what people get, as before the evidence store.
func passThrough(c *configT) { c.Evidence.Store = "none" }

// The mission for a requester in a private-link channel without an evidence
// store: login, ask, get Defender's link privately, with unfurling off, and
// Defender saw the requester's token. (With a store, evidence_test.go.)
func TestLoginThenGetDeliversLinkPrivately(t *testing.T) {
	e, _ := start(t, demo.Options{Tune: passThrough})
	login(t, e, demo.Alice)
	id := addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6a01")
	mark := e.Mark()
	ack := command(t, e, demo.Alice, demo.ChanPrivate, id)
	if !strings.Contains(ack.Reply.Text, id) {
		t.Errorf("ack reply %q does not name the action", ack.Reply.Text)
	}
	ev := waitEvent(t, e, mark, "the link, privately", privateTo(demo.Alice, "download now, the link is short-lived"))
	text := textOf(ev)
	served := e.MDE.IssuedPackageTokens()
	if len(served) != 1 {
		t.Fatalf("fake Defender issued %d package links, want 1", len(served))
	}
	if !strings.Contains(text, e.MDE.URL+"/safedownload/WDATP_Investigation_Package.zip?token="+served[0]) {
		t.Errorf("the private message does not hold the unquoted link: %s", text)
	}
	if strings.Contains(text, `\"http`) || strings.Contains(text, `"http`) && strings.Contains(text, `zip?token=`+served[0]+`"`) {
		t.Errorf("the link kept Defender's quotes: %s", text)
	}
	if ev.Kind != slackfake.EventEphemeral {
		t.Errorf("delivered as %s, want an ephemeral message", ev.Kind)
	}
	if ev.Message.UnfurlLinks == nil || *ev.Message.UnfurlLinks || ev.Message.UnfurlMedia == nil || *ev.Message.UnfurlMedia {
		t.Errorf("unfurl flags = %v/%v, want both false", ev.Message.UnfurlLinks, ev.Message.UnfurlMedia)
	}
	// Defender saw Alice's own token, issued by Entra for her.
	var calls int
	for _, r := range e.MDE.Requests() {
		if !strings.HasSuffix(r.Path, "/getPackageUri") {
			continue
		}
		calls++
		info, ok := e.Entra.Introspect(r.Token)
		if !ok || info.User.Username != "alice@contoso.com" {
			t.Errorf("getPackageUri called with a token of %q, want alice's", info.User.Username)
		}
	}
	if calls != 1 {
		t.Errorf("getPackageUri called %d times, want 1", calls)
	}
	// No channel message carries the link (a DM to the requester may).
	for _, m := range e.Slack.Messages() {
		if m.DMUser == "" && strings.Contains(m.Text+string(m.Blocks), "token=") {
			t.Errorf("a channel message holds the link: %s", m.Text)
		}
	}
}

func TestLinkInChannel(t *testing.T) {
	e, _ := start(t, demo.Options{Tune: passThrough})
	login(t, e, demo.Carol)
	id := addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6a02")
	mark := e.Mark()
	command(t, e, demo.Carol, demo.ChanLink, "get "+id)
	ev := waitEvent(t, e, mark, "the link in the channel", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventMessage && ev.Message.Channel == demo.ChanLink &&
			strings.Contains(ev.Message.Text, "download now, the link is short-lived")
	})
	if !strings.Contains(textOf(ev), "zip?token="+e.MDE.IssuedPackageTokens()[0]) {
		t.Errorf("channel message lacks the link: %s", ev.Message.Text)
	}
	if ev.Message.UnfurlLinks == nil || *ev.Message.UnfurlLinks || ev.Message.UnfurlMedia == nil || *ev.Message.UnfurlMedia {
		t.Errorf("unfurl flags = %v/%v, want both false", ev.Message.UnfurlLinks, ev.Message.UnfurlMedia)
	}
	if ev.Message.ThreadTS != "" {
		t.Errorf("the link went into a thread (%s); it must be a new channel message", ev.Message.ThreadTS)
	}
}

// Not ready, then ready: the requester is told at once, one progress message
// is updated in place, only the action's status is read while it runs, then
// the zip is uploaded into that message's thread with a matching SHA-256.
func TestWaitThenUploadInThread(t *testing.T) {
	e, _ := start(t, demo.Options{})
	login(t, e, demo.Alice)
	id := addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6a03",
		mdetest.Step{Status: mde.StatusPending, Polls: 1}, mdetest.Step{Status: mde.StatusInProgress, Polls: 2}, mdetest.Step{Status: mde.StatusSucceeded})
	mark := e.Mark()
	command(t, e, demo.Alice, demo.ChanUpload, id)
	progress := waitEvent(t, e, mark, "the progress message", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventMessage && ev.Message.Channel == demo.ChanUpload && strings.Contains(ev.Message.Text, "Pending")
	})
	waitEvent(t, e, mark, "progress updated to InProgress", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventUpdate && ev.Message.TS == progress.Message.TS && strings.Contains(ev.Message.Text, "InProgress")
	})
	up := waitEvent(t, e, mark, "the upload shared in the thread", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventFileShared
	})
	_ = up
	uploads := e.Slack.Uploads()
	if len(uploads) != 1 {
		t.Fatalf("%d uploads, want 1", len(uploads))
	}
	u := uploads[0]
	if u.Filename != "investigation-package-"+id+".zip" {
		t.Errorf("file name %q", u.Filename)
	}
	if u.Received != e.MDE.PackageBytes() || u.SHA256 != e.MDE.PackageSHA256() {
		t.Errorf("uploaded %d bytes sha %s, Defender served %d bytes sha %s", u.Received, u.SHA256, e.MDE.PackageBytes(), e.MDE.PackageSHA256())
	}
	if !u.Completed || u.Channel != demo.ChanUpload || u.ThreadTS != progress.Message.TS {
		t.Errorf("upload shared to %s thread %s (completed %v), want %s thread %s", u.Channel, u.ThreadTS, u.Completed, demo.ChanUpload, progress.Message.TS)
	}
	summary := waitEvent(t, e, mark, "the summary in the thread", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventMessage && ev.Message.ThreadTS == progress.Message.TS && strings.Contains(textOf(ev), e.MDE.PackageSHA256())
	})
	for _, w := range []string{"ws-0042.contoso.local", id, demo.Alice} {
		if !strings.Contains(textOf(summary), w) {
			t.Errorf("summary lacks %q", w)
		}
	}
	waitEvent(t, e, mark, "the progress message says delivered", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventUpdate && ev.Message.TS == progress.Message.TS && strings.Contains(ev.Message.Text, "delivered")
	})
	uris, polls := len(e.MDE.PackageURICalls()), statusReads(e, id)
	if uris != 1 || polls < 4 {
		t.Errorf("getPackageUri %d calls (want 1), action polls %d (want >= 4)", uris, polls)
	}
	if msgs := len(e.Slack.Messages()); msgs > 3 {
		t.Errorf("%d channel messages; progress must be one message updated in place", msgs)
	}
}
