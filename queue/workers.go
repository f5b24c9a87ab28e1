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

type sweepArgs struct{}

func (sweepArgs) Kind() string { return "mdebot_sweep" }

// InsertOpts: a failed sweep is not retried; the next period sweeps again.
func (sweepArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 1} }

// outcome turns a step's result into River's: an error retries with backoff,
// a wait snoozes (which costs no attempt).
func outcome(next handlers.Next, err error, job string, onFailure func(string)) error {
	if err != nil {
		onFailure(job)
		return err
	}
	if next.After > 0 {
		return river.JobSnooze(next.After)
	}
	return nil
}

type requestWorker struct {
	river.WorkerDefaults[requestArgs]
	ref       *runnerRef
	onFailure func(string)
}

func (w *requestWorker) Work(ctx context.Context, j *river.Job[requestArgs]) error {
	next, err := w.ref.r.RunRequest(ctx, j.Args.RequestID)
	return outcome(next, err, "request", w.onFailure)
}

type fetchWorker struct {
	river.WorkerDefaults[fetchArgs]
	ref       *runnerRef
	onFailure func(string)
}

// Timeout lets an upload of a large package finish; leases keep a rescued
// duplicate from delivering twice.
func (w *fetchWorker) Timeout(*river.Job[fetchArgs]) time.Duration { return 30 * time.Minute }

func (w *fetchWorker) Work(ctx context.Context, j *river.Job[fetchArgs]) error {
	next, err := w.ref.r.RunFetch(ctx, j.Args.ActionID)
	return outcome(next, err, "fetch", w.onFailure)
}

type sweepWorker struct {
	river.WorkerDefaults[sweepArgs]
	ref       *runnerRef
	onFailure func(string)
}

func (w *sweepWorker) Work(ctx context.Context, _ *river.Job[sweepArgs]) error {
	return outcome(handlers.Next{}, w.ref.r.Sweep(ctx), "sweep", w.onFailure)
}
