package store_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/mdebot/mdebot/handlers"
	"github.com/mdebot/mdebot/store"
)

// CountPending counts one user's requests in every non-terminal state, in
// one team, and nothing else.
func TestCountPending(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		active := 0
		for i, st := range handlers.States {
			mine := newRequest(fmt.Sprintf("u1-%02d", i), "a", st, t0.Add(time.Duration(i)*time.Second))
			other := newRequest(fmt.Sprintf("u2-%02d", i), "a", st, t0)
			other.User = "U02"
			elsewhere := newRequest(fmt.Sprintf("t2-%02d", i), "a", st, t0)
			elsewhere.Team = "T02"
			mustCreate(t, db, mine, other, elsewhere)
			if !st.Terminal() {
				active++
			}
		}
		if active < 5 {
			t.Fatalf("only %d active states: the test lost its point", active)
		}
		tests := []struct {
			team, user string
			want       int
		}{
			{"T01", "U01", active},
			{"T01", "U02", active},
			{"T02", "U01", active},
			{"T02", "U02", 0},
			{"T01", "U99", 0},
		}
		for _, tt := range tests {
			got, err := db.CountPending(ctx, tt.team, tt.user)
			if err != nil || got != tt.want {
				t.Errorf("CountPending(%s, %s) = %d, %v; want %d", tt.team, tt.user, got, err, tt.want)
			}
		}
		// Ending one lowers the count.
		r, err := db.GetRequest(ctx, "u1-00")
		if err != nil {
			t.Fatal(err)
		}
		from := r.State
		r.State = handlers.StateFailed
		if err := db.UpdateRequest(ctx, r, handlers.Cond{State: from}); err != nil {
			t.Fatal(err)
		}
		if got, err := db.CountPending(ctx, "T01", "U01"); err != nil || got != active-1 {
			t.Errorf("after one failed: CountPending = %d, %v; want %d", got, err, active-1)
		}
		for _, bad := range [][2]string{{"", "U01"}, {"T01", ""}} {
			if _, err := db.CountPending(ctx, bad[0], bad[1]); err == nil {
				t.Errorf("CountPending(%q, %q) succeeded", bad[0], bad[1])
			}
		}
	})
}

// RecentRequests returns one user's latest n requests of one team, newest
// first, whatever their state, and refuses a bad n.
func TestRecentRequests(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for i := range 14 {
			st := handlers.States[i%len(handlers.States)]
			// r06 and r07 were created in the same millisecond: the ID decides.
			at := t0.Add(time.Duration(i) * time.Minute)
			if i == 7 {
				at = t0.Add(6 * time.Minute)
			}
			mustCreate(t, db, newRequest(fmt.Sprintf("r%02d", i), "a", st, at))
		}
		other := newRequest("other-user", "a", handlers.StateWaiting, t0.Add(time.Hour))
		other.User = "U02"
		otherTeam := newRequest("other-team", "a", handlers.StateWaiting, t0.Add(time.Hour))
		otherTeam.Team = "T02"
		mustCreate(t, db, other, otherTeam)
		tests := []struct {
			n    int
			want []string
		}{
			{1, []string{"r13"}},
			{10, []string{"r13", "r12", "r11", "r10", "r09", "r08", "r07", "r06", "r05", "r04"}},
			{100, []string{"r13", "r12", "r11", "r10", "r09", "r08", "r07", "r06", "r05", "r04", "r03", "r02", "r01", "r00"}},
		}
		for _, tt := range tests {
			got, err := db.RecentRequests(ctx, "T01", "U01", tt.n)
			if err != nil {
				t.Fatalf("RecentRequests(%d): %v", tt.n, err)
			}
			if !reflect.DeepEqual(ids(got), tt.want) {
				t.Errorf("RecentRequests(%d) = %v, want %v", tt.n, ids(got), tt.want)
			}
		}
		// Rows come back whole.
		got, _ := db.RecentRequests(ctx, "T01", "U02", 10)
		if len(got) != 1 || got[0].ID != "other-user" || got[0].State != handlers.StateWaiting || got[0].Version != 1 {
			t.Errorf("RecentRequests(U02) = %+v, want other-user as stored", got)
		}
		for _, n := range []int{0, -1, 101} {
			if _, err := db.RecentRequests(ctx, "T01", "U01", n); err == nil {
				t.Errorf("RecentRequests(n=%d) succeeded", n)
			}
		}
		if _, err := db.RecentRequests(ctx, "T01", "", 10); err == nil {
			t.Error("RecentRequests without a user succeeded")
		}
	})
}

// ListBatch returns a batch's requests in creation then ID order, nothing
// of other batches or of requests on their own; CountPending counts a
// batch's active requests as one request.
func TestListBatchAndPendingBatches(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		batch := func(id, batchID string, st handlers.State, at time.Time) *handlers.Request {
			r := newRequest(id, "", st, at)
			r.Kind, r.BatchID = handlers.KindCollect, batchID
			return r
		}
		mustCreate(t, db,
			batch("b1d02", "b1", handlers.StateWaiting, t0),
			batch("b1d01", "b1", handlers.StateAwaitingConfirmation, t0),
			batch("b1d03", "b1", handlers.StateFailed, t0),
			batch("b2d01", "b2", handlers.StateReady, t0.Add(time.Second)),
			batch("b2d02", "b2", handlers.StateDelivered, t0.Add(time.Second)),
			batch("b3d01", "b3", handlers.StateDelivered, t0.Add(time.Second)),
			newRequest("alone1", "a", handlers.StateWaiting, t0),
			newRequest("alone2", "a", handlers.StateDelivered, t0),
		)
		tests := []struct {
			batch string
			want  []string
		}{
			{"b1", []string{"b1d01", "b1d02", "b1d03"}},
			{"b2", []string{"b2d01", "b2d02"}},
			{"nope", nil},
			{"", nil},
		}
		for _, tt := range tests {
			got, err := db.ListBatch(ctx, tt.batch)
			if err != nil || !reflect.DeepEqual(ids(got), tt.want) {
				t.Errorf("ListBatch(%q) = %v, %v; want %v", tt.batch, ids(got), err, tt.want)
			}
		}
		// b1 (two active), b2 (one active) and alone1 are pending; b3 and alone2 ended.
		if got, err := db.CountPending(ctx, "T01", "U01"); err != nil || got != 3 {
			t.Errorf("CountPending = %d, %v; want 3 (two batches and one request on its own)", got, err)
		}
	})
}
