package slackfake_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/mdebot/mdebot/bot/slackfake"
)

// Every envelope type can be sent and redelivered: the redelivery has the
// same envelope_id and payload, retry_attempt 1 and retry_reason "timeout".
func TestSocketRedelivery(t *testing.T) {
	fake, api := newFake(t, slackfake.Options{})
	c := dialSocket(t, api)
	defer c.Close()
	tests := []struct {
		name, typ, payloadType string
		accepts                bool
		send                   func(context.Context) error
	}{
		{"event", "events_api", "event_callback", false, func(ctx context.Context) error {
			_, err := fake.SendEvent(ctx, fake.AppHomeOpened(slackfake.HomeOpenedParams{UserID: "U1"}))
			return err
		}},
		{"slash command", "slash_commands", "", true, func(ctx context.Context) error {
			_, err := fake.SendSlashCommand(ctx, slackfake.CommandParams{ChannelID: "C1", UserID: "U1", Text: "help"})
			return err
		}},
		{"click", "interactive", "block_actions", true, func(ctx context.Context) error {
			_, err := fake.SendInteractive(ctx, slackfake.ClickParams{UserID: "U1", ChannelID: "C1", ActionID: "mdebot_approve"})
			return err
		}},
		{"message shortcut", "interactive", "message_action", false, func(ctx context.Context) error {
			_, err := fake.SendMessageAction(ctx, slackfake.ShortcutParams{UserID: "U1", ChannelID: "C1", Text: "host-7"})
			return err
		}},
	}
	// read reads one envelope and acks it.
	read := func(t *testing.T) envelope {
		t.Helper()
		var env envelope
		if err := c.ReadJSON(&env); err != nil {
			t.Fatal(err)
		}
		if err := c.WriteJSON(map[string]string{"envelope_id": env.EnvelopeID}); err != nil {
			t.Fatal(err)
		}
		return env
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() { done <- tt.send(ctx(t)) }()
			first := read(t)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			var head struct {
				Type string `json:"type"`
			}
			_ = json.Unmarshal(first.Payload, &head)
			if first.Type != tt.typ || head.Type != tt.payloadType || first.RetryAttempt != 0 || first.RetryReason != "" ||
				first.AcceptsResponsePayload != tt.accepts {
				t.Fatalf("first delivery %+v (payload type %q)", first, head.Type)
			}

			var acked slackfake.Acked
			go func() {
				var err error
				acked, err = fake.Redeliver(ctx(t), first.EnvelopeID)
				done <- err
			}()
			again := read(t)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if again.EnvelopeID != first.EnvelopeID || again.Type != tt.typ || again.RetryAttempt != 1 || again.RetryReason != "timeout" ||
				!bytes.Equal(again.Payload, first.Payload) || acked.EnvelopeID != first.EnvelopeID {
				t.Fatalf("redelivery %+v (acked %+v), first %+v", again, acked, first)
			}
			var sent []slackfake.Envelope
			for _, e := range fake.Envelopes(tt.typ) {
				if e.ID == first.EnvelopeID {
					sent = append(sent, e)
				}
			}
			if len(sent) != 2 || sent[0].RetryAttempt != 0 || sent[1].RetryAttempt != 1 {
				t.Fatalf("recorded envelopes %+v", sent)
			}
		})
	}
	if _, err := fake.Redeliver(ctx(t), "env-unknown"); err == nil {
		t.Fatal("redelivering an unknown envelope succeeded")
	}
	if _, err := fake.SendEvent(ctx(t), slackfake.URLVerification("x")); err == nil {
		t.Fatal("url_verification sent over Socket Mode")
	}
}

// slack-go's own Socket Mode client reads the events_api and message_action
// envelopes, and sees the redelivery's retry_attempt.
func TestSocketEnvelopesWithSlackGo(t *testing.T) {
	fake, api := newFake(t, slackfake.Options{})
	client := socketmode.New(api)
	runCtx, stop := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- client.RunContext(runCtx) }()
	defer func() {
		stop()
		<-ran
	}()
	next := func(want socketmode.EventType) socketmode.Event {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case evt := <-client.Events:
				if evt.Type != want {
					continue // connecting, hello, ...
				}
				if evt.Request != nil {
					client.Ack(*evt.Request)
				}
				return evt
			case <-deadline:
				t.Fatalf("no %s event", want)
			}
		}
	}

	ev, exec := fake.FunctionExecuted(slackfake.FunctionParams{CallbackID: "collect_investigation_package", Inputs: map[string]any{"device": "host-1"}})
	sent := make(chan slackfake.Acked, 2)
	go func() {
		a, _ := fake.SendEvent(ctx(t), ev)
		sent <- a
	}()
	evt := next(socketmode.EventTypeEventsAPI)
	outer, ok := evt.Data.(slackevents.EventsAPIEvent)
	if !ok {
		t.Fatalf("events_api data %T", evt.Data)
	}
	fe, ok := outer.InnerEvent.Data.(*slackevents.FunctionExecutedEvent)
	if !ok || fe.FunctionExecutionID != exec.ID || fe.BotAccessToken != exec.Token || evt.Request.RetryAttempt != 0 {
		t.Fatalf("function_executed over Socket Mode %+v / %+v", outer, fe)
	}
	first := <-sent
	go func() {
		a, _ := fake.Redeliver(ctx(t), first.EnvelopeID)
		sent <- a
	}()
	evt = next(socketmode.EventTypeEventsAPI)
	if evt.Request.EnvelopeID != first.EnvelopeID || evt.Request.RetryAttempt != 1 || evt.Request.RetryReason != "timeout" {
		t.Fatalf("redelivered request %+v", evt.Request)
	}
	<-sent

	go func() {
		a, _ := fake.SendMessageAction(ctx(t), slackfake.ShortcutParams{UserID: "U1", ChannelID: "C1", Text: "host-7"})
		sent <- a
	}()
	evt = next(socketmode.EventTypeInteractive)
	cb, ok := evt.Data.(slack.InteractionCallback)
	if !ok || cb.Type != slack.InteractionTypeMessageAction || cb.CallbackID != slackfake.DefaultShortcutID || cb.Message.Text != "host-7" ||
		cb.Team.ID != fake.TeamID() || cb.ResponseURL == "" {
		t.Fatalf("message_action over Socket Mode %+v", cb)
	}
	if a := <-sent; a.EnvelopeID != evt.Request.EnvelopeID {
		t.Fatalf("ack for %s, sent %s", a.EnvelopeID, evt.Request.EnvelopeID)
	}
}
