package mde_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mdebot/mdebot/mde"
)

func TestMemoryLimiter(t *testing.T) {
	clk := newClock()
	l := mde.NewMemoryLimiter(mde.Limits{PerMinute: 2, PerHour: 120}, clk.Now)
	steps := []struct {
		advance time.Duration
		key     string
		leave   bool
		want    mde.Slot
		queue   int // QueueLen after the step
	}{
		{0, "A", false, mde.Slot{Granted: true}, 0},
		{0, "B", false, mde.Slot{Granted: true}, 0},
		{0, "C", false, mde.Slot{Position: 1, Wait: time.Minute + mde.WindowMargin}, 1},
		{0, "D", false, mde.Slot{Position: 2, Wait: time.Minute + mde.WindowMargin}, 2},
		{0, "E", false, mde.Slot{Position: 3, Wait: 2 * (time.Minute + mde.WindowMargin)}, 3},
		{10 * time.Second, "C", false, mde.Slot{Position: 1, Wait: 50*time.Second + mde.WindowMargin}, 3}, // asking again keeps the place
		{0, "D", true, mde.Slot{}, 2},
		{0, "E", false, mde.Slot{Position: 2, Wait: 50*time.Second + mde.WindowMargin}, 2}, // D left: E moves up
		{50*time.Second + mde.WindowMargin, "C", false, mde.Slot{Granted: true}, 1},
		{0, "E", false, mde.Slot{Granted: true}, 0},
		{0, "F", false, mde.Slot{Position: 1, Wait: time.Minute + mde.WindowMargin}, 1},
		{0, "G", false, mde.Slot{Position: 2, Wait: time.Minute + mde.WindowMargin}, 2},
		// F stops asking; G keeps asking. After 2 minutes F is dropped and G is first.
		{100 * time.Second, "G", false, mde.Slot{Granted: true}, 1},
		{20 * time.Second, "", false, mde.Slot{}, 0},
		{0, "F", false, mde.Slot{Granted: true}, 0}, // F coming back rejoins at the end
	}
	for i, st := range steps {
		clk.Add(st.advance)
		switch {
		case st.leave:
			if err := l.Leave(t.Context(), st.key); err != nil {
				t.Fatal(err)
			}
		case st.key != "":
			got, err := l.Take(t.Context(), st.key, "U1")
			if err != nil || got != st.want {
				t.Fatalf("step %d Take(%s) = %+v, %v; want %+v", i, st.key, got, err, st.want)
			}
		}
		if got := mustLen(l.QueueLen(context.Background())); got != st.queue {
			t.Fatalf("step %d: QueueLen = %d, want %d", i, got, st.queue)
		}
	}
	if _, err := l.Take(t.Context(), "", "U1"); err == nil {
		t.Fatal("empty key accepted")
	}
	if _, err := l.Take(t.Context(), "H", ""); err == nil {
		t.Fatal("empty user accepted")
	}
}

func TestMemoryLimiterHourly(t *testing.T) {
	clk := newClock()
	l := mde.NewMemoryLimiter(mde.Limits{PerMinute: 2, PerHour: 3}, clk.Now)
	for i := range 3 {
		if s, _ := l.Take(t.Context(), fmt.Sprint(i), "U1"); !s.Granted {
			t.Fatalf("call %d not granted: %+v", i, s)
		}
		clk.Add(time.Minute)
	}
	// Calls at 0, 1m, 2m; now 3m: the first leaves the (widened) hour at 60m2s.
	if s, _ := l.Take(t.Context(), "x", "U1"); s.Granted || s.Wait != 57*time.Minute+mde.WindowMargin {
		t.Fatalf("got %+v, want a 57m2s wait", s)
	}
}

func TestMemoryLimiterConcurrent(t *testing.T) {
	clk := newClock()
	l := mde.NewMemoryLimiter(mde.Limits{PerMinute: 2, PerHour: 120}, clk.Now)
	var wg sync.WaitGroup
	var mu sync.Mutex
	granted, positions := 0, map[int]bool{}
	for i := range 20 {
		wg.Go(func() {
			s, err := l.Take(t.Context(), fmt.Sprint("key", i), "U1")
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if s.Granted {
				granted++
			} else {
				positions[s.Position] = true
			}
		})
	}
	wg.Wait()
	if granted != 2 || len(positions) != 18 || mustLen(l.QueueLen(context.Background())) != 18 {
		t.Fatalf("granted %d, distinct positions %d, queue %d; want 2, 18, 18", granted, len(positions), mustLen(l.QueueLen(context.Background())))
	}
}

// mustLen drops QueueLen's error, which the in-process limiter never returns.
func mustLen(n int, _ error) int { return n }

// The live response budget is a second, independent limiter: ten calls a
// minute, whatever getPackageUri's own limiter has granted.
func TestLiveResponseBudget(t *testing.T) {
	clk := newClock()
	pkg := mde.NewMemoryLimiter(mde.DefaultPackageURILimits(), clk.Now)
	live := mde.NewMemoryLimiter(mde.DefaultLiveResponseLimits(), clk.Now)
	for i := range 2 {
		if s, _ := pkg.Take(t.Context(), fmt.Sprint("pkg", i), "U1"); !s.Granted {
			t.Fatalf("package call %d not granted: %+v", i, s)
		}
	}
	for i := range 10 {
		if s, _ := live.Take(t.Context(), fmt.Sprint("live", i), "U1"); !s.Granted {
			t.Fatalf("live response call %d not granted: %+v", i, s)
		}
	}
	if s, _ := live.Take(t.Context(), "live10", "U1"); s.Granted || s.Position != 1 || s.Wait != time.Minute+mde.WindowMargin {
		t.Fatalf("11th live response call: %+v, want position 1 after 1m2s", s)
	}
	if s, _ := pkg.Take(t.Context(), "pkg2", "U1"); s.Granted || s.Wait != time.Minute+mde.WindowMargin {
		t.Fatalf("3rd package call: %+v, want a 1m2s wait", s)
	}
}
