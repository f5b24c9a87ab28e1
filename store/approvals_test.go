package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/mdebot/mdebot/handlers"
	"github.com/mdebot/mdebot/store"
)

func TestAddDecisionIdempotent(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r1, r2 := newRequest("r1", "a", handlers.StateAwaitingApproval, t0), newRequest("r2", "a", handlers.StateAwaitingApproval, t0)
		r1.ExpiresAt, r2.ExpiresAt = t0.Add(time.Hour), t0.Add(time.Hour)
		mustCreate(t, db, r1, r2)
		at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
		steps := []struct {
			d         handlers.Decision
			wantAdded bool
		}{
			{handlers.Decision{RequestID: "r1", Approver: "U2", Approve: true, At: at(1)}, true},
			{handlers.Decision{RequestID: "r1", Approver: "U2", Approve: false, At: at(2)}, false}, // changes nothing
			{handlers.Decision{RequestID: "r1", Approver: "U3", Approve: false, At: at(3)}, true},
			{handlers.Decision{RequestID: "r2", Approver: "U2", Approve: false, At: at(4)}, true}, // another request
			{handlers.Decision{RequestID: "r1", Approver: "U3", Approve: true, At: at(5)}, false},
		}
		for i, s := range steps {
			added, err := db.AddDecision(ctx, s.d)
			if err != nil {
				t.Fatalf("step %d AddDecision: %v", i, err)
			}
			if added != s.wantAdded {
				t.Errorf("step %d AddDecision(%+v) added = %v, want %v", i, s.d, added, s.wantAdded)
			}
		}
		got, err := db.Decisions(ctx, "r1")
		if err != nil {
			t.Fatalf("Decisions: %v", err)
		}
		utc := func(s int) time.Time { return time.UnixMilli(at(s).UnixMilli()).UTC() }
		want := []handlers.Decision{
			{RequestID: "r1", Approver: "U2", Approve: true, At: utc(1)},
			{RequestID: "r1", Approver: "U3", Approve: false, At: utc(3)},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Decisions(r1) =\n %+v\nwant\n %+v", got, want)
		}
		if none, err := db.Decisions(ctx, "nobody"); err != nil || len(none) != 0 {
			t.Errorf("Decisions(nobody) = %v, %v; want none", none, err)
		}
	})
}

func TestAddDecisionBadInput(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		for name, d := range map[string]handlers.Decision{
			"no request id": {Approver: "U2", At: t0},
			"no approver":   {RequestID: "missing", At: t0},
		} {
			if added, err := db.AddDecision(context.Background(), d); err == nil || added {
				t.Errorf("%s: AddDecision = %v, %v; want an error", name, added, err)
			}
		}
	})
}

// A decision is judged at the instant it is recorded: only while the request
// awaits approval and before its window closes, in the same statement.
func TestAddDecisionGuarded(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		closes := t0.Add(10 * time.Minute)
		open := newRequest("open", "a", handlers.StateAwaitingApproval, t0)
		approved := newRequest("approved", "a", handlers.StateApproved, t0)
		open.ExpiresAt, approved.ExpiresAt = closes, closes
		mustCreate(t, db, open, approved)
		tests := []struct {
			name string
			d    handlers.Decision
			want bool
		}{
			{"unknown request", handlers.Decision{RequestID: "missing", Approver: "U2", Approve: true, At: t0}, false},
			{"request moved on", handlers.Decision{RequestID: "approved", Approver: "U2", Approve: false, At: t0}, false},
			{"at the instant the window closes", handlers.Decision{RequestID: "open", Approver: "U2", Approve: true, At: closes}, false},
			{"a millisecond after", handlers.Decision{RequestID: "open", Approver: "U3", Approve: true, At: closes.Add(time.Millisecond)}, false},
			{"a millisecond before", handlers.Decision{RequestID: "open", Approver: "U4", Approve: true, At: closes.Add(-time.Millisecond)}, true},
		}
		for _, tt := range tests {
			added, err := db.AddDecision(ctx, tt.d)
			if err != nil || added != tt.want {
				t.Errorf("%s: AddDecision = %v, %v; want %v", tt.name, added, err, tt.want)
			}
		}
		ds, err := db.Decisions(ctx, "open")
		if err != nil || len(ds) != 1 || ds[0].Approver != "U4" {
			t.Errorf("decisions on open = %+v, %v; want only U4's", ds, err)
		}
	})
}
