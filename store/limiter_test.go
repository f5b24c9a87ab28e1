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

// take is one Take at a given offset from the start and the Slot expected.
type take struct {
	at   time.Duration
	key  string
	want mde.Slot
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
	lim := db.Limiter(l, clk.Now)
	for i, s := range steps {
		clk.Set(start.Add(s.at))
		got, err := lim.Take(ctx, s.key)
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
				{0, "A", granted()},
				{0, "B", granted()},
				{0, "C", queued(1, 60*s+m)},
				{0, "D", queued(2, 60*s+m)},
				{0, "E", queued(3, 2*(60*s+m))},
				{10 * s, "C", queued(1, 50*s+m)}, // asking again keeps the place
				{60*s + m, "C", granted()},
				{60*s + m, "D", granted()},
				{60*s + m, "E", queued(1, 60*s+m)},
			},
			wantLen: []int{0, 0, 1, 2, 3, 3, 2, 1, 1},
		},
		{
			name:   "FIFO: a later key cannot pass an earlier one",
			limits: mde.Limits{PerMinute: 1, PerHour: 120},
			steps: []take{
				{0, "A", granted()},
				{0, "B", queued(1, 60*s+m)},
				{0, "C", queued(2, 2*(60*s+m))},
				{60*s + m, "C", queued(2, 60*s+m)}, // the slot is B's
				{60*s + m, "B", granted()},
				{61*s + m, "C", queued(1, 59*s+m)},
				{2 * (60*s + m), "C", granted()},
			},
		},
		{
			name:   "stale keys leave the queue after 2 minutes",
			limits: mde.Limits{PerMinute: 1, PerHour: 120},
			steps: []take{
				{0, "A", granted()},
				{0, "B", queued(1, 60*s+m)},
				{0, "C", queued(2, 2*(60*s+m))},
				{119 * s, "C", queued(2, 60*s+m)}, // B unseen for 119 s: still ahead
				{120 * s, "C", granted()},         // B unseen for 2 minutes: dropped
				{121 * s, "B", queued(1, 59*s+m)}, // B comes back at the end
			},
			wantLen: []int{0, 1, 2, 2, 0, 1},
		},
		{
			name:   "hour window",
			limits: mde.Limits{PerMinute: 10, PerHour: 3},
			steps: []take{
				{0, "A", granted()},
				{time.Minute, "B", granted()},
				{2 * time.Minute, "C", granted()},
				{3 * time.Minute, "D", queued(1, 57*time.Minute+m)},
				{5 * time.Minute, "D", queued(1, 55*time.Minute+m)},
				{59*time.Minute + 59*s, "D", queued(1, s+m)},
				{time.Hour + m, "D", granted()},              // A's call has left the window
				{time.Hour + m, "E", queued(1, time.Minute)}, // B (at 1m) leaves at 61m2s
			},
		},
		{
			name:   "calls older than an hour do not count",
			limits: mde.Limits{PerMinute: 1, PerHour: 1},
			steps: []take{
				{0, "A", granted()},
				{time.Hour + m - time.Millisecond, "B", queued(1, time.Millisecond)},
				{time.Hour + m, "B", granted()},
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
			{0, "A", granted()},
			{0, "B", queued(1, time.Minute+mde.WindowMargin)},
			{0, "C", queued(2, 2*(time.Minute+mde.WindowMargin))},
		}, nil)
		ctx := context.Background()
		lim := db.Limiter(mde.Limits{PerMinute: 1, PerHour: 120}, func() time.Time {
			return time.Date(2025, 1, 1, 12, 0, 1, 0, time.UTC)
		})
		if err := lim.Leave(ctx, "B"); err != nil {
			t.Fatalf("Leave: %v", err)
		}
		if err := lim.Leave(ctx, "never-queued"); err != nil {
			t.Errorf("Leave of an absent key: %v", err)
		}
		got, err := lim.Take(ctx, "C")
		if err != nil {
			t.Fatalf("Take: %v", err)
		}
		if want := queued(1, 59*time.Second+mde.WindowMargin); got != want {
			t.Errorf("after B left, Take(C) = %+v, want %+v", got, want)
		}
		if _, err := lim.Take(ctx, ""); err == nil {
			t.Error("Take with an empty key succeeded")
		}
	})
}

// Replicas (separate handles on one database) ask at the same simulated
// moments for different keys over 70 simulated minutes; the grants they get,
// all together, never exceed PerMinute in any minute or PerHour in any hour.
func TestLimiterConcurrentReplicas(t *testing.T) {
	const (
		replicas = 6
		step     = 20 * time.Second
		span     = 70 * time.Minute
	)
	limits := mde.Limits{PerMinute: 2, PerHour: 30}
	forEachDSN(t, func(t *testing.T, driver, dsn string) {
		ctx := context.Background()
		start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		clk := newClock(start)
		lims := make([]*store.Limiter, replicas)
		for i := range lims {
			lims[i] = openDB(t, driver, dsn).Limiter(limits, clk.Now)
		}
		keyNo := make([]int, replicas)
		var grants []time.Time
		for now := start; now.Before(start.Add(span)); now = now.Add(step) {
			clk.Set(now)
			var (
				wg      sync.WaitGroup
				gotSlot = make([]mde.Slot, replicas)
				errs    = make([]error, replicas)
			)
			for i, lim := range lims {
				wg.Add(1)
				go func() {
					defer wg.Done()
					gotSlot[i], errs[i] = lim.Take(ctx, fmt.Sprintf("r%d-k%d", i, keyNo[i]))
				}()
			}
			wg.Wait()
			for i := range lims {
				if errs[i] != nil {
					t.Fatalf("replica %d at %v: %v", i, now.Sub(start), errs[i])
				}
				if gotSlot[i].Granted {
					grants = append(grants, now)
					keyNo[i]++
				} else if gotSlot[i].Position < 1 || gotSlot[i].Wait <= 0 {
					t.Errorf("replica %d at %v: refused without position/ETA: %+v", i, now.Sub(start), gotSlot[i])
				}
			}
		}
		sort.Slice(grants, func(i, j int) bool { return grants[i].Before(grants[j]) })
		checkWindow(t, grants, time.Minute, limits.PerMinute)
		checkWindow(t, grants, time.Hour, limits.PerHour)
		// The budget was used, not just respected: the hour's 30 calls, then
		// more once the first ones left the window.
		if len(grants) <= limits.PerHour {
			t.Errorf("only %d grants in %v; want more than %d", len(grants), span, limits.PerHour)
		}
		t.Logf("%d grants in %v across %d replicas", len(grants), span, replicas)
	})
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
		shared, mem := db.Limiter(limits, clk.Now), mde.NewMemoryLimiter(limits, clk.Now)
		rng := rand.New(rand.NewPCG(1, 2))
		var grants, maxPos int
		for i := range 400 {
			clk.Set(clk.Now().Add(time.Duration(rng.IntN(45_000)) * time.Millisecond))
			key := fmt.Sprintf("k%d", rng.IntN(8))
			if rng.IntN(10) == 0 {
				if err := shared.Leave(ctx, key); err != nil {
					t.Fatalf("step %d Leave: %v", i, err)
				}
				_ = mem.Leave(ctx, key)
				continue
			}
			got, err := shared.Take(ctx, key)
			if err != nil {
				t.Fatalf("step %d Take: %v", i, err)
			}
			want, _ := mem.Take(ctx, key)
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
		lim := db.Limiter(mde.Limits{PerMinute: 2, PerHour: 120}, func() time.Time {
			now := base.Add(offsets[min(i, len(offsets)-1)])
			i++
			return now
		})
		granted := 0
		for _, key := range []string{"A", "B", "C", "D"} {
			s, err := lim.Take(context.Background(), key)
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
