package queue_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mdebot/mdebot/handlers"
	"github.com/mdebot/mdebot/queue"
	"github.com/mdebot/mdebot/store"
)

// recorder stands in for handlers.Service: it records runs and snoozes a
// request a fixed number of times, which is what the queue must honour.
type recorder struct {
	mu       sync.Mutex
	runs     map[string]int
	snoozes  int
	fetches  map[string]int
	sweeps   int
	finished chan string
}

func (r *recorder) RunRequest(_ context.Context, id string) (handlers.Next, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.runs[id]++
	if r.runs[id] <= r.snoozes {
		return handlers.Next{After: 50 * time.Millisecond}, nil
	}
	r.finished <- id
	return handlers.Next{}, nil
}

func (r *recorder) RunFetch(_ context.Context, action string) (handlers.Next, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fetches[action]++
	r.finished <- "fetch:" + action
	return handlers.Next{}, nil
}

func (r *recorder) Sweep(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sweeps++
	return nil
}

func TestQueueSnoozesAndCollapsesDuplicates(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := store.Open(ctx, store.DriverSQLite, "file:"+filepath.Join(t.TempDir(), "q.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q, err := queue.New(db, queue.Options{FetchPoll: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{runs: map[string]int{}, fetches: map[string]int{}, snoozes: 2, finished: make(chan string, 10)}
	// Insert before starting: duplicates must collapse into one job.
	for range 3 {
		if err := q.StartRequest(ctx, "r1"); err != nil {
			t.Fatal(err)
		}
		if err := q.StartFetch(ctx, "a1", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Start(ctx, rec); err != nil {
		t.Fatal(err)
	}
	defer q.Stop(context.Background())
	got := map[string]bool{}
	for len(got) < 2 {
		select {
		case id := <-rec.finished:
			got[id] = true
		case <-ctx.Done():
			t.Fatalf("jobs did not finish: %v", got)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.runs["r1"] != 3 {
		t.Errorf("request ran %d times, want 3 (2 snoozes + 1)", rec.runs["r1"])
	}
	if rec.fetches["a1"] != 1 {
		t.Errorf("fetch ran %d times, want 1 (duplicates collapse)", rec.fetches["a1"])
	}
}

func TestQueueRunsAgainAfterCompletion(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := store.Open(ctx, store.DriverSQLite, "file:"+filepath.Join(t.TempDir(), "q.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q, err := queue.New(db, queue.Options{FetchPoll: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{runs: map[string]int{}, fetches: map[string]int{}, finished: make(chan string, 10)}
	if err := q.Start(ctx, rec); err != nil {
		t.Fatal(err)
	}
	defer q.Stop(context.Background())
	for i := range 2 {
		if err := q.StartRequest(ctx, "r2"); err != nil {
			t.Fatal(err)
		}
		select {
		case <-rec.finished:
		case <-ctx.Done():
			t.Fatalf("run %d did not happen", i+1)
		}
		// Wait until River recorded the completion, or the next insert collapses into the running job.
		time.Sleep(300 * time.Millisecond)
	}
}
