package handlers

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// homeRefresher republishes Home tabs when something they show changes,
// coalesced so that Slack's limit on views.publish (Tier 4, about 100 a
// minute per workspace) is never the bot's problem: one user's tab is
// published at most once per `every` (changes meanwhile set a pending flag
// and make one more publish after it), and publishes are spaced by `spacing`
// across all users. Publishing runs in its own goroutines, never on the path
// that acknowledges Slack. Each replica paces its own publishes; Slack's 429s
// are waited out by the client.
type homeRefresher struct {
	every, spacing time.Duration
	publish        func(ctx context.Context, team, user string) error
	members        func(ctx context.Context, group string) ([]string, error)
	log            *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	users    map[string]*homeUser
	nextSlot time.Time // the earliest instant the next publish may start
}

// homeUser is one user's refresh state.
type homeUser struct {
	team, user string
	last       time.Time   // when the last publish ended
	running    bool        // a publish is under way
	pending    bool        // something changed since the running or scheduled publish began
	timer      *time.Timer // the scheduled publish
}

// maxHomeUsers bounds the users remembered; idle ones are forgotten beyond it.
const maxHomeUsers = 1000

func newHomeRefresher(every, spacing time.Duration, log *slog.Logger,
	publish func(ctx context.Context, team, user string) error,
	members func(ctx context.Context, group string) ([]string, error)) *homeRefresher {
	ctx, cancel := context.WithCancel(context.Background())
	return &homeRefresher{every: every, spacing: spacing, publish: publish, members: members, log: log,
		ctx: ctx, cancel: cancel, users: map[string]*homeUser{}}
}

// touch asks for user's tab to be published again: now, or once its last
// publish is `every` old. Touches that come while one is scheduled or
// running are folded into one more publish.
func (h *homeRefresher) touch(team, user string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ctx.Err() != nil {
		return
	}
	key := team + ":" + user
	u := h.users[key]
	if u == nil {
		h.prune()
		u = &homeUser{team: team, user: user}
		h.users[key] = u
	}
	if u.running || u.timer != nil {
		u.pending = true
		return
	}
	h.schedule(u, time.Until(u.last.Add(h.every)))
}

// touchAll touches each user of ids, and the members of each user group
// among them (looked up in the background).
func (h *homeRefresher) touchAll(team string, ids []string) {
	for _, id := range ids {
		if !strings.HasPrefix(id, "S") {
			h.touch(team, id)
			continue
		}
		h.mu.Lock()
		if h.ctx.Err() != nil {
			h.mu.Unlock()
			return
		}
		h.wg.Add(1)
		h.mu.Unlock()
		go func() {
			defer h.wg.Done()
			ctx, cancel := context.WithTimeout(h.ctx, homeTouchTimeout)
			defer cancel()
			users, err := h.members(ctx, id)
			if err != nil {
				h.log.Warn("home refresh: reading a user group failed", "group", id, "err", err)
				return
			}
			for _, u := range users {
				h.touch(team, u)
			}
		}()
	}
}

// schedule runs a publish for u after wait; h.mu is held.
func (h *homeRefresher) schedule(u *homeUser, wait time.Duration) {
	h.wg.Add(1)
	u.timer = time.AfterFunc(max(wait, 0), func() {
		defer h.wg.Done()
		h.run(u)
	})
}

func (h *homeRefresher) run(u *homeUser) {
	h.mu.Lock()
	u.timer = nil
	if h.ctx.Err() != nil {
		h.mu.Unlock()
		return
	}
	u.running, u.pending = true, false
	slot := time.Now()
	if slot.Before(h.nextSlot) {
		slot = h.nextSlot
	}
	h.nextSlot = slot.Add(h.spacing)
	h.mu.Unlock()

	err := h.waitUntil(slot)
	if err == nil {
		ctx, cancel := context.WithTimeout(h.ctx, homeTouchTimeout)
		err = h.publish(ctx, u.team, u.user)
		cancel()
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		h.log.Warn("publishing a Home tab failed", "user", u.user, "err", err)
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	u.running, u.last = false, time.Now()
	if u.pending && h.ctx.Err() == nil {
		u.pending = false
		h.schedule(u, h.every)
	}
}

// waitUntil waits for the global publish slot (or for close).
func (h *homeRefresher) waitUntil(slot time.Time) error {
	d := time.Until(slot)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-h.ctx.Done():
		return h.ctx.Err()
	}
}

// prune forgets idle users when too many are remembered; h.mu is held.
func (h *homeRefresher) prune() {
	if len(h.users) < maxHomeUsers {
		return
	}
	for k, u := range h.users {
		if !u.running && u.timer == nil && time.Since(u.last) > h.every {
			delete(h.users, k)
		}
	}
}

// close cancels what is scheduled and waits for running publishes.
func (h *homeRefresher) close() {
	h.mu.Lock()
	h.cancel()
	for _, u := range h.users {
		if u.timer != nil && u.timer.Stop() {
			u.timer = nil
			h.wg.Done()
		}
	}
	h.mu.Unlock()
	h.wg.Wait()
}
