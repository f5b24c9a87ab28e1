package queue

import (
	"context"
	"fmt"

	"github.com/mdebot/mdebot/store"
)

// freeOrphans frees, on a SQLite file no other process has open, what a
// killed predecessor held: jobs it was running go back to available (River
// would wait RescueAfter for them), and its leadership is dropped (the new
// process would otherwise wait out the dead leader's term before scheduling
// anything). With several processes on one database nothing is touched:
// River's rescuer and leader election handle a dead peer.
func (q *Queue) freeOrphans(ctx context.Context) error {
	if q.db.Driver != store.DriverSQLite || !q.db.Sole() {
		return nil
	}
	res, err := q.db.SQL.ExecContext(ctx, `UPDATE river_job SET state = 'available' WHERE state = 'running'`)
	if err != nil {
		return fmt.Errorf("queue: free jobs of a dead process: %w", err)
	}
	if _, err := q.db.SQL.ExecContext(ctx, `DELETE FROM river_leader`); err != nil {
		return fmt.Errorf("queue: drop a dead process's leadership: %w", err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		q.log.Info("freed jobs a previous process held when it stopped", "jobs", n)
	}
	return nil
}
