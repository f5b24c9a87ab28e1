package handlers_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdebot/mdebot/handlers"
	"github.com/mdebot/mdebot/mde"
	"github.com/mdebot/mdebot/store"
)

// Every pair of states: a pair the table does not allow is refused and
// leaves the row as it was; an allowed one moves (a decision's edge while
// the window is open, an expiry's once it closed); terminal states have no
// way out.
func TestTransitionTable(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() *store.DB) {
		e := newEnv(t, open())
		ctx := context.Background()
		for i, from := range handlers.States {
			for j, to := range handlers.States {
				need, allowed := handlers.CanMove(from, to)
				if from.Terminal() && allowed {
					t.Errorf("%s -> %s allowed out of a terminal state", from, to)
				}
				r := e.pending(t, fmt.Sprintf("tt-%02d-%02d", i, j))
				r.State, r.LeaseOwner = from, "owner-1"
				if err := e.db.UpdateRequest(ctx, r, handlers.Cond{State: handlers.StateAwaitingApproval}); err != nil {
					t.Fatal(err)
				}
				at := t0.Add(time.Minute) // the window is open
				if need == handlers.NeedLapsed {
					at = r.ExpiresAt
				}
				e.clock.Set(at)
				moved, err := e.svc.Move(ctx, r, to, time.Time{}, "")
				got := e.get(t, r.ID)
				switch {
				case !allowed:
					if !errors.Is(err, handlers.ErrForbiddenTransition) || moved || got.State != from || got.Version != r.Version {
						t.Errorf("%s -> %s: moved=%v err=%v stored %s v%d; want refused and unchanged", from, to, moved, err, got.State, got.Version)
					}
				case err != nil || !moved || got.State != to:
					t.Errorf("%s -> %s: moved=%v err=%v stored %s; want moved", from, to, moved, err, got.State)
				}
			}
		}
	})
}

// Approve, Deny and Confirm clicked at or after ExpiresAt change nothing but
// expiring the request: told to the requester (with the configured window)
// and to the clicker, audited, no decision recorded, nothing started. A
// millisecond before, they count.
func TestDecisionsJudgedAtTheirInstant(t *testing.T) {
	tests := []struct {
		name    string
		action  string
		late    time.Duration // after ExpiresAt
		collect bool
		want    handlers.State
		window  string
	}{
		{"approve 1ms late", handlers.ActionApprove, time.Millisecond, false, handlers.StateExpired, "10m0s"},
		{"approve at the instant", handlers.ActionApprove, 0, false, handlers.StateExpired, "10m0s"},
		{"deny 1ms late is an expiry", handlers.ActionDeny, time.Millisecond, false, handlers.StateExpired, "10m0s"},
		{"confirm 1ms late", handlers.ActionConfirm, time.Millisecond, true, handlers.StateExpired, "15m0s"},
		{"approve 1ms early counts", handlers.ActionApprove, -time.Millisecond, false, handlers.StateApproved, ""},
		{"deny 1ms early counts", handlers.ActionDeny, -time.Millisecond, false, handlers.StateDenied, ""},
		{"confirm 1ms early counts", handlers.ActionConfirm, -time.Millisecond, true, handlers.StateAwaitingApproval, ""},
	}
	forEachStore(t, func(t *testing.T, open func() *store.DB) {
		db := open()
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := newEnv(t, db)
				ctx := context.Background()
				r := e.pending(t, fmt.Sprintf("late-%02d", i))
				clicker := approver
				if tt.collect {
					r.Kind, r.ActionID, r.State = handlers.KindCollect, "", handlers.StateAwaitingConfirmation
					r.ExpiresAt, r.ExpiresAfter = t0.Add(15*time.Minute), 15*time.Minute
					if err := e.db.UpdateRequest(ctx, r, handlers.Cond{State: handlers.StateAwaitingApproval}); err != nil {
						t.Fatal(err)
					}
					clicker = requester
				}
				e.clock.Set(r.ExpiresAt.Add(tt.late))
				e.click(clicker, tt.action, r.ID)
				got := e.get(t, r.ID)
				if got.State != tt.want {
					t.Fatalf("state %s, want %s", got.State, tt.want)
				}
				if tt.want != handlers.StateExpired {
					return
				}
				if ds, _ := e.db.Decisions(ctx, r.ID); len(ds) != 0 {
					t.Errorf("decisions recorded after the window closed: %+v", ds)
				}
				if !strings.Contains(got.Detail, tt.window) {
					t.Errorf("expiry detail %q does not state the window %s", got.Detail, tt.window)
				}
				if len(e.msgs.to(clicker, "expired at")) != 1 {
					t.Errorf("the clicker was not told the request expired: %+v", e.msgs.sent)
				}
				if _, err := e.svc.RunRequest(ctx, r.ID); err != nil { // the telling job
					t.Fatal(err)
				}
				if told := e.msgs.to(requester, "Your request expired"); len(told) != 1 || !strings.Contains(told[0].Text.Plain(), tt.window) {
					t.Errorf("requester told %+v, want one expiry stating %s", told, tt.window)
				}
				if len(e.audited(t, r.ID, "request.expired")) != 1 {
					t.Error("no request.expired audit event")
				}
				if n := len(e.audited(t, r.ID, "approval.refused")) + len(e.audited(t, r.ID, "confirmation.refused")); n != 1 {
					t.Errorf("%d refused-click audit events, want 1", n)
				}
			})
		}
	})
}

// A Deny racing an Approve: one of them wins, and the requester is told that
// one only.
func TestDenyRacingApprove(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() *store.DB) {
		db := open()
		wins := map[handlers.State]int{}
		for i := range 30 {
			e := newEnv(t, db)
			e.clock.Set(t0.Add(time.Minute))
			r := e.pending(t, fmt.Sprintf("race-%02d", i))
			var wg sync.WaitGroup
			// The deny starts up to 3 ms later, so both orders happen.
			delay := time.Duration(i%4) * time.Millisecond
			for _, c := range []struct {
				user, action string
				after        time.Duration
			}{{approver, handlers.ActionApprove, 0}, {approver2, handlers.ActionDeny, delay}} {
				wg.Add(1)
				go func() { defer wg.Done(); time.Sleep(c.after); e.click(c.user, c.action, r.ID) }()
			}
			wg.Wait()
			got := e.get(t, r.ID)
			wins[got.State]++
			if got.State == handlers.StateDenied {
				if _, err := e.svc.RunRequest(context.Background(), r.ID); err != nil {
					t.Fatal(err)
				}
			}
			approved, denied := len(e.msgs.to(requester, "Your request was approved")), len(e.msgs.to(requester, "Your request was denied"))
			switch got.State {
			case handlers.StateApproved:
				if approved != 1 || denied != 0 {
					t.Fatalf("run %d approved: requester told approved %d, denied %d times", i, approved, denied)
				}
			case handlers.StateDenied:
				if approved != 0 || denied != 1 {
					t.Fatalf("run %d denied: requester told approved %d, denied %d times", i, approved, denied)
				}
			default:
				t.Fatalf("run %d ended %s", i, got.State)
			}
		}
		t.Logf("outcomes over 30 races: %v", wins)
	})
}

// An intake still holding the request as it was received cannot overwrite
// what another replica's intake already did, neither moving it nor failing it.
func TestStaleIntakeChangesNothing(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() *store.DB) {
		e := newEnv(t, open())
		ctx := context.Background()
		r := &handlers.Request{ID: "stale-intake", Team: team, Channel: channel, User: requester, Kind: handlers.KindGet,
			Target: actionID, State: handlers.StateReceived, CreatedAt: t0, UpdatedAt: t0}
		if err := e.db.CreateRequest(ctx, r); err != nil {
			t.Fatal(err)
		}
		stale, stale2 := *r, *r
		e.svc.Intake(ctx, r)
		if r.State != handlers.StateAwaitingApproval {
			t.Fatalf("first intake left %s", r.State)
		}
		before := e.get(t, r.ID)
		e.svc.Intake(ctx, &stale) // would move it to awaiting_approval again
		// A replica whose policy refuses the channel would fail it.
		refusing := newEnv(t, e.db)
		refusing.svc = mustService(t, e, handlers.Policy{})
		refusing.svc.Intake(ctx, &stale2)
		after := e.get(t, r.ID)
		if after.State != handlers.StateAwaitingApproval || after.Version != before.Version {
			t.Errorf("stale intakes changed the request: %s v%d, was %s v%d", after.State, after.Version, before.State, before.Version)
		}
		if n := len(e.audited(t, r.ID, "request.created")); n != 1 {
			t.Errorf("%d request.created events, want 1", n)
		}
	})
}

// mustService is e's Service with another policy (another replica's config).
func mustService(t *testing.T, e *env, p handlers.Policy) *handlers.Service {
	t.Helper()
	svc, err := handlers.New(handlers.Options{Store: e.db, Limiter: e.db.Limiter(mde.BudgetPackageURI, mdeLimits, e.clock.Now), Defender: defender{},
		Identity: identity{}, Messenger: e.msgs, Directory: directory{}, Jobs: e.jobs, Now: e.clock.Now, Policy: p})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// A fetch job whose lease lapsed and whose requests another job claimed can
// neither end, release nor update them.
func TestStaleFetchChangesNothing(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() *store.DB) {
		e := newEnv(t, open())
		ctx := context.Background()
		r := e.pending(t, "stale-fetch")
		r.State, r.LeaseOwner, r.LeaseUntil = handlers.StateFetching, "dead-job", t0.Add(time.Minute)
		if err := e.db.UpdateRequest(ctx, r, handlers.Cond{State: handlers.StateAwaitingApproval}); err != nil {
			t.Fatal(err)
		}
		stale := *r
		now := t0.Add(2 * time.Minute)
		e.clock.Set(now)
		claimed, err := e.db.ClaimReady(ctx, actionID, "live-job", now.Add(time.Minute), now)
		if err != nil || len(claimed) != 1 {
			t.Fatalf("reclaim: %v, %d requests", err, len(claimed))
		}
		s1, s2, s3 := stale, stale, stale
		if e.svc.End(ctx, &s1, handlers.StateFailed, "stale failure") {
			t.Error("the stale job ended the request")
		}
		e.svc.Release(ctx, []*handlers.Request{&s2})
		if err := e.svc.Update(ctx, &s3, func(x *handlers.Request) { x.Polls = 99 }); err == nil {
			t.Error("the stale job updated the request")
		}
		got := e.get(t, r.ID)
		if got.State != handlers.StateFetching || got.LeaseOwner != "live-job" || got.Polls == 99 || got.Detail != "" {
			t.Errorf("after the stale job: %s owner %s polls %d detail %q; want still the live job's", got.State, got.LeaseOwner, got.Polls, got.Detail)
		}
		// The live owner can.
		live := claimed[0]
		if !e.svc.End(ctx, live, handlers.StateFailed, "live failure") {
			t.Error("the live owner could not end its request")
		}
	})
}

// Opening an approval schedules its expiry job for the instant the window
// closes; the job waits if run early, expires the request on time, and
// does nothing once it ended.
func TestExpiryJob(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() *store.DB) {
		e := newEnv(t, open())
		ctx := context.Background()
		r := &handlers.Request{ID: "expiry-job", Team: team, Channel: channel, User: requester, Kind: handlers.KindGet,
			Target: actionID, State: handlers.StateReceived, CreatedAt: t0, UpdatedAt: t0}
		if err := e.db.CreateRequest(ctx, r); err != nil {
			t.Fatal(err)
		}
		e.svc.Intake(ctx, r)
		closes := t0.Add(approvalWindow)
		if at := e.jobs.expiry(r.ID); !at.Equal(closes) {
			t.Fatalf("expiry scheduled at %v, want %v", at, closes)
		}
		e.clock.Set(closes.Add(-3 * time.Second))
		next, err := e.svc.RunExpiry(ctx, r.ID)
		if err != nil || next.After != 3*time.Second || e.get(t, r.ID).State != handlers.StateAwaitingApproval {
			t.Fatalf("early run: next %v, err %v, state %s; want a 3s wait", next, err, e.get(t, r.ID).State)
		}
		e.clock.Set(closes)
		if next, err := e.svc.RunExpiry(ctx, r.ID); err != nil || next.After != 0 {
			t.Fatalf("on time: %v %v", next, err)
		}
		if got := e.get(t, r.ID); got.State != handlers.StateExpired || !strings.Contains(got.Detail, "10m0s") {
			t.Fatalf("after the expiry job: %s %q", got.State, got.Detail)
		}
		if _, err := e.svc.RunExpiry(ctx, r.ID); err != nil || len(e.audited(t, r.ID, "request.expired")) != 1 {
			t.Errorf("a second run: err %v, %d expiry events", err, len(e.audited(t, r.ID, "request.expired")))
		}
	})
}

// A click counts only from the request's own workspace, channel and
// approval message.
func TestClickFromElsewhereIgnored(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() *store.DB) {
		e := newEnv(t, open())
		ctx := context.Background()
		e.clock.Set(t0.Add(time.Minute))
		r := e.pending(t, "elsewhere")
		for _, c := range []handlers.Click{
			{Team: "T0OTHER", Channel: channel, MessageTS: r.MessageTS},
			{Team: team, Channel: "C0OTHER01", MessageTS: r.MessageTS},
			{Team: team, Channel: channel, MessageTS: "1700000000.999999"},
		} {
			c.User, c.ActionID, c.Value = approver, handlers.ActionApprove, r.ID
			if ack := e.svc.Click(ctx, c); ack.Work != nil {
				ack.Work(ctx)
			}
		}
		if got := e.get(t, r.ID); got.State != handlers.StateAwaitingApproval {
			t.Errorf("a click from elsewhere moved the request to %s", got.State)
		}
		if ds, _ := e.db.Decisions(ctx, r.ID); len(ds) != 0 {
			t.Errorf("decisions from elsewhere recorded: %+v", ds)
		}
		if n := len(e.msgs.to(approver, "does not exist")); n != 3 {
			t.Errorf("the clicker was told %d times, want 3", n)
		}
		e.click(approver, handlers.ActionApprove, r.ID)
		if got := e.get(t, r.ID); got.State != handlers.StateApproved {
			t.Errorf("the click from the approval message left %s", got.State)
		}
	})
}
