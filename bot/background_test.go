package bot

import (
	"context"
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
