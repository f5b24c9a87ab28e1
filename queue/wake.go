package queue

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/riverqueue/river/rivertype"
)

// waker makes this process's scheduled jobs (snoozes, expiries) available at
// their instant. River's own scheduler promotes them only every 5 s, on the
// leader; the durable row stays the same, so if this process dies the
// scheduler still runs them, a few seconds later.
type waker struct {
	c   client
	log *slog.Logger

	mu      sync.Mutex
	stopped bool
	timers  map[int64]*time.Timer
}

// wakeSlack lets River's completer record a snooze before the timer fires.
const wakeSlack = 20 * time.Millisecond

// at wakes job id at t (replacing an earlier wake of the same job).
func (w *waker) at(id int64, t time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped || w.c == nil {
		return
	}
	if old := w.timers[id]; old != nil {
		old.Stop()
	}
	w.timers[id] = time.AfterFunc(max(time.Until(t), 0)+wakeSlack, func() { w.fire(id) })
}

// fire makes the job available if it is still scheduled. A job another
// process ran meanwhile is left alone (JobRetry would run a finished one again).
func (w *waker) fire(id int64) {
	w.mu.Lock()
	delete(w.timers, id)
	stopped := w.stopped
	w.mu.Unlock()
	if stopped {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	row, err := w.c.JobGet(ctx, id)
	if err != nil || row.State != rivertype.JobStateScheduled {
		return
	}
	if _, err := w.c.JobRetry(ctx, id); err != nil {
		w.log.Debug("waking a scheduled job failed; River's scheduler will", "job_id", id, "err", err)
	}
}

// stop cancels every pending wake.
func (w *waker) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	for id, t := range w.timers {
		t.Stop()
		delete(w.timers, id)
	}
}
