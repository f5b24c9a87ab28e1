package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/mdebot/mdebot/mde"
	"github.com/mdebot/mdebot/store"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// take is one Take at a given offset from the start and the Slot expected,
// by user "U1" unless user is set.
type take struct {
	at   time.Duration
	key  string
	want mde.Slot
	user string
}

func granted() mde.Slot { return mde.Slot{Granted: true} }

func queued(pos int, wait time.Duration) mde.Slot { return mde.Slot{Position: pos, Wait: wait} }

// runTakes plays steps against a limiter on db, checking every Slot and the
// queue length after each step when wantLen is given (-1 skips the check).
func runTakes(t *testing.T, db *store.DB, l mde.Limits, steps []take, wantLen []int) {
	t.Helper()
	ctx := context.Background()
	start := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	clk := newClock(start)
	lim := db.Limiter(mde.BudgetPackageURI, l, clk.Now)
	for i, s := range steps {
		clk.Set(start.Add(s.at))
		user := s.user
		if user == "" {
			user = "U1"
		}
		got, err := lim.Take(ctx, s.key, user)
		if err != nil {
			t.Fatalf("step %d Take(%s): %v", i, s.key, err)
		}
		if got != s.want {
			t.Errorf("step %d at +%v Take(%s) = %+v, want %+v", i, s.at, s.key, got, s.want)
		}
		if i < len(wantLen) && wantLen[i] >= 0 {
			n, err := lim.QueueLen(ctx)
			if err != nil {
				t.Fatalf("QueueLen: %v", err)
			}
			if n != wantLen[i] {
				t.Errorf("step %d: QueueLen = %d, want %d", i, n, wantLen[i])
			}
		}
	}
}

func TestLimiterTake(t *testing.T) {
	s := time.Second
	m := mde.WindowMargin // each window is this much wider than Defender's
	tests := []struct {
		name    string
		limits  mde.Limits
		steps   []take
		wantLen []int
	}{
		{
			name:   "two grants then position and ETA",
			limits: mde.Limits{PerMinute: 2, PerHour: 120},
			steps: []take{
				{0, "A", granted(), ""},
				{0, "B", granted(), ""},
				{0, "C", queued(1, 60*s+m), ""},
				{0, "D", queued(2, 60*s+m), ""},
				{0, "E", queued(3, 2*(60*s+m)), ""},
				{10 * s, "C", queued(1, 50*s+m), ""}, // asking again keeps the place
				{60*s + m, "C", granted(), ""},
				{60*s + m, "D", granted(), ""},
				{60*s + m, "E", queued(1, 60*s+m), ""},
			},
			wantLen: []int{0, 0, 1, 2, 3, 3, 2, 1, 1},
		},
		{
			name:   "FIFO: a later key cannot pass an earlier one",
			limits: mde.Limits{PerMinute: 1, PerHour: 120},
			steps: []take{
				{0, "A", granted(), ""},
				{0, "B", queued(1, 60*s+m), ""},
				{0, "C", queued(2, 2*(60*s+m)), ""},
				{60*s + m, "C", queued(2, 60*s+m), ""}, // the slot is B's
				{60*s + m, "B", granted(), ""},
				{61*s + m, "C", queued(1, 59*s+m), ""},
				{2 * (60*s + m), "C", granted(), ""},
			},
		},
		{
			name:   "stale keys leave the queue after 2 minutes",
			limits: mde.Limits{PerMinute: 1, PerHour: 120},
			steps: []take{
				{0, "A", granted(), ""},
				{0, "B", queued(1, 60*s+m), ""},
				{0, "C", queued(2, 2*(60*s+m)), ""},
				{119 * s, "C", queued(2, 60*s+m), ""}, // B unseen for 119 s: still ahead
				{120 * s, "C", granted(), ""},         // B unseen for 2 minutes: dropped
				{121 * s, "B", queued(1, 59*s+m), ""}, // B comes back at the end
			},
			wantLen: []int{0, 1, 2, 2, 0, 1},
		},
		{
			name:   "hour window",
			limits: mde.Limits{PerMinute: 10, PerHour: 3},
			steps: []take{
				{0, "A", granted(), ""},
				{time.Minute, "B", granted(), ""},
				{2 * time.Minute, "C", granted(), ""},
				{3 * time.Minute, "D", queued(1, 57*time.Minute+m), ""},
				{5 * time.Minute, "D", queued(1, 55*time.Minute+m), ""},
				{59*time.Minute + 59*s, "D", queued(1, s+m), ""},
				{time.Hour + m, "D", granted(), ""},              // A's call has left the window
				{time.Hour + m, "E", queued(1, time.Minute), ""}, // B (at 1m) leaves at 61m2s
			},
		},
		{
			name:   "calls older than an hour do not count",
			limits: mde.Limits{PerMinute: 1, PerHour: 1},
			steps: []take{
				{0, "A", granted(), ""},
				{time.Hour + m - time.Millisecond, "B", queued(1, time.Millisecond), ""},
				{time.Hour + m, "B", granted(), ""},
			},
		},
	}
	forEachDB(t, func(t *testing.T, db *store.DB) {
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				// Each case uses its own keys: a fresh database per case
				// would be slow on PostgreSQL, so clear the limiter's tables.
				if i > 0 {
					for _, q := range []string{`DELETE FROM limiter_calls`, `DELETE FROM limiter_queue`} {
						if _, err := db.SQL.Exec(q); err != nil {
							t.Fatal(err)
						}
					}
				}
				runTakes(t, db, tt.limits, tt.steps, tt.wantLen)
			})
		}
	})
}

func TestLimiterLeave(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		runTakes(t, db, mde.Limits{PerMinute: 1, PerHour: 120}, []take{
			{0, "A", granted(), ""},
			{0, "B", queued(1, time.Minute+mde.WindowMargin), ""},
			{0, "C", queued(2, 2*(time.Minute+mde.WindowMargin)), ""},
		}, nil)
		ctx := context.Background()
		lim := db.Limiter(mde.BudgetPackageURI, mde.Limits{PerMinute: 1, PerHour: 120}, func() time.Time {
			return time.Date(2025, 1, 1, 12, 0, 1, 0, time.UTC)
		})
		if err := lim.Leave(ctx, "B"); err != nil {
			t.Fatalf("Leave: %v", err)
		}
		if err := lim.Leave(ctx, "never-queued"); err != nil {
			t.Errorf("Leave of an absent key: %v", err)
		}
		got, err := lim.Take(ctx, "C", "U1")
		if err != nil {
			t.Fatalf("Take: %v", err)
		}
		if want := queued(1, 59*time.Second+mde.WindowMargin); got != want {
			t.Errorf("after B left, Take(C) = %+v, want %+v", got, want)
		}
		for _, bad := range []struct{ budget, key, user string }{
			{mde.BudgetPackageURI, "", "U1"}, {mde.BudgetPackageURI, "D", ""}, {"", "D", "U1"},
		} {
			if _, err := db.Limiter(bad.budget, mde.Limits{PerMinute: 1}, nil).Take(ctx, bad.key, bad.user); err == nil {
				t.Errorf("Take(budget %q, key %q, user %q) succeeded", bad.budget, bad.key, bad.user)
			}
		}
		if n, err := lim.QueueLen(ctx); err != nil || n != 1 {
			t.Errorf("QueueLen after refused Takes = %d, %v; want 1 (C)", n, err)
		}
	})
}

// Fair use: user A asks for 6 actions, then colleague B for 1. B is told
// position 2 (behind A's first waiting key), and is served at that ETA even
// though A's other keys joined before B's; a third user arriving later
// again waits behind one key of A's at most.
func TestLimiterRoundRobin(t *testing.T) {
	slot := time.Minute + mde.WindowMargin
	s := time.Second
	a := func(at time.Duration, key string, want mde.Slot) take { return take{at, key, want, "A"} }
	steps := []take{
		a(0, "a1", granted()),
		a(0, "a2", granted()),
		a(0, "a3", queued(1, slot)),
		a(0, "a4", queued(2, slot)),
		a(0, "a5", queued(3, 2*slot)),
		a(0, "a6", queued(4, 2*slot)),
		{s, "b1", queued(2, slot-s), "B"},
		a(2*s, "a4", queued(3, 2*slot-2*s)), // moved back one place
		a(slot, "a4", queued(3, slot)),      // behind a3 (not asked yet) and b1
		a(slot, "a3", granted()),
		a(slot, "a4", queued(2, slot)), // the minute's second call is B's
		{slot, "b1", granted(), "B"},
		a(slot, "a4", queued(1, slot)),
		{slot + s, "c1", queued(2, slot-s), "C"},
		a(slot+s, "a6", queued(4, 2*slot-s)),
	}
	wantLen := []int{0, 0, 1, 2, 3, 4, 5, 5, 5, 4, 4, 3, 3, 4, 4}
	forEachDB(t, func(t *testing.T, db *store.DB) {
		runTakes(t, db, mde.Limits{PerMinute: 2, PerHour: 120}, steps, wantLen)
	})
}

// The same scenario with A's six fetch jobs running at once on two replicas
// (two handles on one database) and B's on either: B is at position 2 at
// most, both replicas tell it the same, and it is served in the next minute.
func TestLimiterRoundRobinReplicas(t *testing.T) {
	forEachDSN(t, func(t *testing.T, driver, dsn string) {
		ctx := context.Background()
		limits := mde.Limits{PerMinute: 2, PerHour: 120}
		start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		clk := newClock(start)
		reps := []*store.Limiter{
			openDB(t, driver, dsn).Limiter(mde.BudgetPackageURI, limits, clk.Now),
			openDB(t, driver, dsn).Limiter(mde.BudgetPackageURI, limits, clk.Now),
		}
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			waiting []string
		)
		for i := range 6 {
			wg.Go(func() {
				key := fmt.Sprint("a", i)
				got, err := reps[i%2].Take(ctx, key, "A")
				if err != nil {
					t.Error(err)
					return
				}
				if !got.Granted {
					mu.Lock()
					waiting = append(waiting, key)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(waiting) != 4 {
			t.Fatalf("%d of A's 6 keys wait, want 4 (2 calls a minute)", len(waiting))
		}
		clk.Set(start.Add(time.Second))
		for i, rep := range reps {
			got, err := rep.Take(ctx, "b1", "B")
			if err != nil {
				t.Fatal(err)
			}
			if want := queued(2, time.Minute+mde.WindowMargin-time.Second); got != want {
				t.Errorf("B's Take on replica %d = %+v, want %+v", i, got, want)
			}
		}
		// A minute later every job asks again, A's first, on both replicas.
		clk.Set(start.Add(time.Minute + mde.WindowMargin))
		sort.Strings(waiting)
		var served []string
		for i, key := range append(waiting, "b1") {
			user := "A"
			if key == "b1" {
				user = "B"
			}
			got, err := reps[i%2].Take(ctx, key, user)
			if err != nil {
				t.Fatal(err)
			}
			if got.Granted {
				served = append(served, key)
			}
		}
		if len(served) != 2 || served[1] != "b1" {
			t.Errorf("served in the second minute: %v; want one of A's keys and b1", served)
		}
	})
}

// Two budgets in one database are independent: exhausting getPackageUri
// leaves runliveresponse's 10 a minute whole, the same key may wait in both
// queues, and leaving one queue leaves the other as it was.
func TestLimiterBudgetsIndependent(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := newClock(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
		pkg := db.Limiter(mde.BudgetPackageURI, mde.Limits{PerMinute: 2, PerHour: 120}, clk.Now)
		live := db.Limiter(mde.BudgetLiveResponse, mde.Limits{PerMinute: 10, PerHour: 600}, clk.Now)
		count := func(lim *store.Limiter, keys ...string) (granted int, last mde.Slot) {
			t.Helper()
			for _, k := range keys {
				s, err := lim.Take(ctx, k, "U1")
				if err != nil {
					t.Fatal(err)
				}
				if s.Granted {
					granted++
				}
				last = s
			}
			return granted, last
		}
		keys := func(n int) []string {
			out := make([]string, n)
			for i := range out {
				out[i] = fmt.Sprint("k", i)
			}
			return out
		}
		if g, last := count(pkg, keys(4)...); g != 2 || last != queued(2, time.Minute+mde.WindowMargin) {
			t.Errorf("getPackageUri: %d of 4 granted, last %+v; want 2 and position 2", g, last)
		}
		if g, last := count(live, keys(12)...); g != 10 || last != queued(2, time.Minute+mde.WindowMargin) {
			t.Errorf("runliveresponse: %d of 12 granted, last %+v; want 10 and position 2", g, last)
		}
		// k2 and k3 wait in getPackageUri's queue; k10 and k11 in runliveresponse's.
		for _, c := range []struct {
			lim  *store.Limiter
			want int
		}{{pkg, 2}, {live, 2}} {
			if n, err := c.lim.QueueLen(ctx); err != nil || n != c.want {
				t.Errorf("QueueLen = %d, %v; want %d", n, err, c.want)
			}
		}
		if err := live.Leave(ctx, "k2"); err != nil { // not in live's queue: no effect on pkg's
			t.Fatal(err)
		}
		if n, _ := pkg.QueueLen(ctx); n != 2 {
			t.Errorf("getPackageUri QueueLen after a Leave on runliveresponse = %d, want 2", n)
		}
		if _, last := count(pkg, "k2"); last != queued(1, time.Minute+mde.WindowMargin) {
			t.Errorf("getPackageUri k2 = %+v, want position 1", last)
		}
	})
}

// Replicas (separate handles on one database) ask at the same simulated
// moments for different keys; the grants they get, all together, never
// exceed PerMinute in any minute or PerHour in any hour, for either budget.
func TestLimiterConcurrentReplicas(t *testing.T) {
	tests := []struct {
		budget    string
		limits    mde.Limits
		replicas  int // handles on the database
		workers   int // fetch jobs asking at once, spread over the replicas
		step      time.Duration
		span      time.Duration
		minGrants int // the budget was used, not just respected
	}{
		// The hour's 30 calls, then more once the first left the window.
		{mde.BudgetPackageURI, mde.Limits{PerMinute: 2, PerHour: 30}, 6, 6, 20 * time.Second, 70 * time.Minute, 31},
		// 10 a minute over 5 minutes: 10 in each 62-second window.
		{mde.BudgetLiveResponse, mde.Limits{PerMinute: 10, PerHour: 600}, 2, 6, 5 * time.Second, 5 * time.Minute, 40},
	}
	for _, tt := range tests {
		t.Run(tt.budget, func(t *testing.T) {
			forEachDSN(t, func(t *testing.T, driver, dsn string) {
				ctx := context.Background()
				start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
				clk := newClock(start)
				lims := make([]*store.Limiter, tt.replicas)
				for i := range lims {
					lims[i] = openDB(t, driver, dsn).Limiter(tt.budget, tt.limits, clk.Now)
				}
				keyNo := make([]int, tt.workers)
				var grants []time.Time
				for now := start; now.Before(start.Add(tt.span)); now = now.Add(tt.step) {
					clk.Set(now)
					var (
						wg      sync.WaitGroup
						gotSlot = make([]mde.Slot, tt.workers)
						errs    = make([]error, tt.workers)
					)
					for w := range tt.workers {
						wg.Go(func() {
							gotSlot[w], errs[w] = lims[w%tt.replicas].Take(ctx,
								fmt.Sprintf("w%d-k%d", w, keyNo[w]), fmt.Sprint("U", w%3))
						})
					}
					wg.Wait()
					for w := range tt.workers {
						if errs[w] != nil {
							t.Fatalf("worker %d at %v: %v", w, now.Sub(start), errs[w])
						}
						if gotSlot[w].Granted {
							grants = append(grants, now)
							keyNo[w]++
						} else if gotSlot[w].Position < 1 || gotSlot[w].Wait <= 0 {
							t.Errorf("worker %d at %v: refused without position/ETA: %+v", w, now.Sub(start), gotSlot[w])
						}
					}
				}
				sort.Slice(grants, func(i, j int) bool { return grants[i].Before(grants[j]) })
				checkWindow(t, grants, time.Minute, tt.limits.PerMinute)
				checkWindow(t, grants, time.Hour, tt.limits.PerHour)
				if len(grants) < tt.minGrants {
					t.Errorf("only %d grants in %v; want at least %d", len(grants), tt.span, tt.minGrants)
				}
				t.Logf("%d grants in %v across %d replicas", len(grants), tt.span, tt.replicas)
			})
		})
	}
}

// checkWindow fails when more than max of the sorted grants fall in any window w.
func checkWindow(t *testing.T, grants []time.Time, w time.Duration, max int) {
	t.Helper()
	for i := range grants {
		n := 0
		for j := i; j < len(grants) && grants[j].Sub(grants[i]) < w; j++ {
			n++
		}
		if n > max {
			t.Errorf("%d grants in the %v from %v; at most %d allowed", n, w, grants[i], max)
		}
	}
}

// The shared limiter answers exactly as the in-process one does, step for
// step, over a long random sequence of asks, returns and departures.
func TestLimiterMatchesMemoryLimiter(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		limits := mde.Limits{PerMinute: 2, PerHour: 12}
		clk := newClock(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
		shared, mem := db.Limiter(mde.BudgetPackageURI, limits, clk.Now), mde.NewMemoryLimiter(limits, clk.Now)
		rng := rand.New(rand.NewPCG(1, 2))
		var grants, maxPos int
		for i := range 400 {
			clk.Set(clk.Now().Add(time.Duration(rng.IntN(45_000)) * time.Millisecond))
			key := fmt.Sprintf("k%d", rng.IntN(8))
			// Mostly one user per key, sometimes another (the oldest
			// requester of an action changed): rounds must agree too.
			user := fmt.Sprintf("U%d", (len(key)+int(key[1]))%3)
			if rng.IntN(8) == 0 {
				user = fmt.Sprintf("U%d", rng.IntN(3))
			}
			if rng.IntN(10) == 0 {
				if err := shared.Leave(ctx, key); err != nil {
					t.Fatalf("step %d Leave: %v", i, err)
				}
				_ = mem.Leave(ctx, key)
				continue
			}
			got, err := shared.Take(ctx, key, user)
			if err != nil {
				t.Fatalf("step %d Take: %v", i, err)
			}
			want, _ := mem.Take(ctx, key, user)
			if got != want {
				t.Fatalf("step %d Take(%s): store %+v, memory %+v", i, key, got, want)
			}
			if got.Granted {
				grants++
			}
			maxPos = max(maxPos, got.Position)
			n, err := shared.QueueLen(ctx)
			if err != nil {
				t.Fatalf("step %d QueueLen: %v", i, err)
			}
			if n != memLen(mem) {
				t.Fatalf("step %d: QueueLen store %d, memory %d", i, n, memLen(mem))
			}
		}
		// The sequence must have exercised both grants and a real queue.
		if grants < 10 || maxPos < 3 {
			t.Errorf("weak sequence: %d grants, deepest position %d", grants, maxPos)
		}
		t.Logf("%d grants, deepest position %d", grants, maxPos)
	})
}

// memLen is the in-process limiter's queue length (it never fails).
func memLen(m *mde.MemoryLimiter) int {
	n, _ := m.QueueLen(context.Background())
	return n
}

// Clocks disagree (replicas) or a Take read its clock before waiting for the
// lock: a call stamped later than "now" still counts. Found by bench/economy.
func TestLimiterCountsCallsStampedLater(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		base := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
		offsets := []time.Duration{0, 10 * time.Millisecond, 5 * time.Millisecond, 2 * time.Millisecond}
		i := 0
		lim := db.Limiter(mde.BudgetPackageURI, mde.Limits{PerMinute: 2, PerHour: 120}, func() time.Time {
			now := base.Add(offsets[min(i, len(offsets)-1)])
			i++
			return now
		})
		granted := 0
		for _, key := range []string{"A", "B", "C", "D"} {
			s, err := lim.Take(context.Background(), key, "U1")
			if err != nil {
				t.Fatal(err)
			}
			if s.Granted {
				granted++
			}
		}
		if granted != 2 {
			t.Errorf("%d of 4 Takes granted at 2/min with skewed clocks, want 2", granted)
		}
	})
}
