package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/mdebot/mdebot/bot/slackfake"
	"github.com/mdebot/mdebot/demo"
	"github.com/mdebot/mdebot/handlers"
)

// The default transport: Socket Mode envelopes in, the same handlers, the
// same delivery; approvals clicked over the socket too.
func TestSocketModeEndToEnd(t *testing.T) {
	e, _ := start(t, demo.Options{Mode: "socket"})
	login(t, e, demo.Alice) // the sign-in callback is still served over HTTP
	waitUntil(t, 10*time.Second, "the socket connection", func() bool { return e.Slack.Connections() > 0 })
	id := addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f9b01")
	mark := e.Mark()
	ack, err := e.Slack.SendSlashCommand(deadline(t, 10*time.Second), slackfake.CommandParams{
		TeamID: e.Slack.TeamID(), ChannelID: demo.ChanApproval, ChannelName: demo.ChannelName(demo.ChanApproval),
		UserID: demo.Alice, UserName: "alice", Text: id, ResponseURL: e.Slack.ResponseURL(demo.Alice + "-socket"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ack), id) {
		t.Errorf("the envelope's ack payload %s does not answer the command", ack)
	}
	msg := waitEvent(t, e, mark, "the approval message", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventMessage && hasButton(ev, handlers.ActionApprove)
	})
	if _, err := e.Slack.SendInteractive(deadline(t, 10*time.Second), slackfake.ClickParams{
		TeamID: e.Slack.TeamID(), UserID: demo.Bob, UserName: "bob", ChannelID: demo.ChanApproval,
		MessageTS: msg.Message.TS, ActionID: handlers.ActionApprove, Value: buttonValue(msg, handlers.ActionApprove),
		ResponseURL: e.Slack.ResponseURL(demo.Bob + "-socket"),
	}); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, e, mark, "the upload after the approval", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventFileShared && ev.Upload.ThreadTS == msg.Message.TS
	})
}
