package mde_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mdebot/mdebot/mde"
)

// join builds a queue by joining keys in order; each entry is "key/user".
func join(entries ...string) []mde.Waiter {
	var q []mde.Waiter
	for _, e := range entries {
		key, user, _ := strings.Cut(e, "/")
		q = append(q, mde.Waiter{Key: key, User: user, Round: mde.JoinRound(q, user)})
	}
	return q
}

func TestJoinRound(t *testing.T) {
	w := func(key, user string, round int) mde.Waiter { return mde.Waiter{Key: key, User: user, Round: round} }
	tests := []struct {
		name  string
		queue []mde.Waiter
		user  string
		want  int
	}{
		{"empty queue", nil, "A", 0},
		{"new user joins the current round", []mde.Waiter{w("a3", "A", 2), w("a4", "A", 3)}, "B", 2},
		{"a user's next key goes one round past its last", []mde.Waiter{w("a3", "A", 2), w("a4", "A", 3)}, "A", 4},
		{"never before the current round", []mde.Waiter{w("b1", "B", 5), w("a1", "A", 1)}, "B", 6},
		{"an old round of the user's is no excuse", []mde.Waiter{w("c1", "C", 7), w("a1", "A", 9)}, "C", 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mde.JoinRound(tt.queue, tt.user); got != tt.want {
				t.Errorf("JoinRound = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestServeOrder(t *testing.T) {
	tests := []struct {
		name   string
		joined []mde.Waiter
		want   []string // keys in serving order
	}{
		{"empty", nil, []string{}},
		{"one user keeps join order", join("a1/A", "a2/A", "a3/A"), []string{"a1", "a2", "a3"}},
		{
			"a burst, then a colleague: the colleague is second",
			join("a1/A", "a2/A", "a3/A", "a4/A", "a5/A", "a6/A", "b1/B"),
			[]string{"a1", "b1", "a2", "a3", "a4", "a5", "a6"},
		},
		{
			"rounds, each in join order",
			join("b1/B", "a1/A", "a2/A", "c1/C", "b2/B", "a3/A", "c2/C"),
			[]string{"b1", "a1", "c1", "a2", "b2", "c2", "a3"},
		},
		{"distinct users are first come first served", join("x/X", "y/Y", "z/Z"), []string{"x", "y", "z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := []string{}
			for _, x := range mde.ServeOrder(tt.joined) {
				got = append(got, x.Key)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ServeOrder = %v, want %v", got, tt.want)
			}
			for i, k := range tt.want {
				if p := mde.ServePosition(tt.joined, k); p != i {
					t.Errorf("ServePosition(%s) = %d, want %d", k, p, i)
				}
			}
			if p := mde.ServePosition(tt.joined, "absent"); p != -1 {
				t.Errorf("ServePosition(absent) = %d, want -1", p)
			}
		})
	}
}

// User A asks for 6 actions, then colleague B for 1: B waits at position 2
// (behind A's first waiting key) with that position's ETA, and is granted
// when it comes, even though A's next key joined before B's.
func TestMemoryLimiterRoundRobin(t *testing.T) {
	clk := newClock()
	l := mde.NewMemoryLimiter(mde.Limits{PerMinute: 2, PerHour: 120}, clk.Now)
	slot := time.Minute + mde.WindowMargin
	for i := 1; i <= 6; i++ {
		if _, err := l.Take(t.Context(), fmt.Sprint("a", i), "A"); err != nil {
			t.Fatal(err)
		}
	}
	// a1 and a2 were granted; a3..a6 wait. B arrives.
	got, err := l.Take(t.Context(), "b1", "B")
	if err != nil {
		t.Fatal(err)
	}
	if want := (mde.Slot{Position: 2, Wait: slot}); got != want {
		t.Fatalf("B's Take = %+v, want %+v", got, want)
	}
	// A's later keys moved back one place each.
	if got, _ := l.Take(t.Context(), "a4", "A"); got != (mde.Slot{Position: 3, Wait: 2 * slot}) {
		t.Errorf("a4 = %+v, want position 3", got)
	}
	clk.Add(slot)
	// A's keys ask first; B's ETA has come and its slot is kept for it.
	var order []string
	for _, k := range []string{"a3", "a4", "a5", "a6", "b1"} {
		user := "A"
		if k == "b1" {
			user = "B"
		}
		if s, _ := l.Take(t.Context(), k, user); s.Granted {
			order = append(order, k)
		}
	}
	if want := []string{"a3", "b1"}; !reflect.DeepEqual(order, want) {
		t.Errorf("granted in the next minute: %v, want %v", order, want)
	}
}
