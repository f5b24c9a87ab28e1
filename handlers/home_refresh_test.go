package handlers

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// publishLog records publishes; block, when set, holds each publish until
// a value arrives.
type publishLog struct {
	mu     sync.Mutex
	starts map[string][]time.Time
	all    []time.Time
	block  chan struct{}
	began  chan string
}

func newPublishLog(block bool) *publishLog {
	p := &publishLog{starts: map[string][]time.Time{}, began: make(chan string, 100)}
	if block {
		p.block = make(chan struct{})
	}
	return p
}

func (p *publishLog) publish(ctx context.Context, _, user string) error {
	p.mu.Lock()
	now := time.Now()
	p.starts[user] = append(p.starts[user], now)
	p.all = append(p.all, now)
	p.mu.Unlock()
	p.began <- user
	if p.block != nil {
		select {
		case <-p.block:
		case <-ctx.Done():
		}
	}
	return nil
}

func (p *publishLog) count(user string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.starts[user])
}

func waitBegan(t *testing.T, p *publishLog, user string) {
	t.Helper()
	for {
		select {
		case u := <-p.began:
			if u == user {
				return
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no publish for %s", user)
		}
	}
}

func noGroups(context.Context, string) ([]string, error) { return nil, nil }

// Touches while a publish runs fold into one more publish, no sooner than
// `every` after the last one ended; other users are not held back.
func TestHomeRefresherCoalesces(t *testing.T) {
	p := newPublishLog(true)
	const every = 100 * time.Millisecond
	h := newHomeRefresher(every, time.Millisecond, slog.New(slog.DiscardHandler), p.publish, noGroups)
	defer h.close()

	h.touch("T1", "U1")
	waitBegan(t, p, "U1")
	for range 10 {
		h.touch("T1", "U1")
	}
	h.touch("T1", "U2") // another user's tab is not held by U1's
	waitBegan(t, p, "U2")
	p.block <- struct{}{} // one of the two publishes ends
	p.block <- struct{}{} // and the other
	ended := time.Now()
	waitBegan(t, p, "U1")
	p.mu.Lock()
	second := p.starts["U1"][1]
	p.mu.Unlock()
	if gap := second.Sub(ended); gap < every-5*time.Millisecond {
		t.Errorf("the folded publish began %s after the first ended, want at least %s", gap, every)
	}
	p.block <- struct{}{}
	time.Sleep(3 * every) // room for a wrong third publish
	if n := p.count("U1"); n != 2 {
		t.Errorf("U1 published %d times for 11 touches during one publish, want 2", n)
	}
	if n := p.count("U2"); n != 1 {
		t.Errorf("U2 published %d times, want 1", n)
	}
}

// Publishes for many users are spaced across all of them (Slack's rate
// limit is per workspace), and close cancels what is only scheduled.
func TestHomeRefresherPacesAndCloses(t *testing.T) {
	p := newPublishLog(false)
	const spacing = 40 * time.Millisecond
	members := func(_ context.Context, group string) ([]string, error) { return []string{"U2", "U3"}, nil }
	h := newHomeRefresher(time.Hour, spacing, slog.New(slog.DiscardHandler), p.publish, members)
	h.touchAll("T1", []string{"U1", "S1", "U4"})
	for _, u := range []string{"U1", "U2", "U3", "U4"} {
		deadline := time.Now().Add(5 * time.Second)
		for p.count(u) == 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if p.count(u) != 1 {
			t.Fatalf("%s published %d times, want 1 (group members included)", u, p.count(u))
		}
	}
	p.mu.Lock()
	all := append([]time.Time(nil), p.all...)
	p.mu.Unlock()
	for i := 1; i < len(all); i++ {
		if gap := all[i].Sub(all[i-1]); gap < spacing-5*time.Millisecond {
			t.Errorf("publishes %d and %d began %s apart, want at least %s", i-1, i, gap, spacing)
		}
	}
	h.touch("T1", "U1") // published just now: scheduled an hour later
	h.close()
	h.touch("T1", "U1")
	if n := p.count("U1"); n != 1 {
		t.Errorf("U1 published %d times after close, want 1", n)
	}
}
