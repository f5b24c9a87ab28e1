package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mdebot/mdebot/bot/slackfake"
	"github.com/mdebot/mdebot/config"
	"github.com/mdebot/mdebot/demo"
	"github.com/mdebot/mdebot/handlers"
)

// The Slack surfaces beyond the slash command (App Home, the Workflow
// Builder step, the message shortcut, the Events API), each over signed
// HTTP and over Socket Mode, against the real bot.

// forModes runs fn against a fresh bot in each Slack mode.
func forModes(t *testing.T, tune func(*configT), fn func(t *testing.T, e *demo.Env)) {
	forModesLogged(t, tune, func(t *testing.T, e *demo.Env, _ *syncBuffer) { fn(t, e) })
}

// forModesLogged is forModes with the bot's logs.
func forModesLogged(t *testing.T, tune func(*configT), fn func(t *testing.T, e *demo.Env, logs *syncBuffer)) {
	for _, mode := range []string{"http", "socket"} {
		t.Run(mode, func(t *testing.T) {
			e, logs := start(t, demo.Options{Mode: mode, Tune: tune})
			if mode == "socket" {
				waitUntil(t, 10*time.Second, "the socket connection", func() bool { return e.Slack.Connections() > 0 })
			}
			fn(t, e, logs)
		})
	}
}

// homeOf waits for a Home tab published for user after mark whose text
// holds every word, and returns its text.
func homeOf(t *testing.T, e *demo.Env, mark int, user string, words ...string) string {
	t.Helper()
	ev := waitEvent(t, e, mark, "the Home tab of "+user, func(ev slackfake.Event) bool {
		if ev.Kind != slackfake.EventHomeView || ev.Home.User != user {
			return false
		}
		text := demo.HomeText(*ev.Home)
		for _, w := range words {
			if !strings.Contains(text, w) {
				return false
			}
		}
		return true
	})
	return demo.HomeText(*ev.Home)
}

// typed types a command in the mode's transport, failing the test on error.
func typed(t *testing.T, e *demo.Env, user, channel, text string) {
	t.Helper()
	if err := e.Type(deadline(t, 10*time.Second), user, channel, text); err != nil {
		t.Fatalf("%s types %q: %v", user, text, err)
	}
}

// Slack checks the Events API Request URL with a signed challenge (HTTP
// mode only: Socket Mode has no Request URL).
func TestSurfacesURLVerification(t *testing.T) {
	e, _ := start(t, demo.Options{})
	d, err := e.Slack.PostEvent(deadline(t, 10*time.Second), e.BaseURL+"/slack/events", e.Config.Slack.SigningSecret, slackfake.URLVerification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"))
	if err != nil || d.Status != http.StatusOK || string(d.Body) != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" {
		t.Fatalf("challenge answered %+v, %v", d, err)
	}
	d, err = e.Slack.PostEvent(deadline(t, 10*time.Second), e.BaseURL+"/slack/events", "wrong-secret", slackfake.URLVerification("x"))
	if err != nil || d.Status != http.StatusUnauthorized {
		t.Fatalf("a forged challenge answered %+v, %v", d, err)
	}
}

// app_home_opened publishes the user's Home tab: their linked account,
// their requests with state, device, age and Download, and the approvals
// waiting for them with Approve and Deny. Dave, a SOC lead, has all three.
func TestSurfacesAppHome(t *testing.T) {
	forModes(t, nil, func(t *testing.T, e *demo.Env) {
		login(t, e, demo.Alice)
		login(t, e, demo.Dave)
		mark := e.Mark()
		typed(t, e, demo.Dave, demo.ChanUpload, addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f7a01"))
		waitEvent(t, e, mark, "the upload", func(ev slackfake.Event) bool { return ev.Kind == slackfake.EventFileShared })
		typed(t, e, demo.Alice, demo.ChanApproval, addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f7a02"))
		card := waitEvent(t, e, mark, "the approval message", func(ev slackfake.Event) bool {
			return ev.Kind == slackfake.EventMessage && hasButton(ev, handlers.ActionApprove)
		})
		pending := buttonValue(card, handlers.ActionApprove)

		mark = e.Mark()
		if err := e.OpenHome(deadline(t, 10*time.Second), demo.Dave); err != nil {
			t.Fatal(err)
		}
		home := homeOf(t, e, mark, demo.Dave, "dave@contoso.com", "delivered", pending)
		for _, want := range []string{
			"[Sign out]", // the account, linked
			"`delivered` · get ws-0042.contoso.local", "ago", "[Download]", // a request: state, device, age
			"Waiting for your approval", "@alice asks for a package", "[Approve] [Deny]", // alice's, waiting for him
		} {
			if !strings.Contains(home, want) {
				t.Errorf("dave's Home tab lacks %q:\n%s", want, home)
			}
		}
		hv, _ := e.Slack.HomeViewOf(demo.Dave)
		var blocks []json.RawMessage
		if json.Unmarshal(hv.Blocks, &blocks) != nil || len(blocks) == 0 || len(blocks) > 100 {
			t.Errorf("dave's Home tab has %d blocks", len(blocks))
		}

		mark = e.Mark()
		if err := e.OpenHome(deadline(t, 10*time.Second), demo.Alice); err != nil {
			t.Fatal(err)
		}
		home = homeOf(t, e, mark, demo.Alice, "alice@contoso.com", "awaiting_approval", pending)
		if !strings.Contains(home, "Nothing waits for your approval") {
			t.Errorf("alice's own request waits for her approval:\n%s", home)
		}
	})
}

// An Approve clicked on App Home meets the channel's refusals, in the
// same words (self-approval, a non-approver, an expired request), and an
// approver's click there delivers.
func TestSurfacesAppHomeDecisions(t *testing.T) {
	// #inc-2042-phishing asks approval too here, with a window of two seconds.
	short := func(c *configT) {
		c.Policy.Channels[1].Approval = config.Approval{Required: true, Approvers: []string{demo.SOCLeads}, RequiredApprovals: 1,
			ExpiresAfter: 2 * time.Second, RequiredFor: config.AllRequestKinds}
	}
	forModes(t, short, func(t *testing.T, e *demo.Env) {
		login(t, e, demo.Alice)
		mark := e.Mark()
		typed(t, e, demo.Alice, demo.ChanApproval, addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f7b01"))
		card := waitEvent(t, e, mark, "the approval message", func(ev slackfake.Event) bool {
			return ev.Kind == slackfake.EventMessage && ev.Message.Channel == demo.ChanApproval && hasButton(ev, handlers.ActionApprove)
		})
		req := buttonValue(card, handlers.ActionApprove)
		for _, u := range []string{demo.Alice, demo.Bob, demo.Carol} {
			if err := e.OpenHome(deadline(t, 10*time.Second), u); err != nil {
				t.Fatal(err)
			}
		}
		homeOf(t, e, mark, demo.Bob, req)
		homeOf(t, e, mark, demo.Carol, "Nothing waits for your approval")
		homeOf(t, e, mark, demo.Alice, req)

		click := func(user, action, value string) {
			t.Helper()
			if err := e.HomeClick(deadline(t, 10*time.Second), user, action, value); err != nil {
				t.Fatalf("%s clicks %s on App Home: %v", user, action, err)
			}
		}
		mark = e.Mark()
		click(demo.Alice, handlers.ActionApprove, req)
		waitEvent(t, e, mark, "self-approval refused", privateTo(demo.Alice, "cannot approve your own request"))
		click(demo.Carol, handlers.ActionApprove, req)
		waitEvent(t, e, mark, "a non-approver refused", privateTo(demo.Carol, "not one of its approvers"))
		if n := len(e.MDE.PackageURICalls()); n != 0 {
			t.Fatalf("getPackageUri called %d times after refused clicks", n)
		}
		click(demo.Bob, handlers.ActionApprove, req)
		waitEvent(t, e, mark, "the requester told it was approved", privateTo(demo.Alice, "approved", demo.Bob))
		waitEvent(t, e, mark, "the upload in the approval thread", func(ev slackfake.Event) bool {
			return ev.Kind == slackfake.EventFileShared && ev.Upload.ThreadTS == card.Message.TS
		})
		homeOf(t, e, mark, demo.Bob, "Nothing waits for your approval")

		mark = e.Mark()
		typed(t, e, demo.Alice, demo.ChanLink, addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f7b02"))
		late := waitEvent(t, e, mark, "the second approval message", func(ev slackfake.Event) bool {
			return ev.Kind == slackfake.EventMessage && ev.Message.Channel == demo.ChanLink && hasButton(ev, handlers.ActionApprove)
		})
		waitEvent(t, e, mark, "the request expired", privateTo(demo.Alice, "expired"))
		click(demo.Bob, handlers.ActionApprove, buttonValue(late, handlers.ActionApprove))
		waitEvent(t, e, mark, "approving an expired request changes nothing", privateTo(demo.Bob, "already expired"))
		if n := len(e.MDE.PackageURICalls()); n != 1 {
			t.Errorf("getPackageUri called %d times, want 1", n)
		}
	})
}

// An event Slack sends again (X-Slack-Retry-Num over HTTP; a redelivered
// envelope, or the same event in a new envelope, over Socket Mode) is
// handled once.
func TestSurfacesEventRetriedOnce(t *testing.T) {
	forModes(t, nil, func(t *testing.T, e *demo.Env) {
		ev, _ := e.Slack.FunctionExecuted(slackfake.FunctionParams{CallbackID: handlers.StepCallback, Inputs: map[string]any{
			"device": "ws-0042.contoso.local", "requester": demo.Carol, "channel": demo.ChanUpload}})
		ctx := deadline(t, 20*time.Second)
		if err := e.SendEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
		if e.Config.Slack.Mode == "socket" {
			envs := e.Slack.Envelopes("events_api")
			if _, err := e.Slack.Redeliver(ctx, envs[len(envs)-1].ID); err != nil {
				t.Fatal(err)
			}
			if err := e.SendEvent(ctx, ev); err != nil {
				t.Fatal(err)
			}
		} else {
			for range 2 {
				d, err := e.Slack.RetryEvent(ctx, e.BaseURL+"/slack/events", e.Config.Slack.SigningSecret, ev, "http_timeout")
				if err != nil || d.Status != http.StatusOK || d.RetryNum == 0 {
					t.Fatalf("retry answered %+v, %v", d, err)
				}
			}
		}
		waitUntil(t, 10*time.Second, "the step ended", func() bool { return len(e.Slack.Completions()) > 0 })
		time.Sleep(time.Second) // room for a wrong second handling
		if n := len(e.Slack.Calls("functions.completeError")); n != 1 {
			t.Fatalf("the event was handled %d times (completeError calls), want once", n)
		}
	})
}

// A workflow's step collects as its requester and, after a real delivery,
// ends with completeSuccess carrying the package's SHA-256; a requester
// who never linked ends it with completeError saying to run login.
func TestSurfacesWorkflowStep(t *testing.T) {
	forModesLogged(t, nil, func(t *testing.T, e *demo.Env, logs *syncBuffer) {
		login(t, e, demo.Alice)
		mark := e.Mark()
		exec, err := e.RunStep(deadline(t, 10*time.Second), map[string]any{"device": "ws-0042.contoso.local",
			"comment": "workflow INC-9", "requester": demo.Alice, "channel": demo.ChanUpload})
		if err != nil {
			t.Fatal(err)
		}
		up := waitEventFor(t, e, mark, 60*time.Second, "the upload", func(ev slackfake.Event) bool { return ev.Kind == slackfake.EventFileShared })
		done := waitEventFor(t, e, mark, 30*time.Second, "the step completed", func(ev slackfake.Event) bool {
			return ev.Kind == slackfake.EventFunctionCompleted && ev.Completion.ExecutionID == exec.ID
		}).Completion
		if !done.Success || done.Outputs["sha256"] != e.MDE.PackageSHA256() || done.Outputs["sha256"] != up.Upload.SHA256 {
			t.Fatalf("completion %+v, want success with the package's SHA-256 %s", done, e.MDE.PackageSHA256())
		}
		if done.Outputs["file_name"] != up.Upload.Filename || !strings.Contains(up.Upload.Filename, done.Outputs["action_id"].(string)) || done.Outputs["request_id"] == "" {
			t.Errorf("outputs %v for the upload %s", done.Outputs, up.Upload.Filename)
		}
		if !done.ExecutionToken {
			t.Error("the step was completed with the bot token, not the execution's own")
		}
		if n := collects(e); n != 1 {
			t.Errorf("collectInvestigationPackage called %d times, want 1", n)
		}
		a, _ := e.MDE.Action(done.Outputs["action_id"].(string))
		if a.Requestor != "alice@contoso.com" || !strings.Contains(a.RequestorComment, "workflow INC-9") {
			t.Errorf("Defender's action asked by %q with %q, want alice and the step's comment", a.Requestor, a.RequestorComment)
		}

		mark = e.Mark()
		calls := len(e.MDE.Requests())
		exec, err = e.RunStep(deadline(t, 10*time.Second), map[string]any{"device": "ws-0042.contoso.local",
			"requester": demo.Carol, "channel": demo.ChanUpload})
		if err != nil {
			t.Fatal(err)
		}
		failed := waitEvent(t, e, mark, "the step ended with an error", func(ev slackfake.Event) bool {
			return ev.Kind == slackfake.EventFunctionCompleted && ev.Completion.ExecutionID == exec.ID
		}).Completion
		if failed.Success || !strings.Contains(failed.Error, "has not linked a Microsoft account") || !strings.Contains(failed.Error, "login") {
			t.Fatalf("completion %+v, want an error telling the author the requester must run login", failed)
		}
		if got := len(e.MDE.Requests()); got != calls {
			t.Errorf("Defender saw %d calls for an unlinked requester", got-calls)
		}
		if strings.Contains(logs.String(), "xwfp-") {
			t.Error("a step's token reached the logs")
		}
		if !strings.Contains(logs.String(), exec.ID) {
			t.Error("the logs do not name the step's execution (the check above would prove nothing)")
		}
	})
}

// The message shortcut on a message naming a device ID and a host name
// offers both, privately; picking one runs the usual collect.
func TestSurfacesMessageShortcut(t *testing.T) {
	forModes(t, nil, func(t *testing.T, e *demo.Env) {
		login(t, e, demo.Alice)
		mark := e.Mark()
		if err := e.Shortcut(deadline(t, 10*time.Second), slackfake.ShortcutParams{UserID: demo.Alice, UserName: "alice",
			ChannelID: demo.ChanUpload, MessageTS: "1700000000.000900", MessageUser: demo.Carol,
			Text: "Defender alert: suspicious PowerShell on ws-0042.contoso.local (device " + demo.MachineWS + "), see https://security.microsoft.com/alerts/da1"}); err != nil {
			t.Fatal(err)
		}
		offer := waitEvent(t, e, mark, "the offer", func(ev slackfake.Event) bool {
			return privateTo(demo.Alice, "2 things to fetch")(ev) && hasButton(ev, handlers.ActionFromMessage)
		})
		text := textOf(offer)
		for _, want := range []string{"collect ws-0042.contoso.local", "collect " + demo.MachineWS} {
			if !strings.Contains(text, want) {
				t.Errorf("the offer lacks %q:\n%s", want, text)
			}
		}
		if strings.Contains(text, "security.microsoft.com") {
			t.Errorf("a link's host was offered as a device:\n%s", text)
		}
		if n := collects(e); n != 0 {
			t.Fatalf("%d collections started by the offer alone", n)
		}
		if err := e.Press(deadline(t, 10*time.Second), demo.Alice, demo.ChanUpload, "", handlers.ActionFromMessage, "collect ws-0042.contoso.local"); err != nil {
			t.Fatal(err)
		}
		waitEvent(t, e, mark, "the usual confirmation", func(ev slackfake.Event) bool {
			return privateTo(demo.Alice, "Collect an investigation package from ws-0042.contoso.local")(ev) && hasButton(ev, handlers.ActionConfirm)
		})
	})
}
