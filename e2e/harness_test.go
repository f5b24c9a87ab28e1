// Package e2e drives the real bot over signed HTTP (and Socket Mode) against
// the fakes of Slack, Entra ID and Defender, as Slack and people would.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdebot/mdebot/bot/slackfake"
	"github.com/mdebot/mdebot/config"
	"github.com/mdebot/mdebot/demo"
	"github.com/mdebot/mdebot/mde"
	"github.com/mdebot/mdebot/mde/mdetest"
)

// syncBuffer collects the bot's logs for assertions (the secrets audit reads them).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs a bot against fresh fakes for one test.
func start(t *testing.T, o demo.Options) (*demo.Env, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	if o.Log == nil {
		o.Log = logs
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e, err := demo.Start(ctx, o)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		e.Close()
		if t.Failed() && os.Getenv("MDEBOT_E2E_LOGS") != "" {
			t.Logf("bot logs:\n%s", logs.String())
		}
	})
	return e, logs
}

// deadline is a context for one end-to-end step.
func deadline(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// login links user or fails the test.
func login(t *testing.T, e *demo.Env, user string) {
	t.Helper()
	page, err := e.Login(deadline(t, 20*time.Second), user)
	if err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	if !strings.Contains(page, "linked") {
		t.Fatalf("callback page does not say linked: %s", page)
	}
}

// command types a slash command and expects Slack's 200.
func command(t *testing.T, e *demo.Env, user, channel, text string) *demo.Ack {
	t.Helper()
	a, err := e.Command(deadline(t, 10*time.Second), user, channel, text)
	if err != nil {
		t.Fatalf("command %q: %v", text, err)
	}
	if a.Status != 200 {
		t.Fatalf("command %q answered %d: %s", text, a.Status, a.Body)
	}
	return a
}

// waitEvent waits for a Slack event after mark matching pred.
func waitEvent(t *testing.T, e *demo.Env, mark int, what string, pred func(slackfake.Event) bool) slackfake.Event {
	t.Helper()
	return waitEventFor(t, e, mark, 30*time.Second, what, pred)
}

// waitEventFor is waitEvent with its own time limit.
func waitEventFor(t *testing.T, e *demo.Env, mark int, d time.Duration, what string, pred func(slackfake.Event) bool) slackfake.Event {
	t.Helper()
	ev, err := e.WaitAfter(deadline(t, d), mark, pred)
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
	return ev
}

// privateTo matches a private message (ephemeral, response_url or DM) to user containing all words.
func privateTo(user string, words ...string) func(slackfake.Event) bool {
	return func(ev slackfake.Event) bool {
		var text string
		switch {
		case ev.Kind == slackfake.EventEphemeral && ev.Message.User == user,
			ev.Kind == slackfake.EventMessage && ev.Message.DMUser == user,
			ev.Kind == slackfake.EventResponse && strings.HasPrefix(ev.Response.ID, user):
			text = textOf(ev)
		default:
			return false
		}
		for _, w := range words {
			if !strings.Contains(text, w) {
				return false
			}
		}
		return true
	}
}

// addAction registers a collection action of the demo workstation with a status script.
func addAction(e *demo.Env, id string, steps ...mdetest.Step) string {
	return e.MDE.AddAction(mdeAction(id), steps...)
}

func mdeAction(id string) mde.MachineAction {
	return mde.MachineAction{ID: id, Type: mde.TypeCollectInvestigationPackage, MachineID: demo.MachineWS, Status: mde.StatusSucceeded}
}

type configT = config.Config

func readCloser(s string) io.ReadCloser { return io.NopCloser(strings.NewReader(s)) }

// hasButton reports whether a message carries a button with this action id.
func hasButton(ev slackfake.Event, actionID string) bool {
	_, ok := demo.Button(ev, actionID)
	return ok
}

// buttonValue is the value of the button with this action id.
func buttonValue(ev slackfake.Event, actionID string) string {
	v, _ := demo.Button(ev, actionID)
	return v
}

// textOf is a message's fallback text and its blocks' JSON with Go's HTML
// escapes undone, so <@U…> mentions can be matched.
func textOf(ev slackfake.Event) string {
	var text string
	var blocks json.RawMessage
	switch {
	case ev.Message != nil:
		text, blocks = ev.Message.Text, ev.Message.Blocks
	case ev.Response != nil:
		text, blocks = ev.Response.Text, ev.Response.Blocks
	}
	r := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&")
	return text + "\n" + r.Replace(string(blocks))
}
