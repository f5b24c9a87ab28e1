package store_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/mdebot/mdebot/handlers"
	"github.com/mdebot/mdebot/identity"
	"github.com/mdebot/mdebot/store"
)

func newKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return k
}

func stepSealer(t *testing.T, key []byte) *identity.StepSealer {
	t.Helper()
	s, err := identity.NewStepSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const token = "xwfp-1-0123456789abcdef"

// A step request is stored in one go with its step; the token is sealed
// (never in clear), comes back with the key, and goes with its request.
func TestStepsRoundTrip(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		key := newKey(t)
		steps := db.Steps(stepSealer(t, key))
		r := newRequest("step-1", "", handlers.StateReceived, t0)
		st := handlers.Step{RequestID: r.ID, ExecutionID: "Fx1", Token: handlers.NewSecret(token), CreatedAt: t0}
		if err := steps.CreateStepRequest(ctx, r, st); err != nil {
			t.Fatal(err)
		}
		if r.Version != 1 {
			t.Errorf("version %d after create, want 1", r.Version)
		}
		got, err := db.GetRequest(ctx, r.ID)
		if err != nil || got.State != handlers.StateReceived || got.Version != 1 {
			t.Fatalf("request %+v, %v", got, err)
		}
		var sealed []byte
		if err := db.SQL.QueryRowContext(ctx, `SELECT sealed_token FROM workflow_steps WHERE request_id = $1`, r.ID).Scan(&sealed); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(sealed, []byte(token)) || len(sealed) == 0 {
			t.Fatalf("token stored as %q", sealed)
		}
		back, err := steps.Step(ctx, r.ID)
		if err != nil || back.Token.Reveal() != token || back.ExecutionID != "Fx1" || !back.CreatedAt.Equal(time.UnixMilli(t0.UnixMilli())) {
			t.Fatalf("step %+v, %v", back, err)
		}
		if has, err := steps.HasStep(ctx, r.ID); err != nil || !has {
			t.Fatalf("HasStep = %v, %v", has, err)
		}
		// Another key does not open it: the step is still there, its token zero.
		if other, err := db.Steps(stepSealer(t, newKey(t))).Step(ctx, r.ID); err != nil || !other.Token.IsZero() {
			t.Fatalf("with another key: %+v, %v", other, err)
		}

		// Copied to another request, the sealed token does not open.
		r2 := newRequest("step-2", "", handlers.StateReceived, t0)
		if err := steps.CreateStepRequest(ctx, r2, handlers.Step{RequestID: r2.ID, ExecutionID: "Fx2", Token: handlers.NewSecret("other")}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SQL.ExecContext(ctx, `UPDATE workflow_steps SET sealed_token = $1 WHERE request_id = $2`, sealed, r2.ID); err != nil {
			t.Fatal(err)
		}
		if moved, _ := steps.Step(ctx, r2.ID); !moved.Token.IsZero() {
			t.Error("a sealed token opened for another request")
		}

		if err := steps.DeleteStep(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := steps.Step(ctx, r.ID); !errors.Is(err, handlers.ErrNotFound) {
			t.Fatalf("after delete: %v, want ErrNotFound", err)
		}
		if has, _ := steps.HasStep(ctx, r.ID); has {
			t.Error("HasStep after delete")
		}

		// Purging the ended request takes its step with it.
		r2.State, r2.ToldAt = handlers.StateFailed, t0
		if err := db.UpdateRequest(ctx, r2, handlers.Cond{State: handlers.StateReceived}); err != nil {
			t.Fatal(err)
		}
		if n, err := db.PurgeRequests(ctx, t0.Add(time.Hour)); err != nil || n != 1 {
			t.Fatalf("purged %d, %v", n, err)
		}
		if has, _ := steps.HasStep(ctx, r2.ID); has {
			t.Error("the step of a purged request is kept")
		}
	})
}

// Bad input stores nothing; a duplicate request stores no second step.
func TestStepsRefuse(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		steps := db.Steps(stepSealer(t, newKey(t)))
		ok := newRequest("step-ok", "", handlers.StateReceived, t0)
		if err := steps.CreateStepRequest(ctx, ok, handlers.Step{RequestID: ok.ID, ExecutionID: "Fx1", Token: handlers.NewSecret(token)}); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name string
			r    *handlers.Request
			st   handlers.Step
		}{
			{"step of another request", newRequest("step-a", "", handlers.StateReceived, t0), handlers.Step{RequestID: "step-b", ExecutionID: "Fx2"}},
			{"no execution", newRequest("step-c", "", handlers.StateReceived, t0), handlers.Step{RequestID: "step-c"}},
			{"bad team", func() *handlers.Request {
				r := newRequest("step-d", "", handlers.StateReceived, t0)
				r.Team = "T:1"
				return r
			}(),
				handlers.Step{RequestID: "step-d", ExecutionID: "Fx3"}},
			{"duplicate request", newRequest("step-ok", "", handlers.StateReceived, t0), handlers.Step{RequestID: "step-ok", ExecutionID: "Fx4"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if err := steps.CreateStepRequest(ctx, tt.r, tt.st); err == nil {
					t.Fatal("accepted")
				}
				if _, err := db.GetRequest(ctx, tt.r.ID); tt.r.ID != "step-ok" && err == nil {
					t.Error("the request was stored")
				}
				if st, err := steps.Step(ctx, "step-ok"); err != nil || st.ExecutionID != "Fx1" {
					t.Errorf("the first step changed: %+v, %v", st, err)
				}
			})
		}
	})
}

// mdebot rekey rewrites the steps' tokens too: they open with the new key only.
func TestStepsRekeyed(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		oldKey, newKeyB := newKey(t), newKey(t)
		r := newRequest("step-rk", "", handlers.StateReceived, t0)
		if err := db.Steps(stepSealer(t, oldKey)).CreateStepRequest(ctx, r, handlers.Step{RequestID: r.ID, ExecutionID: "Fx1", Token: handlers.NewSecret(token)}); err != nil {
			t.Fatal(err)
		}
		rep, err := identity.Rekey(ctx, db, identity.RekeyOptions{OldKey: oldKey, NewKey: newKeyB})
		if err != nil || rep.Rewritten != 1 {
			t.Fatalf("rekey %+v, %v", rep, err)
		}
		if st, err := db.Steps(stepSealer(t, newKeyB)).Step(ctx, r.ID); err != nil || st.Token.Reveal() != token {
			t.Fatalf("with the new key: %+v, %v", st, err)
		}
		if st, _ := db.Steps(stepSealer(t, oldKey)).Step(ctx, r.ID); !st.Token.IsZero() {
			t.Error("the old key still opens the token")
		}
	})
}

// AwaitingApproval lists one team's requests awaiting approval, soonest to
// expire first, at most n.
func TestAwaitingApproval(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var want []string
		for i := range 5 {
			r := newRequest(fmt.Sprintf("wait-%d", i), "a", handlers.StateAwaitingApproval, t0)
			r.ExpiresAt = t0.Add(time.Duration(5-i) * time.Minute) // the last created expires first
			mustCreate(t, db, r)
			want = append([]string{r.ID}, want...)
		}
		other := newRequest("wait-other-team", "a", handlers.StateAwaitingApproval, t0)
		other.Team, other.ExpiresAt = "T02", t0
		mustCreate(t, db, other, newRequest("not-waiting", "a", handlers.StateApproved, t0))
		got, err := db.AwaitingApproval(ctx, "T01", 3)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range got {
			ids = append(ids, r.ID)
		}
		if !slices.Equal(ids, want[:3]) {
			t.Errorf("AwaitingApproval = %v, want %v", ids, want[:3])
		}
		for _, bad := range []struct {
			team string
			n    int
		}{{"", 3}, {"T01", 0}, {"T01", 1001}} {
			if _, err := db.AwaitingApproval(ctx, bad.team, bad.n); err == nil {
				t.Errorf("AwaitingApproval(%q, %d) accepted", bad.team, bad.n)
			}
		}
	})
}
