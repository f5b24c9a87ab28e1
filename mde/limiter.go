package mde

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// QueueIdle is how long a queued key that stops asking keeps its place:
// after that its job is presumed dead and the key is dropped. Callers must
// ask again (Take) more often than this while they wait.
const QueueIdle = 2 * time.Minute

// MemoryLimiter rations one budget's calls within one process: a queue of
// keys served round-robin across users (JoinRound, ServeOrder) plus the history of
// granted calls, with ETAs from NextSlots (the same rules as the shared
// limiter). Safe for concurrent use.
type MemoryLimiter struct {
	limits Limits
	now    func() time.Time

	mu    sync.Mutex
	calls []time.Time
	queue []queued // join order
}

type queued struct {
	Waiter
	seen time.Time
}

// NewMemoryLimiter returns a limiter for l (a zero field means no limit on
// that window). now is the clock (nil: time.Now).
func NewMemoryLimiter(l Limits, now func() time.Time) *MemoryLimiter {
	if now == nil {
		now = time.Now
	}
	return &MemoryLimiter{limits: l, now: now}
}

// Take asks for a call slot for key, served for user (the Slack user the
// call is made for; a later Take may name another). A new key joins the
// queue in round JoinRound; a waiting key keeps its round and join time. At
// position p (0-based) of ServeOrder its
// ETA is NextSlots(history, now, l, p+1)[p]. When that ETA has come the call
// is counted, the key leaves the queue and the slot is Granted; otherwise
// the slot gives the 1-based position and the wait.
func (m *MemoryLimiter) Take(ctx context.Context, key, user string) (Slot, error) {
	if err := ctx.Err(); err != nil {
		return Slot{}, fmt.Errorf("limiter: %w", err)
	}
	if key == "" || user == "" {
		return Slot{}, errors.New("limiter: empty key or user")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	m.prune(now)
	joined := make([]Waiter, len(m.queue))
	for j, q := range m.queue {
		joined[j] = q.Waiter
	}
	i := slices.IndexFunc(m.queue, func(q queued) bool { return q.Key == key })
	if i < 0 {
		w := Waiter{Key: key, User: user, Round: JoinRound(joined, user)}
		m.queue, joined = append(m.queue, queued{Waiter: w}), append(joined, w)
		i = len(m.queue) - 1
	}
	m.queue[i].User, m.queue[i].seen = user, now
	joined[i].User = user
	p := ServePosition(joined, key)
	eta := NextSlots(m.calls, now, m.limits, p+1)[p]
	if eta.After(now) {
		return Slot{Position: p + 1, Wait: eta.Sub(now)}, nil
	}
	m.calls = append(m.calls, now)
	m.queue = slices.Delete(m.queue, i, i+1)
	return Slot{Granted: true}, nil
}

// Leave removes key from the queue.
func (m *MemoryLimiter) Leave(ctx context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.queue = slices.DeleteFunc(m.queue, func(q queued) bool { return q.Key == key })
	return nil
}

// QueueLen is the number of keys waiting.
func (m *MemoryLimiter) QueueLen(context.Context) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.prune(m.now())
	return len(m.queue), nil
}

// prune forgets calls older than the hour window and keys idle for QueueIdle.
func (m *MemoryLimiter) prune(now time.Time) {
	m.calls = slices.DeleteFunc(m.calls, func(c time.Time) bool { return now.Sub(c) >= time.Hour+WindowMargin })
	m.queue = slices.DeleteFunc(m.queue, func(q queued) bool { return now.Sub(q.seen) >= QueueIdle })
}
