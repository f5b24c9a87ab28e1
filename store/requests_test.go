package store_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/mdebot/mdebot/handlers"
	"github.com/mdebot/mdebot/store"
)

// t0 has nanoseconds and a non-UTC zone on purpose: the store keeps
// milliseconds and gives UTC back.
var t0 = time.Date(2025, 3, 14, 9, 26, 53, 589_793_238, time.FixedZone("CET", 3600))

// fullRequest sets every field of Request to a non-zero value.
func fullRequest(id string) *handlers.Request {
	return &handlers.Request{
		ID: id, Team: "T01", Channel: "C01", ChannelName: "inc-42", User: "U01",
		Kind: handlers.KindCollect, ActionID: "7f1b2c3d-0000-4000-8000-000000000001",
		MachineID: "1e5bc9d7e413ddd7902c2932e418702b84d0cc07", MachineName: "host-01.contoso.local",
		Comment: "ticket INC-42 ✓ 'quoted' \"double\"", Delivery: handlers.DeliveryUpload,
		ResponseURL: "https://hooks.slack.com/commands/T01/123/abc", State: handlers.StateWaiting,
		Detail: "waiting for Defender", LastStatus: "InProgress", MessageTS: "1700000000.000100",
		RequiredApprovals: 2, Approvers: []string{"U02", "S03"},
		ExpiresAt: t0.Add(time.Hour), ExpiresAfter: 10 * time.Minute, WaitDeadline: t0.Add(30 * time.Minute), Polls: 3,
		QueuePosition: 4, LeaseOwner: "replica-1", LeaseUntil: t0.Add(time.Minute),
		SHA256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Bytes: 1 << 40,
		CreatedAt: t0, UpdatedAt: t0.Add(time.Second), ToldAt: t0.Add(2 * time.Second),
		DecidedBy: "U02", ActionCreated: t0.Add(-time.Hour), ActionUpdated: t0.Add(-time.Minute),
		Path: `C:\Users\o'brien\AppData\Local\Temp\a "b".txt`, BatchID: "b7a1c2d3e4f50617",
	}
}

// newRequest is a minimal request of actionID in state, created at created.
func newRequest(id, actionID string, state handlers.State, created time.Time) *handlers.Request {
	return &handlers.Request{ID: id, Team: "T01", Channel: "C01", User: "U01", Kind: handlers.KindGet,
		ActionID: actionID, Delivery: handlers.DeliveryLink, State: state, CreatedAt: created, UpdatedAt: created}
}

// stored is what the store gives back for r: times to the millisecond in UTC.
func stored(r handlers.Request) handlers.Request {
	for _, p := range []*time.Time{&r.ExpiresAt, &r.WaitDeadline, &r.LeaseUntil, &r.CreatedAt, &r.UpdatedAt, &r.ToldAt, &r.ActionCreated, &r.ActionUpdated} {
		if !p.IsZero() {
			*p = time.UnixMilli(p.UnixMilli()).UTC()
		}
	}
	return r
}

func checkRequest(t *testing.T, got *handlers.Request, want handlers.Request) {
	t.Helper()
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("request %s:\n got %+v\nwant %+v", want.ID, *got, want)
	}
	for _, tm := range []time.Time{got.ExpiresAt, got.WaitDeadline, got.LeaseUntil, got.CreatedAt, got.UpdatedAt, got.ToldAt} {
		if !tm.IsZero() && tm.Location() != time.UTC {
			t.Errorf("request %s: time %v not in UTC", want.ID, tm)
		}
	}
}

func mustCreate(t *testing.T, db *store.DB, rs ...*handlers.Request) {
	t.Helper()
	for _, r := range rs {
		if err := db.CreateRequest(context.Background(), r); err != nil {
			t.Fatalf("CreateRequest(%s): %v", r.ID, err)
		}
	}
}

func TestRequestRoundTrip(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tests := []struct {
			name string
			req  *handlers.Request
		}{
			{"every field set", fullRequest("r-full")},
			{"zero values", &handlers.Request{ID: "r-zero"}},
			{"empty approvers", &handlers.Request{ID: "r-empty", Approvers: nil, CreatedAt: t0}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tt.req.Version = 42 // CreateRequest sets 1 whatever the caller had
				if err := db.CreateRequest(ctx, tt.req); err != nil {
					t.Fatalf("CreateRequest: %v", err)
				}
				if tt.req.Version != 1 {
					t.Errorf("Version after create = %d, want 1", tt.req.Version)
				}
				got, err := db.GetRequest(ctx, tt.req.ID)
				if err != nil {
					t.Fatalf("GetRequest: %v", err)
				}
				checkRequest(t, got, stored(*tt.req))
			})
		}

		t.Run("update writes every field", func(t *testing.T) {
			r, err := db.GetRequest(ctx, "r-full")
			if err != nil {
				t.Fatalf("GetRequest: %v", err)
			}
			next := fullRequest("r-full")
			next.Version = r.Version
			next.State, next.Detail, next.Approvers, next.ExpiresAfter = handlers.StateDelivered, "delivered by upload", []string{"U09"}, time.Minute
			if err := db.UpdateRequest(ctx, next, handlers.Cond{State: r.State}); err != nil {
				t.Fatalf("UpdateRequest: %v", err)
			}
			if next.Version != 2 {
				t.Errorf("Version after update = %d, want 2", next.Version)
			}
			got, err := db.GetRequest(ctx, "r-full")
			if err != nil {
				t.Fatalf("GetRequest: %v", err)
			}
			checkRequest(t, got, stored(*next))
		})

		t.Run("duplicate ID refused", func(t *testing.T) {
			if err := db.CreateRequest(ctx, fullRequest("r-full")); err == nil {
				t.Fatal("CreateRequest of an existing ID succeeded")
			}
		})
	})
}

func TestRequestNotFoundAndConflict(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := db.GetRequest(ctx, "missing"); !errors.Is(err, handlers.ErrNotFound) {
			t.Errorf("GetRequest(missing) = %v, want ErrNotFound", err)
		}
		ghost := newRequest("ghost", "a", handlers.StateReady, t0)
		ghost.Version = 1
		if err := db.UpdateRequest(ctx, ghost, handlers.Cond{State: handlers.StateReady}); !errors.Is(err, handlers.ErrNotFound) {
			t.Errorf("UpdateRequest(missing) = %v, want ErrNotFound", err)
		}

		mustCreate(t, db, newRequest("r1", "a", handlers.StateApproved, t0))
		first, _ := db.GetRequest(ctx, "r1")
		second, _ := db.GetRequest(ctx, "r1")
		first.State, first.Detail = handlers.StateWaiting, "first writer"
		if err := db.UpdateRequest(ctx, first, handlers.Cond{State: handlers.StateApproved}); err != nil {
			t.Fatalf("first UpdateRequest: %v", err)
		}
		second.State, second.Detail = handlers.StateFailed, "second writer"
		err := db.UpdateRequest(ctx, second, handlers.Cond{State: handlers.StateApproved})
		if !errors.Is(err, handlers.ErrConflict) {
			t.Fatalf("stale UpdateRequest = %v, want ErrConflict", err)
		}
		if second.Version != 1 {
			t.Errorf("stale copy's Version moved to %d", second.Version)
		}
		got, _ := db.GetRequest(ctx, "r1")
		if got.Detail != "first writer" || got.State != handlers.StateWaiting || got.Version != 2 {
			t.Errorf("after conflict stored = %q %s v%d, want first writer's waiting v2", got.Detail, got.State, got.Version)
		}
	})
}

func TestRequestDetailURLQueryRedacted(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r := newRequest("r1", "a", handlers.StateFailed, t0)
		r.Detail = `download failed: Get "https://automatedirstrprdweu.blob.core.windows.net/pkg.zip?sv=2020&sig=SECRET": EOF`
		mustCreate(t, db, r)
		got, _ := db.GetRequest(ctx, "r1")
		want := `download failed: Get "https://automatedirstrprdweu.blob.core.windows.net/pkg.zip?REDACTED": EOF`
		if got.Detail != want {
			t.Errorf("Detail = %q, want %q", got.Detail, want)
		}
	})
}

func TestListRequests(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mustCreate(t, db,
			newRequest("c", "a", handlers.StateWaiting, t0.Add(2*time.Second)),
			newRequest("a", "a", handlers.StateAwaitingApproval, t0),
			newRequest("b", "a", handlers.StateWaiting, t0.Add(time.Second)),
			newRequest("d", "a", handlers.StateDelivered, t0.Add(-time.Second)),
		)
		tests := []struct {
			states []handlers.State
			want   []string
		}{
			{[]handlers.State{handlers.StateWaiting}, []string{"b", "c"}},
			{[]handlers.State{handlers.StateWaiting, handlers.StateAwaitingApproval}, []string{"a", "b", "c"}},
			{[]handlers.State{handlers.StateFailed}, nil},
			{nil, []string{"d", "a", "b", "c"}},
		}
		for _, tt := range tests {
			t.Run(fmt.Sprint(tt.states), func(t *testing.T) {
				rs, err := db.ListRequests(ctx, tt.states...)
				if err != nil {
					t.Fatalf("ListRequests: %v", err)
				}
				if got := ids(rs); !reflect.DeepEqual(got, tt.want) {
					t.Errorf("ListRequests(%v) = %v, want %v", tt.states, got, tt.want)
				}
			})
		}
	})
}

func TestListUntold(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var all []*handlers.Request
		for i, st := range []handlers.State{handlers.StateAwaitingConfirmation, handlers.StateAwaitingApproval,
			handlers.StateApproved, handlers.StateWaiting, handlers.StateReady, handlers.StateFetching,
			handlers.StateDelivered, handlers.StateFailed, handlers.StateDenied, handlers.StateExpired, handlers.StateCancelled} {
			untold := newRequest(fmt.Sprintf("%02d-%s", i, st), "a", st, t0.Add(time.Duration(i)*time.Second))
			told := newRequest(fmt.Sprintf("%02d-%s-told", i, st), "a", st, t0.Add(time.Duration(i)*time.Second))
			told.ToldAt = t0.Add(time.Hour)
			all = append(all, untold, told)
		}
		mustCreate(t, db, all...)
		got, err := db.ListUntold(ctx)
		if err != nil {
			t.Fatalf("ListUntold: %v", err)
		}
		want := []string{"06-delivered", "07-failed", "08-denied", "09-expired", "10-cancelled"}
		if !reflect.DeepEqual(ids(got), want) {
			t.Errorf("ListUntold = %v, want %v", ids(got), want)
		}
		for _, r := range got {
			if !r.State.Terminal() {
				t.Errorf("%s is not terminal", r.ID)
			}
		}
	})
}

func ids(rs []*handlers.Request) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func TestClaimReady(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := t0.Add(10 * time.Minute)
		expired := newRequest("expired", "A", handlers.StateFetching, t0.Add(-time.Second))
		expired.LeaseOwner, expired.LeaseUntil = "dead-replica", now.Add(-time.Millisecond)
		live := newRequest("live", "A", handlers.StateFetching, t0)
		live.LeaseOwner, live.LeaseUntil = "other", now.Add(30*time.Second)
		mustCreate(t, db,
			newRequest("ready2", "A", handlers.StateReady, t0.Add(2*time.Second)),
			newRequest("ready1", "A", handlers.StateReady, t0.Add(time.Second)),
			expired, live,
			newRequest("waiting", "A", handlers.StateWaiting, t0),
			newRequest("delivered", "A", handlers.StateDelivered, t0),
			newRequest("other-action", "B", handlers.StateReady, t0),
		)

		lease := now.Add(time.Minute)
		got, err := db.ClaimReady(ctx, "A", "w1", lease, now)
		if err != nil {
			t.Fatalf("ClaimReady: %v", err)
		}
		if want := []string{"expired", "ready1", "ready2"}; !reflect.DeepEqual(ids(got), want) {
			t.Fatalf("claimed %v, want %v (oldest first)", ids(got), want)
		}
		for _, r := range got {
			stored, _ := db.GetRequest(ctx, r.ID)
			if !reflect.DeepEqual(r, stored) {
				t.Errorf("returned %+v differs from stored %+v", r, stored)
			}
			if r.State != handlers.StateFetching || r.LeaseOwner != "w1" || !r.LeaseUntil.Equal(lease.Truncate(time.Millisecond)) || r.Version != 2 {
				t.Errorf("%s after claim: %s owner %q until %v v%d", r.ID, r.State, r.LeaseOwner, r.LeaseUntil, r.Version)
			}
		}
		for id, want := range map[string]handlers.State{"live": handlers.StateFetching, "waiting": handlers.StateWaiting,
			"delivered": handlers.StateDelivered, "other-action": handlers.StateReady} {
			r, _ := db.GetRequest(ctx, id)
			if r.State != want || r.Version != 1 {
				t.Errorf("%s touched by the claim: %s v%d", id, r.State, r.Version)
			}
		}
		if r, _ := db.GetRequest(ctx, "live"); r.LeaseOwner != "other" {
			t.Errorf("live lease stolen: owner %q", r.LeaseOwner)
		}

		if again, err := db.ClaimReady(ctx, "A", "w2", lease, now); err != nil || len(again) != 0 {
			t.Errorf("second claim = %v, %v; want nothing", ids(again), err)
		}

		// ExtendLease moves only w1's leases.
		extended := now.Add(5 * time.Minute)
		if err := db.ExtendLease(ctx, "w1", extended); err != nil {
			t.Fatalf("ExtendLease: %v", err)
		}
		for _, id := range []string{"expired", "ready1", "ready2", "live"} {
			r, _ := db.GetRequest(ctx, id)
			want := extended.Truncate(time.Millisecond)
			if id == "live" {
				want = live.LeaseUntil.Truncate(time.Millisecond)
			}
			if !r.LeaseUntil.Equal(want) {
				t.Errorf("%s lease until %v, want %v", id, r.LeaseUntil, want)
			}
		}
		// Past the extended lease everything of A still fetching is up for grabs.
		later, err := db.ClaimReady(ctx, "A", "w2", extended.Add(time.Minute), extended.Add(time.Millisecond))
		if err != nil {
			t.Fatalf("ClaimReady later: %v", err)
		}
		if want := []string{"expired", "live", "ready1", "ready2"}; !reflect.DeepEqual(ids(later), want) {
			t.Errorf("later claim %v, want %v", ids(later), want)
		}
	})
}

// Two replicas (separate handles on one database) claim the same action at
// the same moment, round after round: each request goes to exactly one.
func TestClaimReadyConcurrent(t *testing.T) {
	forEachDSN(t, func(t *testing.T, driver, dsn string) {
		ctx := context.Background()
		dbs := []*store.DB{openDB(t, driver, dsn), openDB(t, driver, dsn)}
		const rounds, perRound = 15, 8
		for round := range rounds {
			action := fmt.Sprintf("act-%d", round)
			for i := range perRound {
				r := newRequest(fmt.Sprintf("%s-r%d", action, i), action, handlers.StateReady, t0.Add(time.Duration(i)*time.Millisecond))
				if round%2 == 1 && i%2 == 1 {
					// Odd rounds mix in requests whose lease ended.
					r.State, r.LeaseOwner, r.LeaseUntil = handlers.StateFetching, "dead", t0
				}
				mustCreate(t, dbs[0], r)
			}
			var (
				wg    sync.WaitGroup
				start = make(chan struct{})
				got   = make([][]*handlers.Request, len(dbs))
				errs  = make([]error, len(dbs))
			)
			for i, db := range dbs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					got[i], errs[i] = db.ClaimReady(ctx, action, fmt.Sprintf("w%d", i), t0.Add(time.Hour), t0.Add(time.Minute))
				}()
			}
			close(start)
			wg.Wait()
			seen := map[string]int{}
			for i := range dbs {
				if errs[i] != nil {
					t.Fatalf("round %d claimer %d: %v", round, i, errs[i])
				}
				for _, r := range got[i] {
					seen[r.ID]++
					if r.LeaseOwner != fmt.Sprintf("w%d", i) {
						t.Errorf("round %d: %s returned to w%d with owner %q", round, r.ID, i, r.LeaseOwner)
					}
				}
			}
			if len(seen) != perRound {
				t.Errorf("round %d: %d distinct requests claimed, want %d", round, len(seen), perRound)
			}
			for id, n := range seen {
				if n != 1 {
					t.Errorf("round %d: %s claimed %d times", round, id, n)
				}
			}
		}
	})
}

// The conditional update re-checks a transition's guard in its WHERE clause:
// the state, the lease owner, and the expiry relative to the decision instant.
func TestUpdateRequestGuard(t *testing.T) {
	closes := t0.Add(10 * time.Minute)
	tests := []struct {
		name string
		c    handlers.Cond
		ok   bool
	}{
		{"state matches", handlers.Cond{State: handlers.StateFetching}, true},
		{"state moved on", handlers.Cond{State: handlers.StateReady}, false},
		{"owner holds the claim", handlers.Cond{State: handlers.StateFetching, Owner: "owner-1"}, true},
		{"another owner", handlers.Cond{State: handlers.StateFetching, Owner: "owner-2"}, false},
		{"live a millisecond before", handlers.Cond{State: handlers.StateFetching, LiveAt: closes.Add(-time.Millisecond)}, true},
		{"live at the instant it closes", handlers.Cond{State: handlers.StateFetching, LiveAt: closes}, false},
		{"lapsed at the instant it closes", handlers.Cond{State: handlers.StateFetching, LapsedAt: closes}, true},
		{"lapsed a millisecond before", handlers.Cond{State: handlers.StateFetching, LapsedAt: closes.Add(-time.Millisecond)}, false},
	}
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for i, tt := range tests {
			r := newRequest(fmt.Sprintf("g%d", i), "a", handlers.StateFetching, t0)
			r.LeaseOwner, r.ExpiresAt = "owner-1", closes
			mustCreate(t, db, r)
			r.Detail = "written"
			err := db.UpdateRequest(ctx, r, tt.c)
			if tt.ok != (err == nil) || (err != nil && !errors.Is(err, handlers.ErrConflict)) {
				t.Errorf("%s: UpdateRequest = %v, want ok=%v (else ErrConflict)", tt.name, err, tt.ok)
			}
			got, _ := db.GetRequest(ctx, r.ID)
			if (got.Detail == "written") != tt.ok {
				t.Errorf("%s: stored detail %q after UpdateRequest", tt.name, got.Detail)
			}
		}
		if err := db.UpdateRequest(ctx, newRequest("g0", "a", handlers.StateFetching, t0), handlers.Cond{}); err == nil {
			t.Error("an update without a state in its condition succeeded")
		}
	})
}
