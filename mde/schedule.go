package mde

import (
	"cmp"
	"slices"
	"sort"
	"time"
)

// NextSlots returns the earliest n times at or after now at which a call may
// be made without breaking l, given the times of calls already made (any
// order; calls older than an hour do not matter). The i-th time is the ETA of
// the caller at queue position i (0-based). Both the in-process and the
// database limiter use it, so they agree on positions and ETAs.
func NextSlots(calls []time.Time, now time.Time, l Limits, n int) []time.Time {
	hist := make([]time.Time, 0, len(calls)+n)
	for _, c := range calls {
		if now.Sub(c) < time.Hour+WindowMargin {
			hist = append(hist, c)
		}
	}
	sort.Slice(hist, func(i, j int) bool { return hist[i].Before(hist[j]) })
	out := make([]time.Time, 0, n)
	t := now
	for len(out) < n {
		t = earliest(hist, t, l)
		out = append(out, t)
		hist = append(hist, t) // sorted: t is not before any earlier entry
	}
	return out
}

// WindowMargin widens both windows: a grant is stamped a moment before its
// call reaches Defender, whose own window therefore starts a little later; a
// grant exactly 60 s after the previous stamp could still be throttled.
const WindowMargin = 2 * time.Second

// earliest is the first time >= t at which both windows have room, given
// sorted hist.
func earliest(hist []time.Time, t time.Time, l Limits) time.Time {
	for {
		next := t
		if l.PerMinute > 0 {
			next = later(next, room(hist, t, time.Minute+WindowMargin, l.PerMinute))
		}
		if l.PerHour > 0 {
			next = later(next, room(hist, t, time.Hour+WindowMargin, l.PerHour))
		}
		if next.Equal(t) {
			return t
		}
		t = next
	}
}

// room returns t when the window (t-w, t] holds fewer than max calls, else the
// moment the oldest call that must leave the window has left it. Calls stamped
// after t count too: another replica's clock may run ahead of this one's.
func room(hist []time.Time, t time.Time, w time.Duration, max int) time.Time {
	in := 0
	first := -1
	for i, c := range hist {
		if c.After(t.Add(-w)) {
			if first < 0 {
				first = i
			}
			in++
		}
	}
	if in < max {
		return t
	}
	// The window must shed in-max+1 calls: the call at first+(in-max) leaves at its time + w.
	return hist[first+in-max].Add(w)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// Waiter is a key waiting at a limiter, the user it is served for, and its
// round (JoinRound).
type Waiter struct {
	Key   string
	User  string
	Round int
}

// JoinRound is the round of a key joining queue (in join order) for user:
// the current round (the smallest in the queue, 0 when it is empty), or one
// past the round of user's last waiting key, whichever is later. A key keeps
// its round until served, so each user gets one key served per round:
// ranking keys afresh at every grant would make a user's next key "first"
// again, ahead of a colleague who joined after it, time after time.
func JoinRound(queue []Waiter, user string) int {
	round, mine := -1, -1
	for _, w := range queue {
		if round < 0 || w.Round < round {
			round = w.Round
		}
		if w.User == user {
			mine = max(mine, w.Round)
		}
	}
	return max(round, mine+1, 0)
}

// ServeOrder returns waiters, given in the order they joined, in the order
// they are served: by round, each round in join order. With rounds from
// JoinRound that is round-robin across users: each user's first waiting
// key, then each user's second, and so on, so one user's burst cannot push
// a colleague's lone key behind all of it. Position p (0-based) in this
// order has the ETA NextSlots(...)[p].
func ServeOrder(joined []Waiter) []Waiter {
	out := slices.Clone(joined)
	slices.SortStableFunc(out, func(a, b Waiter) int { return cmp.Compare(a.Round, b.Round) })
	return out
}

// ServePosition is key's 0-based place in ServeOrder(joined), or -1.
func ServePosition(joined []Waiter, key string) int {
	return slices.IndexFunc(ServeOrder(joined), func(w Waiter) bool { return w.Key == key })
}
