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

// MemoryLimiter rations getPackageUri calls within one process: a FIFO queue
// of keys plus the history of granted calls, with ETAs from NextSlots (the
// same rule as the shared limiter). Safe for concurrent use.
type MemoryLimiter struct {
	limits Limits
	now    func() time.Time

	mu    sync.Mutex
	calls []time.Time
	queue []queued
}

type queued struct {
	key  string
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

// Take asks for a call slot for key. The key takes (or keeps) its place in
// the queue; at position p (0-based) its ETA is NextSlots(history, now, l,
// p+1)[p]. When that ETA has come the call is counted, the key leaves the
// queue and the slot is Granted; otherwise the slot gives the 1-based
// position and the wait.
func (m *MemoryLimiter) Take(ctx context.Context, key string) (Slot, error) {
	if err := ctx.Err(); err != nil {
		return Slot{}, fmt.Errorf("limiter: %w", err)
	}
	if key == "" {
		return Slot{}, errors.New("limiter: empty key")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	m.prune(now)
	p := slices.IndexFunc(m.queue, func(q queued) bool { return q.key == key })
	if p < 0 {
		m.queue = append(m.queue, queued{key: key})
		p = len(m.queue) - 1
	}
	m.queue[p].seen = now
	eta := NextSlots(m.calls, now, m.limits, p+1)[p]
	if eta.After(now) {
		return Slot{Position: p + 1, Wait: eta.Sub(now)}, nil
	}
	m.calls = append(m.calls, now)
	m.queue = slices.Delete(m.queue, p, p+1)
	return Slot{Granted: true}, nil
}

// Leave removes key from the queue.
func (m *MemoryLimiter) Leave(ctx context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.queue = slices.DeleteFunc(m.queue, func(q queued) bool { return q.key == key })
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
