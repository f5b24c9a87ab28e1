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
	expiries []expiryRun
	triages  map[string]int
	finished chan string
}

type expiryRun struct {
	id string
	at time.Time
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

func (r *recorder) RunExpiry(_ context.Context, id string) (handlers.Next, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expiries = append(r.expiries, expiryRun{id: id, at: time.Now()})
	r.finished <- "expire:" + id
	return handlers.Next{}, nil
}

func (r *recorder) RunTriage(_ context.Context, id string) (handlers.Next, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.triages == nil {
		r.triages = map[string]int{}
	}
	r.triages[id]++
	r.finished <- "triage:" + id
	return handlers.Next{}, nil
}

func (r *recorder) RunPoll(context.Context) error { return nil }

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

// openQueue opens a queue on a fresh SQLite file, not yet started.
func openQueue(t *testing.T, path string) (*store.DB, *queue.Queue) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := store.Open(ctx, store.DriverSQLite, "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	q, err := queue.New(db, queue.Options{FetchPoll: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return db, q
}

// An expiry is a job of its own kind: a request job queued for the same
// request does not hide it, and it runs at its instant, not at River's next
// scheduler pass (every 5 s).
func TestExpiryRunsOnTimeBesideRequestJob(t *testing.T) {
	_, q := openQueue(t, filepath.Join(t.TempDir(), "q.db"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rec := &recorder{runs: map[string]int{}, fetches: map[string]int{}, snoozes: 100, finished: make(chan string, 200)}
	if err := q.Start(ctx, rec); err != nil {
		t.Fatal(err)
	}
	defer q.Stop(context.Background())
	if err := q.StartRequest(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(1500 * time.Millisecond)
	for range 2 { // the same window twice: one job
		if err := q.ScheduleExpiry(ctx, "r1", at); err != nil {
			t.Fatal(err)
		}
	}
	for {
		select {
		case id := <-rec.finished:
			if id != "expire:r1" {
				continue
			}
		case <-ctx.Done():
			t.Fatal("the expiry did not run")
		}
		break
	}
	time.Sleep(500 * time.Millisecond) // a duplicate would show itself
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.expiries) != 1 {
		t.Fatalf("expiry ran %d times, want 1", len(rec.expiries))
	}
	if late := rec.expiries[0].at.Sub(at); late < 0 || late > time.Second {
		t.Errorf("expiry ran %s after its instant, want within 1s (River's scheduler alone takes up to 5s)", late)
	}
}

// A process killed while running a job leaves it "running"; the next process
// alone on the SQLite file frees it at once instead of after the rescue delay.
func TestFreesJobsOfDeadProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	db, q := openQueue(t, path)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := q.StartRequest(ctx, "orphan"); err != nil {
		t.Fatal(err)
	}
	// What a SIGKILL leaves: the job marked running by a client that is gone.
	if _, err := db.SQL.ExecContext(ctx, `UPDATE river_job SET state = 'running', attempt = 1, attempted_by = '["dead-client"]'`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, q2 := openQueue(t, path)
	rec := &recorder{runs: map[string]int{}, fetches: map[string]int{}, finished: make(chan string, 10)}
	if err := q2.Start(ctx, rec); err != nil {
		t.Fatal(err)
	}
	defer q2.Stop(context.Background())
	select {
	case id := <-rec.finished:
		if id != "orphan" {
			t.Errorf("ran %s, want the orphaned request job", id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the orphaned job was not run within 10s")
	}
}

// A triage job is queued once per request: a second StartTriage while it
// waits, and another after it completed, run nothing more; another
// request's runs beside it.
func TestTriageOncePerRequest(t *testing.T) {
	_, q := openQueue(t, filepath.Join(t.TempDir(), "q.db"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rec := &recorder{runs: map[string]int{}, fetches: map[string]int{}, finished: make(chan string, 20)}
	for range 2 {
		if err := q.StartTriage(ctx, "r1"); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Start(ctx, rec); err != nil {
		t.Fatal(err)
	}
	defer q.Stop(context.Background())
	wait := func(want string) {
		t.Helper()
		for {
			select {
			case id := <-rec.finished:
				if id == want {
					return
				}
			case <-ctx.Done():
				t.Fatalf("%s did not run", want)
			}
		}
	}
	wait("triage:r1")
	time.Sleep(300 * time.Millisecond) // River records the completion
	if err := q.StartTriage(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	if err := q.StartTriage(ctx, "r2"); err != nil {
		t.Fatal(err)
	}
	wait("triage:r2")
	time.Sleep(500 * time.Millisecond) // a second r1 run would show itself
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.triages["r1"] != 1 || rec.triages["r2"] != 1 {
		t.Errorf("triage runs %v, want r1 and r2 once each", rec.triages)
	}
}

// A fetch due now is available at once; one due later waits as scheduled.
// (Due now used to be inserted with our clock's now, a moment ahead of
// SQLite's, so it waited for River's 5 s scheduler pass.)
func TestFetchDueNowIsAvailable(t *testing.T) {
	db, q := openQueue(t, filepath.Join(t.TempDir(), "q.db"))
	ctx := context.Background()
	tests := []struct {
		action string
		at     time.Time
		want   string
	}{
		{"now", time.Now(), "available"},
		{"past", time.Now().Add(-time.Minute), "available"},
		{"later", time.Now().Add(time.Hour), "scheduled"},
	}
	for _, tt := range tests {
		if err := q.StartFetch(ctx, tt.action, tt.at); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range tests {
		var state string
		err := db.SQL.QueryRowContext(ctx, `SELECT state FROM river_job WHERE kind = 'mdebot_fetch' AND json_extract(args, '$.action_id') = ?`, tt.action).Scan(&state)
		if err != nil {
			t.Fatalf("%s: %v", tt.action, err)
		}
		if state != tt.want {
			t.Errorf("fetch due %s: state %q, want %q", tt.action, state, tt.want)
		}
	}
}
