package queue

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/mdebot/mdebot/handlers"
)

type requestArgs struct {
	RequestID string `json:"request_id"`
}

func (requestArgs) Kind() string { return "mdebot_request" }

type fetchArgs struct {
	ActionID string `json:"action_id"`
	// Epoch is set on recovery fetches (see Queue.RecoverFetch).
	Epoch string `json:"epoch,omitempty"`
}

func (fetchArgs) Kind() string { return "mdebot_fetch" }

type expireArgs struct {
	RequestID string `json:"request_id"`
	// At is the instant (unix ms) the window closes: a window opened again
	// (a collect confirmed into an approval) is a job of its own.
	At int64 `json:"at"`
}

func (expireArgs) Kind() string { return "mdebot_expire" }

type triageArgs struct {
	RequestID string `json:"request_id"`
}

func (triageArgs) Kind() string { return "mdebot_triage" }

// InsertOpts: once per request, completed jobs included (River's default
// unique states), so a second delivery notice queues nothing; a failing
// triage is retried a few times, then left (the request is delivered).
func (triageArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 5, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

type pollArgs struct{}

func (pollArgs) Kind() string { return "mdebot_poll" }

// InsertOpts: a failed poll is not retried; the next period polls again.
func (pollArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 1} }

type pollWorker struct {
	river.WorkerDefaults[pollArgs]
	ref       *runnerRef
	onFailure func(string)
}

func (w *pollWorker) Work(ctx context.Context, _ *river.Job[pollArgs]) error {
	return outcome(handlers.Next{}, w.ref.r.RunPoll(ctx), "poll", w.onFailure, nil, 0)
}

type sweepArgs struct{}

func (sweepArgs) Kind() string { return "mdebot_sweep" }

// InsertOpts: a failed sweep is not retried; the next period sweeps again.
func (sweepArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 1} }

// outcome turns a step's result into River's: an error retries with backoff,
// a wait snoozes (which costs no attempt) and is woken on time by this process.
func outcome(next handlers.Next, err error, job string, onFailure func(string), wake *waker, id int64) error {
	if err != nil {
		onFailure(job)
		return err
	}
	if next.After > 0 {
		if wake != nil {
			wake.at(id, time.Now().Add(next.After))
		}
		return river.JobSnooze(next.After)
	}
	return nil
}

type requestWorker struct {
	river.WorkerDefaults[requestArgs]
	ref       *runnerRef
	wake      *waker
	onFailure func(string)
}

func (w *requestWorker) Work(ctx context.Context, j *river.Job[requestArgs]) error {
	next, err := w.ref.r.RunRequest(ctx, j.Args.RequestID)
	return outcome(next, err, "request", w.onFailure, w.wake, j.ID)
}

type expireWorker struct {
	river.WorkerDefaults[expireArgs]
	ref       *runnerRef
	wake      *waker
	onFailure func(string)
}

func (w *expireWorker) Work(ctx context.Context, j *river.Job[expireArgs]) error {
	next, err := w.ref.r.RunExpiry(ctx, j.Args.RequestID)
	return outcome(next, err, "expire", w.onFailure, w.wake, j.ID)
}

type triageWorker struct {
	river.WorkerDefaults[triageArgs]
	ref       *runnerRef
	onFailure func(string)
}

// Timeout lets a large package be read to its end (the summary reads only
// its small files, but a slow blob store may serve them slowly).
func (w *triageWorker) Timeout(*river.Job[triageArgs]) time.Duration { return 5 * time.Minute }

func (w *triageWorker) Work(ctx context.Context, j *river.Job[triageArgs]) error {
	next, err := w.ref.r.RunTriage(ctx, j.Args.RequestID)
	return outcome(next, err, "triage", w.onFailure, nil, 0)
}

type fetchWorker struct {
	river.WorkerDefaults[fetchArgs]
	ref       *runnerRef
	wake      *waker
	onFailure func(string)
}

// Timeout lets an upload of a large package finish; leases keep a rescued
// duplicate from delivering twice.
func (w *fetchWorker) Timeout(*river.Job[fetchArgs]) time.Duration { return 30 * time.Minute }

func (w *fetchWorker) Work(ctx context.Context, j *river.Job[fetchArgs]) error {
	next, err := w.ref.r.RunFetch(ctx, j.Args.ActionID)
	return outcome(next, err, "fetch", w.onFailure, w.wake, j.ID)
}

type sweepWorker struct {
	river.WorkerDefaults[sweepArgs]
	ref       *runnerRef
	onFailure func(string)
}

func (w *sweepWorker) Work(ctx context.Context, _ *river.Job[sweepArgs]) error {
	return outcome(handlers.Next{}, w.ref.r.Sweep(ctx), "sweep", w.onFailure, nil, 0)
}
