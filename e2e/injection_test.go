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
	"github.com/mdebot/mdebot/store"
)

// hostile is what an attacker puts in a comment or a Defender field: a
// broadcast, a group ping, a user ping, and a fake download link.
const hostile = "<!channel> <!here> <!subteam^S0EVIL001> <@U0EVE0001> <https://evil.example|WDATP_Investigation_Package.zip>"

// markup an attacker wants Slack to act on; none may reach it unescaped.
var injected = []string{"<!channel>", "<!here>", "<!subteam^S0EVIL001>", "<@U0EVE0001>", "<https://evil.example|"}

// Hostile text as a collect comment and in Defender's requestorComment and
// computerDnsName is shown, escaped, in every message Slack records (channel
// posts, private replies, edited cards, the upload's comment), and kept as
// plain words in the audit export.
func TestHostileTextIsEscapedEverywhere(t *testing.T) {
	e, _ := start(t, demo.Options{})
	login(t, e, demo.Alice)
	const evilHost = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1"
	e.MDE.AddMachine(mde.Machine{ID: evilHost, ComputerDNSName: "ws-evil " + hostile, OSPlatform: "Windows11", LastSeen: time.Now().UTC(), HealthStatus: "Active"})
	get := e.MDE.AddAction(mde.MachineAction{ID: "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6b01", Type: mde.TypeCollectInvestigationPackage,
		MachineID: evilHost, ComputerDNSName: "ws-evil " + hostile, RequestorComment: hostile, Status: mde.StatusSucceeded})

	// status and get of an action whose Defender fields are hostile.
	mark := e.Mark()
	command(t, e, demo.Alice, demo.ChanUpload, "status "+get)
	waitEvent(t, e, mark, "the status reply", privateTo(demo.Alice, "Requestor"))
	command(t, e, demo.Alice, demo.ChanUpload, get)
	waitEvent(t, e, mark, "the upload", func(ev slackfake.Event) bool { return ev.Kind == slackfake.EventFileShared })

	// collect with a hostile comment, through confirmation and approval.
	command(t, e, demo.Alice, demo.ChanApproval, "collect "+evilHost+" "+hostile)
	confirm := waitEvent(t, e, mark, "the confirmation", func(ev slackfake.Event) bool {
		return privateTo(demo.Alice)(ev) && hasButton(ev, handlers.ActionConfirm)
	})
	if a, err := e.Click(deadline(t, 10*time.Second), demo.Alice, demo.ChanApproval, "", handlers.ActionConfirm, buttonValue(confirm, handlers.ActionConfirm)); err != nil || a.Status != 200 {
		t.Fatalf("confirm: %v %+v", err, a)
	}
	approval := waitEvent(t, e, mark, "the approval card", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventMessage && hasButton(ev, handlers.ActionApprove)
	})
	click(t, e, demo.Bob, approval, handlers.ActionApprove, buttonValue(approval, handlers.ActionApprove))
	waitEventFor(t, e, mark, 90*time.Second, "the collected package's upload", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventFileShared && ev.Upload.ThreadTS == approval.Message.TS
	})
	time.Sleep(time.Second)

	seen := 0
	for _, ev := range e.Slack.Events() {
		var text string
		switch {
		case ev.Message != nil, ev.Response != nil:
			text = textOf(ev)
		case ev.Upload != nil:
			text = ev.Upload.InitialComment
		default:
			continue
		}
		if strings.Contains(text, "&lt;!channel&gt;") {
			seen++
		}
		for _, bad := range injected {
			if strings.Contains(text, bad) {
				t.Errorf("%s event carries %q unescaped:\n%s", ev.Kind, bad, text)
			}
		}
	}
	if seen < 5 {
		t.Errorf("the hostile text was shown (escaped) in %d messages; the test expected it in the status, cards, confirmation and summaries", seen)
	}

	db, err := store.Open(deadline(t, 10*time.Second), store.DriverSQLite, "file:"+filepath.Join(e.Dir, "mdebot.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	events, err := db.ListAudit(deadline(t, 10*time.Second), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	plain := false
	for _, ev := range events {
		if strings.Contains(ev.Detail, "&lt;") || strings.Contains(ev.Detail, "&amp;") {
			t.Errorf("audit event %s holds escaped (rendered) text: %s", ev.Event, ev.Detail)
		}
		if strings.Contains(ev.Detail, hostile) {
			plain = true
		}
	}
	if !plain {
		t.Error("no audit event keeps the collect comment as the requester typed it")
	}
}
