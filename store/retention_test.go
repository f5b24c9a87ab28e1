package store_test

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/mdebot/mdebot/handlers"
	"github.com/mdebot/mdebot/store"
)

// PurgeRequests deletes exactly the ended requests told before the cut-off,
// with their decisions, over several batches; it keeps active requests,
// ended ones not told yet, and those told since.
func TestPurgeRequests(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		cut := t0.Add(30 * 24 * time.Hour)
		old, recent := cut.Add(-time.Hour), cut.Add(time.Hour)
		mk := func(id string, st handlers.State, told time.Time) *handlers.Request {
			r := newRequest(id, "a", st, t0)
			r.ToldAt = told
			return r
		}
		var want []string // kept
		// More than two batches, in every terminal state; one by one through
		// CreateRequest, then the rest in one statement (faster).
		const purgeable = 1100
		for i, st := range []handlers.State{handlers.StateDelivered, handlers.StateFailed, handlers.StateDenied,
			handlers.StateExpired, handlers.StateCancelled} {
			mustCreate(t, db, mk(fmt.Sprintf("gone-%04d", i), st, old))
		}
		if _, err := db.SQL.ExecContext(ctx, `INSERT INTO requests (id, team, channel, requester, kind, state, created_at, told_at, version)
			WITH RECURSIVE s(i) AS (SELECT 5 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < $1)
			SELECT 'gone-' || i, 'T01', 'C01', 'U01', 'get', 'delivered', 1, CAST($2 AS BIGINT), 1 FROM s`,
			purgeable, old.UnixMilli()); err != nil {
			t.Fatal(err)
		}
		for _, r := range []*handlers.Request{
			mk("keep-told-since", handlers.StateDelivered, recent),
			mk("keep-told-at-cut", handlers.StateDelivered, cut),
			mk("keep-untold", handlers.StateFailed, time.Time{}),
			mk("keep-active", handlers.StateWaiting, time.Time{}),
			mk("keep-awaiting", handlers.StateAwaitingApproval, time.Time{}),
		} {
			mustCreate(t, db, r)
			want = append(want, r.ID)
		}
		// Decisions on a purged request and on a kept one.
		for _, id := range []string{"gone-0001", "keep-awaiting"} {
			if _, err := db.SQL.ExecContext(ctx, `INSERT INTO decisions (request_id, approver, approve, at)
				VALUES ($1, 'U09', 1, 1)`, id); err != nil {
				t.Fatal(err)
			}
		}
		n, err := db.PurgeRequests(ctx, cut)
		if err != nil || n != purgeable {
			t.Fatalf("PurgeRequests = %d, %v; want %d", n, err, purgeable)
		}
		left, err := db.ListRequests(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := ids(left)
		sort.Strings(got)
		sort.Strings(want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("kept %v, want %v", got, want)
		}
		var decisions []string
		rows, err := db.SQL.QueryContext(ctx, `SELECT request_id FROM decisions ORDER BY request_id`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id string
			_ = rows.Scan(&id)
			decisions = append(decisions, id)
		}
		rows.Close()
		if !reflect.DeepEqual(decisions, []string{"keep-awaiting"}) {
			t.Errorf("decisions left on %v, want only keep-awaiting's", decisions)
		}
		if n, err := db.PurgeRequests(ctx, cut); err != nil || n != 0 {
			t.Errorf("second PurgeRequests = %d, %v; want 0", n, err)
		}
		if n, err := db.PurgeRequests(ctx, time.Time{}); err != nil || n != 0 {
			t.Errorf("PurgeRequests(zero time) = %d, %v; want 0", n, err)
		}
	})
}

// PurgeAudit deletes the events before the cut-off, over several batches,
// and nothing recorded at or after it.
func TestPurgeAudit(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		const before, after = 12_000, 7 // more than two batches before the cut
		insertAuditSeries(t, db, t0.Add(-before*time.Second), before+after, time.Second)
		cut := t0
		n, err := db.PurgeAudit(ctx, cut)
		if err != nil || n != before {
			t.Fatalf("PurgeAudit = %d, %v; want %d", n, err, before)
		}
		left, err := db.ListAudit(ctx, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if len(left) != after || left[0].At.Before(cut.Truncate(time.Millisecond)) {
			t.Errorf("%d events left (first at %v), want %d from %v on", len(left), left[0].At, after, cut)
		}
		if n, err := db.PurgeAudit(ctx, cut); err != nil || n != 0 {
			t.Errorf("second PurgeAudit = %d, %v; want 0", n, err)
		}
	})
}

// insertAuditSeries appends n events "e<i>" every step from start, in one
// statement (AppendAudit one by one would make the test slow).
func insertAuditSeries(t *testing.T, db *store.DB, start time.Time, n int, step time.Duration) {
	t.Helper()
	_, err := db.SQL.ExecContext(context.Background(), `INSERT INTO audit_events (at, event)
		WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < $1)
		SELECT CAST($2 AS BIGINT) + i * CAST($3 AS BIGINT), 'e' || i FROM s`,
		n, start.UnixMilli(), step.Milliseconds())
	if err != nil {
		t.Fatalf("insert %d audit events: %v", n, err)
	}
}
