package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/mdebot/mdebot/bot/slackfake"
	"github.com/mdebot/mdebot/demo"
	"github.com/mdebot/mdebot/handlers"
)

// askForApproval has alice ask for a package in the approval channel and
// returns the approval message.
func askForApproval(t *testing.T, e *demo.Env, actionID string) (slackfake.Event, string) {
	t.Helper()
	mark := e.Mark()
	command(t, e, demo.Alice, demo.ChanApproval, actionID)
	ev := waitEvent(t, e, mark, "the approval message", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventMessage && ev.Message.Channel == demo.ChanApproval && hasButton(ev, handlers.ActionApprove) && hasButton(ev, handlers.ActionDeny)
	})
	waitEvent(t, e, mark, "the requester told approval is needed", privateTo(demo.Alice, "ask an approver"))
	return ev, buttonValue(ev, handlers.ActionApprove)
}

func click(t *testing.T, e *demo.Env, user string, msg slackfake.Event, actionID, value string) {
	t.Helper()
	a, err := e.Click(deadline(t, 10*time.Second), user, msg.Message.Channel, msg.Message.TS, actionID, value)
	if err != nil || a.Status != 200 {
		t.Fatalf("click %s as %s: %v %+v", actionID, user, err, a)
	}
}

// An approver's click delivers, with the requester's identity at Defender;
// the approver needs no linked account.
func TestApprovalDeliversAsRequester(t *testing.T) {
	e, _ := start(t, demo.Options{})
	login(t, e, demo.Alice)
	id := addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6d01")
	msg, req := askForApproval(t, e, id)
	if n := len(e.MDE.PackageURICalls()); n != 0 {
		t.Fatalf("getPackageUri called %d times before approval", n)
	}
	mark := e.Mark()
	click(t, e, demo.Bob, msg, handlers.ActionApprove, req)
	waitEvent(t, e, mark, "the message updated with who approved", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventUpdate && ev.Message.TS == msg.Message.TS && strings.Contains(textOf(ev), "approved by <@"+demo.Bob+">")
	})
	waitEvent(t, e, mark, "the requester told it was approved", privateTo(demo.Alice, "approved", demo.Bob))
	waitEvent(t, e, mark, "the upload in the approval thread", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventFileShared && ev.Upload.ThreadTS == msg.Message.TS
	})
	for _, r := range e.MDE.Requests() {
		if strings.HasPrefix(r.Path, "/safedownload/") {
			if r.Token != "" {
				t.Errorf("the package download carried a bearer token")
			}
			continue
		}
		info, _ := e.Entra.Introspect(r.Token)
		if info.User.Username != "alice@contoso.com" {
			t.Errorf("%s %s called with %q's token, want the requester's", r.Method, r.Path, info.User.Username)
		}
	}
	if n := len(e.MDE.PackageURICalls()); n != 1 {
		t.Errorf("getPackageUri called %d times, want 1", n)
	}
}

// Self-approval and non-approvers are refused privately and change nothing;
// a double click and a redelivered click count once.
func TestApprovalRefusalsAndDoubleClicks(t *testing.T) {
	e, _ := start(t, demo.Options{Tune: func(c *configT) { c.Policy.Channels[2].Approval.RequiredApprovals = 2 }})
	login(t, e, demo.Alice)
	id := addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6d02")
	msg, req := askForApproval(t, e, id)

	mark := e.Mark()
	click(t, e, demo.Alice, msg, handlers.ActionApprove, req)
	waitEvent(t, e, mark, "self-approval refused", privateTo(demo.Alice, "cannot approve your own request"))
	click(t, e, demo.Carol, msg, handlers.ActionApprove, req)
	waitEvent(t, e, mark, "non-approver refused", privateTo(demo.Carol, "not one of its approvers"))
	click(t, e, demo.Carol, msg, handlers.ActionDeny, req)
	waitEvent(t, e, mark, "non-approver deny refused", privateTo(demo.Carol, "cannot deny this request"))

	// Bob clicks twice (and Slack redelivers): one approval of the two needed.
	for range 3 {
		click(t, e, demo.Bob, msg, handlers.ActionApprove, req)
	}
	waitEvent(t, e, mark, "one approval shown", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventUpdate && ev.Message.TS == msg.Message.TS && strings.Contains(textOf(ev), "approved by <@"+demo.Bob+">")
	})
	time.Sleep(500 * time.Millisecond) // room for a wrong second count to act
	if n := len(e.MDE.PackageURICalls()); n != 0 {
		t.Fatalf("getPackageUri called %d times with one of two approvals", n)
	}
	click(t, e, demo.Dave, msg, handlers.ActionApprove, req)
	waitEvent(t, e, mark, "the upload after the second approval", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventFileShared && ev.Upload.ThreadTS == msg.Message.TS
	})
	click(t, e, demo.Dave, msg, handlers.ActionApprove, req) // a late redelivery
	waitEvent(t, e, mark, "the late click told nothing changed", privateTo(demo.Dave, "Nothing changed"))
	time.Sleep(500 * time.Millisecond)
	if n := len(e.Slack.Uploads()); n != 1 {
		t.Errorf("%d uploads, want exactly 1", n)
	}
	if n := len(e.MDE.PackageURICalls()); n != 1 {
		t.Errorf("getPackageUri called %d times, want 1", n)
	}
}

func TestDeny(t *testing.T) {
	e, _ := start(t, demo.Options{})
	login(t, e, demo.Alice)
	id := addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6d03")
	msg, req := askForApproval(t, e, id)
	mark := e.Mark()
	click(t, e, demo.Dave, msg, handlers.ActionDeny, req)
	waitEvent(t, e, mark, "the message says denied", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventUpdate && ev.Message.TS == msg.Message.TS && strings.Contains(ev.Message.Text, "denied") && !hasButton(ev, handlers.ActionApprove)
	})
	waitEvent(t, e, mark, "the requester told", privateTo(demo.Alice, "denied", demo.Dave))
	click(t, e, demo.Bob, msg, handlers.ActionApprove, req)
	waitEvent(t, e, mark, "a later approval changes nothing", privateTo(demo.Bob, "already denied"))
	if n := len(e.MDE.PackageURICalls()); n != 0 {
		t.Errorf("getPackageUri called %d times for a denied request", n)
	}
}

func TestApprovalExpires(t *testing.T) {
	e, _ := start(t, demo.Options{Tune: func(c *configT) { c.Policy.Channels[2].Approval.ExpiresAfter = time.Second }})
	login(t, e, demo.Alice)
	id := addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6d04")
	msg, req := askForApproval(t, e, id)
	mark := e.Mark()
	waitEvent(t, e, mark, "the message says expired", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventUpdate && ev.Message.TS == msg.Message.TS && strings.Contains(ev.Message.Text, "expired") && !hasButton(ev, handlers.ActionApprove)
	})
	waitEvent(t, e, mark, "the requester told", privateTo(demo.Alice, "expired"))
	click(t, e, demo.Bob, msg, handlers.ActionApprove, req)
	waitEvent(t, e, mark, "approving an expired request changes nothing", privateTo(demo.Bob, "already expired"))
	if n := len(e.MDE.PackageURICalls()); n != 0 {
		t.Errorf("getPackageUri called %d times for an expired request", n)
	}
}
