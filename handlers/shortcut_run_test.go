package handlers_test

import (
	"context"
	"strings"
	"testing"

	"github.com/mdebot/mdebot/handlers"
	"github.com/mdebot/mdebot/store"
)

// The message shortcut offers privately what the message names, one button
// each; a click runs it as the clicker typing it, the usual path on.
func TestShortcutOfferAndRun(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() *store.DB) {
		e := newSurfaceEnv(t, open())
		ctx := context.Background()
		run(e.svc.Shortcut(ctx, handlers.Shortcut{RequestID: "sc-1", Team: team, Channel: "C0OTHER01", User: requester,
			CallbackID: handlers.ShortcutCallback, Text: "Defender: suspicious process on " + deviceName + " (device " + deviceID + ")"}))
		offers := e.msgs.to(requester, "names 2 things to fetch")
		if len(offers) != 1 {
			t.Fatalf("no offer of both: %+v", e.msgs.to(requester, ""))
		}
		var values []string
		for _, b := range offers[0].Buttons {
			if b.ActionID != handlers.ActionFromMessage {
				t.Fatalf("button %+v", b)
			}
			values = append(values, b.Value)
		}
		if strings.Join(values, "|") != "collect "+deviceName+"|collect "+deviceID {
			t.Fatalf("offered %q", values)
		}

		run(e.svc.Click(ctx, handlers.Click{RequestID: "0123456789abcdefsc", Team: team, Channel: "C0OTHER01", User: requester,
			ActionID: handlers.ActionFromMessage, Value: values[0]}))
		r := e.get(t, "0123456789abcdefsc")
		if r.State != handlers.StateAwaitingConfirmation || r.MachineID != deviceID || r.User != requester || r.Channel != "C0OTHER01" {
			t.Fatalf("request %+v, want a collect awaiting its confirmation", r)
		}
		if len(e.msgs.to(requester, "Collect an investigation package from "+deviceName)) == 0 {
			t.Error("the usual confirmation was not shown")
		}

		for _, bad := range []string{"logout", "status 7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6a01", "collect bad_host!"} {
			n := len(e.msgs.to(outsider, "That did not work"))
			run(e.svc.Click(ctx, handlers.Click{RequestID: "sc-bad", Team: team, Channel: "C0OTHER01", User: outsider,
				ActionID: handlers.ActionFromMessage, Value: bad}))
			if len(e.msgs.to(outsider, "That did not work")) != n+1 {
				t.Errorf("button value %q was not refused", bad)
			}
		}

		n := len(e.msgs.to(outsider, "That did not work"))
		run(e.svc.Click(ctx, handlers.Click{RequestID: "sc-home", Team: team, User: outsider, Surface: handlers.SurfaceHome,
			ActionID: handlers.ActionFromMessage, Value: values[0]}))
		if len(e.msgs.to(outsider, "That did not work")) != n+1 {
			t.Error("a shortcut's button clicked without a channel was not refused")
		}

		run(e.svc.Shortcut(ctx, handlers.Shortcut{Team: team, Channel: channel, User: outsider, CallbackID: handlers.ShortcutCallback, Text: "hello"}))
		if len(e.msgs.to(outsider, "Nothing to fetch")) != 1 {
			t.Error("a message naming nothing was not answered")
		}
		if ack := e.svc.Shortcut(ctx, handlers.Shortcut{CallbackID: "other"}); ack.Reply == nil || ack.Work != nil {
			t.Errorf("another shortcut: %+v", ack)
		}
	})
}

func TestShortcutTurnedOff(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() *store.DB) {
		e := newEnv(t, open())
		ack := e.svc.Shortcut(context.Background(), handlers.Shortcut{CallbackID: handlers.ShortcutCallback, Text: deviceID})
		if ack.Reply == nil || !strings.Contains(ack.Reply.Header.Plain(), "turned off") || ack.Work != nil {
			t.Fatalf("ack %+v", ack)
		}
	})
}
