package e2e

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mdebot/mdebot/bot/slackfake"
	"github.com/mdebot/mdebot/demo"
	"github.com/mdebot/mdebot/mde"
	"github.com/mdebot/mdebot/mde/mdetest"
)

// Every terminal failure status ends the wait, and the requester is told
// with Defender's status.
func TestFailedActionsAreTold(t *testing.T) {
	e, _ := start(t, demo.Options{})
	login(t, e, demo.Alice)
	for i, status := range []string{mde.StatusFailed, mde.StatusTimeOut, mde.StatusCancelled} {
		t.Run(status, func(t *testing.T) {
			id := addAction(e, fmt.Sprintf("7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6b%02d", i),
				mdetest.Step{Status: mde.StatusInProgress, Polls: 1}, mdetest.Step{Status: status})
			mark := e.Mark()
			command(t, e, demo.Alice, demo.ChanUpload, id)
			waitEvent(t, e, mark, "the failure told to the requester", privateTo(demo.Alice, "failed", "status "+status))
		})
	}
	if n := len(e.MDE.PackageURICalls()); n != 0 {
		t.Errorf("getPackageUri called %d times for failed actions", n)
	}
}

// Bad input gets a clear message and no Defender call at all.
func TestInvalidInputMakesNoDefenderCall(t *testing.T) {
	e, _ := start(t, demo.Options{})
	login(t, e, demo.Alice)
	before := len(e.MDE.Requests())
	for _, text := range []string{
		"get 123", "../../api/machines", "get 7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6a0", "status x%2F..",
		"collect host_name!", "collect -x-", "frobnicate", "get " + strings.Repeat("a", 41),
		"7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6a01/../../x",
	} {
		ack := command(t, e, demo.Alice, demo.ChanUpload, text)
		if !strings.Contains(ack.Reply.Text+string(ack.Reply.Blocks), "did not work") || ack.Reply.ResponseType == "in_channel" {
			t.Errorf("%q: ack %s, want a private refusal", text, ack.Body)
		}
	}
	if got := len(e.MDE.Requests()); got != before {
		t.Errorf("Defender saw %d requests for invalid input", got-before)
	}
}

func TestNotLinkedIsToldToLogin(t *testing.T) {
	e, _ := start(t, demo.Options{})
	id := addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6a05")
	mark := e.Mark()
	command(t, e, demo.Carol, demo.ChanUpload, id)
	waitEvent(t, e, mark, "the not-linked message", privateTo(demo.Carol, "not linked", "/mde-package login"))
	if n := len(e.MDE.Requests()); n != 0 {
		t.Errorf("Defender saw %d requests from an unlinked user", n)
	}
}

func TestPolicyRefusals(t *testing.T) {
	e, _ := start(t, demo.Options{Tune: func(c *configT) { c.Policy.Requesters = []string{demo.SOCLeads, demo.Alice} }})
	login(t, e, demo.Alice)
	login(t, e, demo.Carol)
	id := addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6a06")
	mark := e.Mark()
	command(t, e, demo.Alice, demo.ChanRandom, id)
	waitEvent(t, e, mark, "the channel refusal", privateTo(demo.Alice, "not one where investigation packages may be requested"))
	command(t, e, demo.Carol, demo.ChanUpload, id)
	waitEvent(t, e, mark, "the requester refusal", privateTo(demo.Carol, "not among the people allowed"))
	infos := len(e.Slack.Calls("conversations.info"))
	command(t, e, demo.Alice, "D0ALICEDM", id)
	waitEvent(t, e, mark, "the direct-message refusal", privateTo(demo.Alice, "not in direct messages"))
	if n := len(e.Slack.Calls("conversations.info")); n != infos {
		t.Errorf("a direct message was looked up with conversations.info (%d calls)", n-infos)
	}
	if n := len(e.MDE.Requests()); n != 0 {
		t.Errorf("Defender saw %d requests for refused requests", n)
	}
}

func TestNonCollectionActionRefused(t *testing.T) {
	e, _ := start(t, demo.Options{})
	login(t, e, demo.Alice)
	a := mdeAction("7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6a07")
	a.Type = "Isolate"
	e.MDE.AddAction(a)
	mark := e.Mark()
	command(t, e, demo.Alice, demo.ChanUpload, a.ID)
	waitEvent(t, e, mark, "the refusal", privateTo(demo.Alice, "Isolate", "not CollectInvestigationPackage"))
	if n := len(e.MDE.PackageURICalls()); n != 0 {
		t.Errorf("getPackageUri called %d times", n)
	}
}

// Anything unsigned, stale, forged or tampered gets 401 and causes nothing.
func TestSignatureRefusals(t *testing.T) {
	e, _ := start(t, demo.Options{})
	form := slackfake.CommandForm(slackfake.CommandParams{TeamID: e.Slack.TeamID(), ChannelID: demo.ChanUpload, UserID: demo.Alice, Text: "help"})
	body := []byte(form.Encode())
	now := time.Now()
	tests := []struct {
		name   string
		secret string
		at     time.Time
		body   []byte
		strip  bool
	}{
		{name: "forged", secret: "not-the-secret", at: now, body: body},
		{name: "stale", secret: e.Config.Slack.SigningSecret, at: now.Add(-6 * time.Minute), body: body},
		{name: "future", secret: e.Config.Slack.SigningSecret, at: now.Add(6 * time.Minute), body: body},
		{name: "tampered", secret: e.Config.Slack.SigningSecret, at: now, body: body},
		{name: "unsigned", strip: true, at: now, body: body},
	}
	before := len(e.Slack.Events())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := slackfake.SignedRequest(deadline(t, 5*time.Second), e.BaseURL+"/slack/commands", tt.secret, tt.body, tt.at)
			if err != nil {
				t.Fatal(err)
			}
			if tt.name == "tampered" {
				tampered := url.Values{}
				for k, v := range form {
					tampered[k] = v
				}
				tampered.Set("text", "get 7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6a01")
				req.Body = readCloser(tampered.Encode())
				req.ContentLength = int64(len(tampered.Encode()))
			}
			if tt.strip {
				req.Header.Del("X-Slack-Signature")
				req.Header.Del("X-Slack-Request-Timestamp")
			}
			resp, err := e.HTTP.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 401 {
				t.Errorf("status %d, want 401", resp.StatusCode)
			}
		})
	}
	time.Sleep(200 * time.Millisecond) // give any wrongly started work a moment to show itself
	if after := len(e.Slack.Events()); after != before {
		t.Errorf("refused requests caused %d Slack calls", after-before)
	}
	if n := len(e.MDE.Requests()); n != 0 {
		t.Errorf("refused requests caused %d Defender calls", n)
	}
}

// Defender's 403 for an analyst without the role reaches them in plain words
// with what to do, and nothing is fetched.
func TestForbiddenAnalystIsTold(t *testing.T) {
	e, _ := start(t, demo.Options{MDE: func(o *mdetest.Options) {
		allow := o.Authorize
		o.Authorize = func(token, method, path string) int {
			if strings.Contains(jwtPayload(token), "carol@contoso.com") {
				return 403
			}
			return allow(token, method, path)
		}
	}})
	login(t, e, demo.Carol)
	id := addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6a09")
	mark := e.Mark()
	command(t, e, demo.Carol, demo.ChanUpload, id)
	waitEvent(t, e, mark, "the refusal", privateTo(demo.Carol, "Defender refused this as you", "Alerts investigation", "Ask your Defender administrator"))
	if n := len(e.MDE.PackageURICalls()); n != 0 {
		t.Errorf("getPackageUri called %d times", n)
	}
}

// jwtPayload decodes the claims of an (unsigned, fake) JWT for matching.
func jwtPayload(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) < 2 {
		return ""
	}
	b, _ := base64.RawURLEncoding.DecodeString(parts[1])
	return string(b)
}
