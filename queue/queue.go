// Package queue runs mdebot's durable jobs on River, in the same database as
// the store (riversqlite for SQLite, riverpgxv5 for PostgreSQL). Workers only
// translate: each job calls a handlers step and snoozes when the step must wait,
// so no worker is held while Defender, the rate limit or an approver is awaited.
package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"

	"github.com/mdebot/mdebot/handlers"
	"github.com/mdebot/mdebot/store"
)

// Runner is what the jobs run (handlers.Service).
type Runner interface {
	RunRequest(ctx context.Context, id string) (handlers.Next, error)
	RunFetch(ctx context.Context, actionID string) (handlers.Next, error)
	RunExpiry(ctx context.Context, id string) (handlers.Next, error)
	RunPoll(ctx context.Context) error
	RunTriage(ctx context.Context, id string) (handlers.Next, error)
	Sweep(ctx context.Context) error
}

// Options tune the queue; zero values take the defaults.
type Options struct {
	Workers int // concurrent jobs (default 10)
	// SweepEvery is the period of the repair sweep (default 30s).
	SweepEvery time.Duration
	// PollEvery is the period of the status poller (mde.poll_interval,
	// default 15s).
	PollEvery time.Duration
	// FetchPoll is how often idle workers look for jobs (default 200ms on
	// SQLite, 1s on PostgreSQL where LISTEN/NOTIFY wakes them sooner).
	FetchPoll time.Duration
	// JobTimeout bounds one step (default 20s); RescueAfter is when a job held
	// by a dead replica is run again (default 30s; River's rescuer looks every
	// 30s, so within about a minute). Fetches run longer (uploads) and are
	// guarded by their own leases against a rescued duplicate.
	JobTimeout  time.Duration
	RescueAfter time.Duration
	Logger      *slog.Logger
	// OnFailure is called with the job kind of each failed run (metrics).
	OnFailure func(job string)
}

// client is the part of river.Client[TTx] the queue uses, whatever TTx is.
type client interface {
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	JobGet(ctx context.Context, id int64) (*rivertype.JobRow, error)
	JobRetry(ctx context.Context, id int64) (*rivertype.JobRow, error)
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
}

// Queue inserts and runs mdebot's jobs.
type Queue struct {
	c      client
	db     *store.DB
	log    *slog.Logger
	runner *runnerRef
	wake   *waker
}

// runnerRef lets workers exist before the runner: the runner needs the queue
// (to start jobs) and the queue's workers need the runner.
type runnerRef struct{ r Runner }

// New builds a queue on db's database; Start runs it.
func New(db *store.DB, o Options) (*Queue, error) {
	if o.Workers <= 0 {
		o.Workers = 10
	}
	if o.SweepEvery <= 0 {
		o.SweepEvery = 30 * time.Second
	}
	if o.PollEvery <= 0 {
		o.PollEvery = 15 * time.Second
	}
	if o.JobTimeout <= 0 {
		o.JobTimeout = 20 * time.Second
	}
	if o.RescueAfter <= o.JobTimeout {
		o.RescueAfter = o.JobTimeout + 10*time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.OnFailure == nil {
		o.OnFailure = func(string) {}
	}
	ref := &runnerRef{}
	wake := &waker{timers: map[int64]*time.Timer{}, log: o.Logger}
	workers := river.NewWorkers()
	river.AddWorker(workers, &requestWorker{ref: ref, wake: wake, onFailure: o.OnFailure})
	river.AddWorker(workers, &fetchWorker{ref: ref, wake: wake, onFailure: o.OnFailure})
	river.AddWorker(workers, &expireWorker{ref: ref, wake: wake, onFailure: o.OnFailure})
	river.AddWorker(workers, &triageWorker{ref: ref, onFailure: o.OnFailure})
	river.AddWorker(workers, &sweepWorker{ref: ref, onFailure: o.OnFailure})
	river.AddWorker(workers, &pollWorker{ref: ref, onFailure: o.OnFailure})
	cfg := &river.Config{
		Queues:               map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: o.Workers}},
		Workers:              workers,
		JobTimeout:           o.JobTimeout,
		RescueStuckJobsAfter: o.RescueAfter,
		MaxAttempts:          20,
		Logger:               o.Logger,
		PeriodicJobs: []*river.PeriodicJob{
			river.NewPeriodicJob(river.PeriodicInterval(o.SweepEvery),
				func() (river.JobArgs, *river.InsertOpts) { return sweepArgs{}, nil },
				&river.PeriodicJobOpts{RunOnStart: true}),
			// One status poller at a time in the deployment (unique while it runs).
			river.NewPeriodicJob(river.PeriodicInterval(o.PollEvery),
				func() (river.JobArgs, *river.InsertOpts) { return pollArgs{}, uniqueOpts(time.Time{}) },
				&river.PeriodicJobOpts{RunOnStart: true}),
		},
	}
	var c client
	var err error
	switch db.Driver {
	case store.DriverSQLite:
		cfg.FetchPollInterval = durOr(o.FetchPoll, 200*time.Millisecond)
		cfg.FetchCooldown = min(cfg.FetchPollInterval, 100*time.Millisecond)
		var rc *river.Client[*sql.Tx]
		rc, err = river.NewClient(riversqlite.New(db.SQL), cfg)
		c = rc
	case store.DriverPostgres:
		cfg.FetchPollInterval = durOr(o.FetchPoll, time.Second)
		cfg.FetchCooldown = min(cfg.FetchPollInterval, 100*time.Millisecond)
		var rc *river.Client[pgx.Tx]
		rc, err = river.NewClient(riverpgxv5.New(db.Pool), cfg)
		c = rc
	default:
		return nil, fmt.Errorf("queue: unknown driver %q", db.Driver)
	}
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	wake.c = c
	return &Queue{c: c, db: db, log: o.Logger, runner: ref, wake: wake}, nil
}

func durOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Start runs the workers with r as the runner. On a SQLite database this
// process alone has open, what a dead predecessor held is freed first.
func (q *Queue) Start(ctx context.Context, r Runner) error {
	if r == nil {
		return errors.New("queue: nil runner")
	}
	q.runner.r = r
	if err := q.freeOrphans(ctx); err != nil {
		return err
	}
	return q.c.Start(ctx)
}

// Stop lets running jobs finish (bounded by ctx) and stops.
func (q *Queue) Stop(ctx context.Context) error {
	q.wake.stop()
	return q.c.Stop(ctx)
}

// StartRequest queues the job of request id unless one is already queued.
func (q *Queue) StartRequest(ctx context.Context, id string) error {
	_, err := q.c.Insert(ctx, requestArgs{RequestID: id}, uniqueOpts(time.Time{}))
	return err
}

// StartFetch queues the fetch job of an action at (or after) at, unless one is already queued.
func (q *Queue) StartFetch(ctx context.Context, actionID string, at time.Time) error {
	return q.insertAt(ctx, fetchArgs{ActionID: actionID}, at)
}

// RecoverFetch queues a fetch of the action beside a stuck one: its args
// differ by epoch, so River's uniqueness does not hold it back.
func (q *Queue) RecoverFetch(ctx context.Context, actionID, epoch string) error {
	_, err := q.c.Insert(ctx, fetchArgs{ActionID: actionID, Epoch: epoch}, uniqueOpts(time.Time{}))
	return err
}

// ScheduleExpiry queues request id's expiry job for at (once per request and
// instant).
func (q *Queue) ScheduleExpiry(ctx context.Context, id string, at time.Time) error {
	return q.insertAt(ctx, expireArgs{RequestID: id, At: at.UnixMilli()}, at)
}

// insertAt queues a unique job due at at. One due now is inserted without a
// scheduled time: River's SQLite driver stores a job whose ScheduledAt is our
// "now" (even one in the past) as scheduled, and it then waits for River's
// scheduler pass, up to 5 s. One due later is woken at its instant by this
// process (also when it was queued already: the wake may be this process's
// first, after a restart).
func (q *Queue) insertAt(ctx context.Context, args river.JobArgs, at time.Time) error {
	if !at.After(time.Now()) {
		at = time.Time{}
	}
	res, err := q.c.Insert(ctx, args, uniqueOpts(at))
	if err != nil {
		return err
	}
	if !at.IsZero() {
		q.wake.at(res.Job.ID, at)
	}
	return nil
}

// StartTriage queues request id's triage job, once per request (see
// triageArgs.InsertOpts).
func (q *Queue) StartTriage(ctx context.Context, id string) error {
	_, err := q.c.Insert(ctx, triageArgs{RequestID: id}, nil)
	return err
}

// uniqueStates are the states in which a job blocks a duplicate. Completed
// is left out so a request or action can be worked again later.
var uniqueStates = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
	rivertype.JobStateRunning, rivertype.JobStateScheduled,
}

func uniqueOpts(at time.Time) *river.InsertOpts {
	return &river.InsertOpts{ScheduledAt: at, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: uniqueStates}}
}
