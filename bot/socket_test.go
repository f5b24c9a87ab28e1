package bot

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdebot/mdebot/bot/slackfake"
	"github.com/mdebot/mdebot/handlers"
)

type socketEnv struct {
	fake *slackfake.Server
	h    *recHandler
	srv  *Server
	stop func() error // ends RunSocket and returns its result
}

func newSocketEnv(t *testing.T) *socketEnv { t.Helper(); return newSocketEnvWith(t, nil) }

// newSocketEnvWith is newSocketEnv with the server's options changed by mod.
func newSocketEnvWith(t *testing.T, mod func(*Options)) *socketEnv {
	t.Helper()
	fake := slackfake.New(slackfake.Options{})
	t.Cleanup(fake.Close)
	api := newTestSlack(t, fake, nil)
	h := newRecHandler()
	o := Options{OwnTeam: fake.TeamID(), Command: "/mde-package", Handler: h, CallbackHosts: []string{"127.0.0.1"}}
	if mod != nil {
		mod(&o)
	}
	srv := NewServer(o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.RunSocket(ctx, api) }()
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			runErr = waitChan(t, done, "RunSocket to return")
		})
		return runErr
	}
	t.Cleanup(func() { _ = stop() })
	waitEvent(t, fake, func(e slackfake.Event) bool { return e.Kind == slackfake.EventSocketConnected })
	return &socketEnv{fake: fake, h: h, srv: srv, stop: stop}
}

func sendCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func countEvents(fake *slackfake.Server, kind slackfake.EventKind) int {
	n := 0
	for _, e := range fake.Events() {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

func TestSocketMode(t *testing.T) {
	env := newSocketEnv(t)
	worked := make(chan string, 10)
	env.h.setCommand(func(c handlers.Command) handlers.Ack {
		return handlers.Ack{
			Reply: &handlers.Message{Header: handlers.T("Looking up " + c.Text)},
			Work:  func(context.Context) { worked <- c.Text },
		}
	})
	env.h.setClick(func(handlers.Click) handlers.Ack {
		return handlers.Ack{Reply: &handlers.Message{Text: handlers.T("Approval recorded.")}}
	})

	// A slash command is acked with the reply as payload, then its work runs.
	payload, err := env.fake.SendSlashCommand(sendCtx(t), slackfake.CommandParams{
		ChannelID: "C1", ChannelName: "inc-1", UserID: "U1", UserName: "alice", Text: "status abc",
	})
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		ResponseType string            `json:"response_type"`
		Text         string            `json:"text"`
		Blocks       []json.RawMessage `json:"blocks"`
	}
	if err := json.Unmarshal(payload, &r); err != nil || r.ResponseType != "ephemeral" || r.Text != "Looking up status abc" || len(r.Blocks) == 0 {
		t.Fatalf("ack payload %s (%v)", payload, err)
	}
	if got := waitChan(t, worked, "command work"); got != "status abc" {
		t.Fatalf("work for %q", got)
	}
	c := env.h.Commands()[0]
	if c.Team != slackfake.DefaultTeamID || c.Channel != "C1" || c.User != "U1" || c.ResponseURL == "" || c.RequestID == "" {
		t.Fatalf("command %+v", c)
	}

	// A click is acked empty; its reply goes to the response_url.
	payload, err = env.fake.SendInteractive(sendCtx(t), slackfake.ClickParams{
		UserID: "U2", ChannelID: "C1", MessageTS: "1700000000.000001", ActionID: handlers.ActionApprove, Value: "req-1",
	})
	if err != nil || len(payload) != 0 {
		t.Fatalf("click ack payload %q (%v), want none", payload, err)
	}
	if cl := env.h.Clicks(); len(cl) != 1 || cl[0].ActionID != handlers.ActionApprove || cl[0].Value != "req-1" || cl[0].MessageTS != "1700000000.000001" {
		t.Fatalf("clicks %+v", cl)
	}
	waitEvent(t, env.fake, func(e slackfake.Event) bool {
		return e.Kind == slackfake.EventResponse && e.Response.Text == "Approval recorded."
	})

	// A dropped connection is re-established and the next envelope handled.
	env.fake.DropConnections()
	if _, err := env.fake.SendSlashCommand(sendCtx(t), slackfake.CommandParams{ChannelID: "C1", UserID: "U1", Text: "after drop"}); err != nil {
		t.Fatalf("after the drop: %v", err)
	}
	if got := waitChan(t, worked, "work after reconnect"); got != "after drop" {
		t.Fatalf("work for %q", got)
	}
	if n := countEvents(env.fake, slackfake.EventSocketConnected); n < 2 {
		t.Fatalf("%d connections, want a reconnect", n)
	}

	// Clean shutdown: RunSocket returns nil, background work is drained.
	if err := env.stop(); err != nil {
		t.Fatalf("RunSocket: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := env.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, env.fake, func(slackfake.Event) bool { return env.fake.Connections() == 0 })
}

func TestSocketAllowedTeams(t *testing.T) {
	env := newSocketEnv(t)
	payload, err := env.fake.SendSlashCommand(sendCtx(t), slackfake.CommandParams{TeamID: "T0BAD", ChannelID: "C1", UserID: "U1", Text: "help"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(payload), "not allowed") || len(env.h.Commands()) != 0 {
		t.Fatalf("foreign team not refused: payload %s, handler calls %d", payload, len(env.h.Commands()))
	}
}

// A reply over Slack's 20 KB Socket Mode limit is acked empty and sent to the response_url.
func TestSocketLargeReply(t *testing.T) {
	env := newSocketEnv(t)
	long := strings.Repeat("word ", 5000)
	env.h.setCommand(func(handlers.Command) handlers.Ack {
		return handlers.Ack{Reply: &handlers.Message{Header: handlers.T("Help"), Text: handlers.T(long)}}
	})
	payload, err := env.fake.SendSlashCommand(sendCtx(t), slackfake.CommandParams{ChannelID: "C1", UserID: "U1", Text: "help"})
	if err != nil || len(payload) != 0 {
		t.Fatalf("ack payload of %d bytes (%v), want an empty ack", len(payload), err)
	}
	e := waitEvent(t, env.fake, func(e slackfake.Event) bool { return e.Kind == slackfake.EventResponse })
	if !strings.HasPrefix(e.Response.Text, "Help\nword word") {
		t.Fatalf("reply not posted to the response_url: %.80q", e.Response.Text)
	}
}

// Shutting down while envelopes are in flight must not panic (slack-go issue 1125).
func TestSocketShutdownUnderLoad(t *testing.T) {
	env := newSocketEnv(t)
	env.h.setCommand(func(handlers.Command) handlers.Ack {
		return handlers.Ack{Reply: &handlers.Message{Text: handlers.T("ok")}, Work: func(ctx context.Context) {
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Millisecond):
			}
		}}
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := 0; ctx.Err() == nil; j++ {
				sctx, scancel := context.WithTimeout(ctx, 2*time.Second)
				_, _ = env.fake.SendSlashCommand(sctx, slackfake.CommandParams{ChannelID: "C1", UserID: "U1", Text: "x"})
				scancel()
				if i == 0 && j == 5 {
					env.fake.DropConnections()
				}
			}
		})
	}
	// Let some envelopes through before stopping.
	for len(env.h.Commands()) < 30 {
		waitChan(t, env.h.calls, "commands under load")
	}
	if err := env.stop(); err != nil {
		t.Fatalf("RunSocket: %v", err)
	}
	cancel()
	wg.Wait()
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	if err := env.srv.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
}

func TestRunSocketErrors(t *testing.T) {
	fake := slackfake.New(slackfake.Options{})
	t.Cleanup(fake.Close)
	srv := NewServer(Options{OwnTeam: fake.TeamID(), Handler: newRecHandler()})
	tests := []struct {
		name    string
		api     *Slack
		wantErr string
	}{
		{"no client", nil, "needs a Slack client"},
		{"no app token", newTestSlack(t, fake, func(o *SlackOptions) { o.AppToken = "" }), "slack.app_token"},
		{"app token refused", newTestSlack(t, fake, func(o *SlackOptions) { o.AppToken = "xapp-wrong" }), "invalid_auth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := srv.RunSocket(ctx, tt.api)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want an error with %q", err, tt.wantErr)
			}
		})
	}
}
