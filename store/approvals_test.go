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
		mustCreate(t, db, newRequest("r1", "a", handlers.StateAwaitingApproval, t0),
			newRequest("r2", "a", handlers.StateAwaitingApproval, t0))
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
			"unknown request": {RequestID: "missing", Approver: "U2", At: t0},
			"no approver":     {RequestID: "missing", At: t0},
		} {
			if added, err := db.AddDecision(context.Background(), d); err == nil || added {
				t.Errorf("%s: AddDecision = %v, %v; want an error", name, added, err)
			}
		}
	})
}
