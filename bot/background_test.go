package bot

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mdebot/mdebot/bot/slackfake"
	"github.com/mdebot/mdebot/handlers"
)

// A burst of commands is acknowledged at once, but no more than
// MaxBackground units of their work run at the same time; all of it runs.
func TestBackgroundWorkIsBounded(t *testing.T) {
	env := newHTTPEnv(t, func(o *Options) { o.MaxBackground = 2 })
	var running, peak, done atomic.Int32
	release := make(chan struct{})
	env.h.setCommand(func(handlers.Command) handlers.Ack {
		return handlers.Ack{Work: func(ctx context.Context) {
			n := running.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			<-release
			running.Add(-1)
			done.Add(1)
		}}
	})
	for i := range 6 {
		if status, body := env.send(t, "/slack/commands", slackfake.CommandForm(env.command("help"))); status != http.StatusOK {
			t.Fatalf("command %d: %d %s", i, status, body)
		}
	}
	// Let every spawned unit reach the gate, then check the bound.
	time.Sleep(200 * time.Millisecond)
	if r := running.Load(); r != 2 {
		t.Fatalf("%d units running with MaxBackground 2", r)
	}
	close(release)
	for end := time.Now().Add(10 * time.Second); done.Load() < 6; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("only %d of 6 units ran", done.Load())
		}
	}
	if p := peak.Load(); p != 2 {
		t.Errorf("peak concurrency %d, want 2", p)
	}
}

// gate is work that counts itself running until released (or its context ends).
type gate struct {
	running, peak, done atomic.Int32
	release             chan struct{}
}

func newGate() *gate { return &gate{release: make(chan struct{})} }

func (g *gate) work(ctx context.Context) {
	n := g.running.Add(1)
	for p := g.peak.Load(); n > p && !g.peak.CompareAndSwap(p, n); p = g.peak.Load() {
	}
	select {
	case <-g.release:
	case <-ctx.Done():
	}
	g.running.Add(-1)
	g.done.Add(1)
}

func (g *gate) waitRunning(t *testing.T, n int32) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); g.running.Load() < n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("%d units running, want %d", g.running.Load(), n)
		}
	}
}

func (e *httpEnv) commandAs(t *testing.T, user string) {
	t.Helper()
	p := e.command("help")
	p.UserID = user
	if status, body := e.send(t, "/slack/commands", slackfake.CommandForm(p)); status != http.StatusOK {
		t.Fatalf("command: %d %s", status, body)
	}
}

// Commands filling their capacity leave an approver's click its own.
func TestClicksNotStarvedByCommands(t *testing.T) {
	env := newHTTPEnv(t, func(o *Options) { o.MaxBackground, o.MaxClickBackground = 2, 1 })
	g := newGate()
	t.Cleanup(func() { close(g.release) })
	env.h.setCommand(func(handlers.Command) handlers.Ack { return handlers.Ack{Work: g.work} })
	clicked := make(chan struct{})
	env.h.setClick(func(handlers.Click) handlers.Ack {
		return handlers.Ack{Work: func(context.Context) { close(clicked) }}
	})
	for _, u := range []string{"U1", "U2", "U3", "U4"} {
		env.commandAs(t, u)
	}
	g.waitRunning(t, 2)
	status, _ := env.send(t, "/slack/interactivity", slackfake.BlockActionsPayload(slackfake.ClickParams{
		TeamID: env.fake.TeamID(), UserID: "U9", ChannelID: "C1", MessageTS: "1.2", ActionID: handlers.ActionApprove, Value: "r1",
	}))
	if status != http.StatusOK {
		t.Fatalf("click answered %d", status)
	}
	waitChan(t, clicked, "the click's work while commands hold every command slot")
	if r := g.running.Load(); r != 2 {
		t.Fatalf("%d command units running, want 2", r)
	}
}

// One user's burst takes at most MaxPerUser slots; another user still runs.
func TestBackgroundBoundedPerUser(t *testing.T) {
	env := newHTTPEnv(t, func(o *Options) { o.MaxBackground, o.MaxPerUser = 8, 2 })
	g := newGate()
	other := make(chan struct{})
	env.h.setCommand(func(c handlers.Command) handlers.Ack {
		if c.User == "U2" {
			return handlers.Ack{Work: func(context.Context) { close(other) }}
		}
		return handlers.Ack{Work: g.work}
	})
	for range 5 {
		env.commandAs(t, "U1")
	}
	g.waitRunning(t, 2)
	env.commandAs(t, "U2")
	waitChan(t, other, "another user's work")
	time.Sleep(100 * time.Millisecond) // would a third unit of U1 start?
	if p := g.peak.Load(); p != 2 {
		t.Fatalf("U1 peaked at %d units, want 2", p)
	}
	close(g.release)
	for end := time.Now().Add(10 * time.Second); g.done.Load() < 5; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("U1's queued units did not all run")
		}
	}
}

// Each unit's context ends at WorkTimeout, counted from the acknowledgement.
func TestBackgroundDeadline(t *testing.T) {
	env := newHTTPEnv(t, func(o *Options) { o.WorkTimeout = 300 * time.Millisecond })
	ended := make(chan error, 1)
	env.h.setCommand(func(handlers.Command) handlers.Ack {
		return handlers.Ack{Work: func(ctx context.Context) {
			<-ctx.Done()
			ended <- ctx.Err()
		}}
	})
	start := time.Now()
	env.commandAs(t, "U1")
	err := waitChan(t, ended, "the deadline")
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("work ended with %v after %s, want its deadline", err, time.Since(start))
	}
}

// Shutdown past its budget cancels the work and still waits for it to
// return, so that the caller can close the store after it.
func TestShutdownWaitsForCancelledWork(t *testing.T) {
	env := newHTTPEnv(t, nil)
	var returned atomic.Bool
	started := make(chan struct{})
	env.h.setCommand(func(handlers.Command) handlers.Ack {
		return handlers.Ack{Work: func(ctx context.Context) {
			close(started)
			<-ctx.Done()
			time.Sleep(100 * time.Millisecond) // winding down takes a moment
			returned.Store(true)
		}}
	})
	env.commandAs(t, "U1")
	waitChan(t, started, "the work")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := env.srv.Shutdown(ctx)
	if err == nil || !returned.Load() {
		t.Fatalf("Shutdown = %v with the work returned=%v; want a deadline error after the work returned", err, returned.Load())
	}
}
