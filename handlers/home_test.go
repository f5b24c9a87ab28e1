package handlers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mdebot/mdebot/handlers"
	"github.com/mdebot/mdebot/store"
)

// App Home shows the user's linked account, their last requests with state,
// device and age, and the approvals waiting for them (their own, the expired
// and those they decided left out); the messages tab publishes nothing.
func TestHomeView(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() *store.DB) {
		e := newSurfaceEnv(t, open(), approver2)
		ctx := context.Background()
		mine := e.pending(t, "req-home-mine")       // alice's, waiting for bob
		expired := e.pending(t, "req-home-expired") // its window closes first
		if err := e.svc.Update(ctx, expired, func(x *handlers.Request) { x.ExpiresAt = t0.Add(time.Minute) }); err != nil {
			t.Fatal(err)
		}
		decided := e.pending(t, "req-home-decided") // two approvals needed, carol gave hers
		if err := e.svc.Update(ctx, decided, func(x *handlers.Request) { x.RequiredApprovals = 2 }); err != nil {
			t.Fatal(err)
		}
		if _, err := e.db.AddDecision(ctx, handlers.Decision{RequestID: decided.ID, Approver: approver2, Approve: true, At: t0}); err != nil {
			t.Fatal(err)
		}
		other := &handlers.Request{ID: "req-home-other", Team: "T0OTHER", Channel: channel, User: outsider, Kind: handlers.KindGet,
			Target: actionID, State: handlers.StateAwaitingApproval, Approvers: []string{approver}, RequiredApprovals: 1,
			ExpiresAt: t0.Add(time.Hour), CreatedAt: t0, UpdatedAt: t0}
		if err := e.db.CreateRequest(ctx, other); err != nil {
			t.Fatal(err)
		}
		e.clock.Set(t0.Add(2 * time.Minute))

		e.opened(requester)
		h := e.homes.wait(t, requester, 0, "Your last requests")
		if got := section(h, "Your Microsoft account"); !strings.Contains(got, requester+"@contoso.example") || !strings.Contains(got, "[Sign out=") {
			t.Errorf("account section:\n%s", got)
		}
		reqs := section(h, "Your last requests")
		for _, want := range []string{mine.ID, expired.ID, decided.ID, "awaiting_approval · get action " + actionID, "2m0s ago"} {
			if !strings.Contains(reqs, want) {
				t.Errorf("requests section lacks %q:\n%s", want, reqs)
			}
		}
		if got := section(h, "Waiting for your approval"); !strings.Contains(got, "Nothing waits for your approval") {
			t.Errorf("her own requests wait for her approval:\n%s", got)
		}

		e.opened(approver)
		h = e.homes.wait(t, approver, 0, "Waiting for your approval")
		waiting := section(h, "Waiting for your approval")
		for _, want := range []string{"[Approve=" + mine.ID + "]", "[Deny=" + mine.ID + "]", "[Approve=" + decided.ID + "]", "@" + requester + " asks"} {
			if !strings.Contains(waiting, want) {
				t.Errorf("bob's approvals lack %q:\n%s", want, waiting)
			}
		}
		for _, absent := range []string{expired.ID, other.ID} {
			if strings.Contains(waiting, absent) {
				t.Errorf("bob's approvals show %s:\n%s", absent, waiting)
			}
		}

		e.opened(approver2)
		h = e.homes.wait(t, approver2, 0, "Waiting for your approval")
		if got := section(h, "Waiting for your approval"); strings.Contains(got, decided.ID) || !strings.Contains(got, mine.ID) {
			t.Errorf("carol's approvals (she decided %s):\n%s", decided.ID, got)
		}
		if got := section(h, "Your Microsoft account"); !strings.Contains(got, "Not linked") || !strings.Contains(got, "[Sign in=") {
			t.Errorf("carol's account section:\n%s", got)
		}

		n := e.homes.count(outsider)
		run(e.svc.Event(ctx, handlers.Event{Team: team, Kind: handlers.EventHomeOpened, User: outsider, Tab: "messages"}))
		time.Sleep(50 * time.Millisecond) // room for a wrong publish
		if e.homes.count(outsider) != n {
			t.Error("opening the messages tab published a Home tab")
		}
	})
}

// An Approve or Deny clicked on App Home goes through the very checks of the
// channel's buttons, with the same words: self-approval, a non-approver and
// an expired request are refused; an approver's click approves and the
// Home tabs showing the request are refreshed.
func TestHomeDecisionsAsInChannel(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() *store.DB) {
		e := newSurfaceEnv(t, open())
		refusals := []struct {
			name, user, action, word string
			late                     bool
		}{
			{"self-approval", requester, handlers.ActionApprove, "cannot approve your own request", false},
			{"non-approver", outsider, handlers.ActionApprove, "not one of its approvers", false},
			{"non-approver deny", outsider, handlers.ActionDeny, "cannot deny this request", false},
			{"expired", approver, handlers.ActionApprove, "expired", true},
		}
		for _, tt := range refusals {
			t.Run(tt.name, func(t *testing.T) {
				said := map[handlers.Surface]string{}
				for _, surface := range []handlers.Surface{handlers.SurfaceChannel, handlers.SurfaceHome} {
					e.clock.Set(t0)
					r := e.pending(t, "req-"+strings.ReplaceAll(tt.name, " ", "-")+"-"+string(surface)+"x")
					if tt.late {
						e.clock.Set(r.ExpiresAt.Add(time.Second))
					}
					before := len(e.msgs.to(tt.user, tt.word))
					if surface == handlers.SurfaceHome {
						e.homeClick(tt.user, tt.action, r.ID)
					} else {
						e.click(tt.user, tt.action, r.ID)
					}
					got := e.msgs.to(tt.user, tt.word)
					if len(got) != before+1 {
						t.Fatalf("%q click: no private %q (got %d)", surface, tt.word, len(got)-before)
					}
					said[surface] = got[len(got)-1].Text.Plain()
					want := handlers.StateAwaitingApproval
					if tt.late {
						want = handlers.StateExpired
					}
					if st := e.get(t, r.ID).State; st != want {
						t.Fatalf("%q click left the request %s, want %s", surface, st, want)
					}
					if n := len(e.audited(t, r.ID, "approval.refused")); n != 1 {
						t.Fatalf("%q click: %d approval.refused events, want 1", surface, n)
					}
				}
				if a, b := said[handlers.SurfaceChannel], said[handlers.SurfaceHome]; a != b {
					t.Errorf("the channel said %q, App Home %q", a, b)
				}
			})
		}

		t.Run("approver approves from home", func(t *testing.T) {
			e.clock.Set(t0)
			r := e.pending(t, "req-home-approve")
			n := e.homes.count(requester)
			e.homeClick(approver, handlers.ActionApprove, r.ID)
			if st := e.get(t, r.ID).State; st != handlers.StateApproved {
				t.Fatalf("state %s after the approver's click, want approved", st)
			}
			if len(e.msgs.to(requester, "approved")) == 0 {
				t.Error("the requester was not told")
			}
			e.homes.wait(t, requester, n, r.ID, "approved")
		})

		t.Run("only approvals from home", func(t *testing.T) {
			e.clock.Set(t0)
			r := e.pending(t, "req-home-confirm")
			e.homeClick(requester, handlers.ActionCancel, r.ID)
			if len(e.msgs.to(requester, "does not exist")) == 0 {
				t.Error("a Cancel from App Home was not refused")
			}
			if st := e.get(t, r.ID).State; st != handlers.StateAwaitingApproval {
				t.Fatalf("state %s", st)
			}
		})
	})
}

// A change a Home tab shows republishes it: the requester's on each move,
// the approvers' (group members included) when an approval opens or closes.
func TestHomeRefreshedOnChanges(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() *store.DB) {
		e := newSurfaceEnv(t, open())
		r := e.pending(t, "req-home-refresh")
		alice, bob, carol := e.homes.count(requester), e.homes.count(approver), e.homes.count(approver2)
		e.click(approver, handlers.ActionDeny, r.ID)
		e.homes.wait(t, requester, alice, r.ID, "denied")
		e.homes.wait(t, approver, bob, "Nothing waits for your approval")
		e.homes.wait(t, approver2, carol, "Nothing waits for your approval")
	})
}
