package handlers_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mdebot/mdebot/handlers"
	"github.com/mdebot/mdebot/mde"
	"github.com/mdebot/mdebot/store"
)

// scopedDefender answers status reads as Defender does for delegated tokens:
// each token sees only the actions of its own device groups.
type scopedDefender struct {
	defender
	mu      sync.Mutex
	visible map[string][]string // token -> actions it may see
	status  map[string]string   // action -> status
	calls   [][]string          // each ListMachineActionsByID call: token, then ids
}

func (d *scopedDefender) ListMachineActionsByID(ctx context.Context, ts mde.TokenSource, ids []string) (map[string]mde.MachineAction, error) {
	tok, err := ts.Token(ctx)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, append([]string{tok}, ids...))
	out := map[string]mde.MachineAction{}
	for _, id := range ids {
		if slices.Contains(d.visible[tok], id) {
			out[id] = mde.MachineAction{ID: id, Type: mde.TypeCollectInvestigationPackage, Status: d.status[id]}
		}
	}
	return out, nil
}

// userTokens gives each user a token of their own.
type userTokens struct{ identity }

func (userTokens) Token(_ context.Context, _, user string) (string, error) {
	return "token-of-" + user, nil
}

// One poll reads every waiting request's action in one batch with the
// longest-waiting requester's token, then what that token could not see with
// its own requester's token; each status is applied to its requests.
func TestPollerBatchesStatusReads(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() *store.DB) {
		d := &scopedDefender{
			visible: map[string][]string{"token-of-" + requester: {"a1", "a2", "shared"}, "token-of-" + approver: {"b1", "shared"}},
			status:  map[string]string{"a1": mde.StatusSucceeded, "a2": mde.StatusInProgress, "b1": mde.StatusFailed, "shared": mde.StatusPending},
		}
		e := newEnvWith(t, open(), func(o *handlers.Options) { o.Defender, o.Identity = d, userTokens{} })
		ctx := context.Background()
		e.clock.Set(t0.Add(time.Minute))
		waiting := func(id, action, user string, at time.Duration) {
			r := &handlers.Request{ID: id, Team: team, Channel: channel, User: user, Kind: handlers.KindGet, ActionID: action,
				Target: action, Delivery: handlers.DeliveryUpload, State: handlers.StateWaiting, LastStatus: mde.StatusPending,
				WaitDeadline: t0.Add(time.Hour), CreatedAt: t0.Add(at), UpdatedAt: t0.Add(at)}
			if err := e.db.CreateRequest(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		waiting("r-a1", "a1", requester, 0)
		waiting("r-a2", "a2", requester, time.Second)
		waiting("r-b1", "b1", approver, 2*time.Second)
		waiting("r-shared-1", "shared", approver, 3*time.Second)
		waiting("r-shared-2", "shared", requester, 4*time.Second)
		if err := e.svc.RunPoll(ctx); err != nil {
			t.Fatal(err)
		}
		want := [][]string{
			{"token-of-" + requester, "a1", "a2", "b1", "shared"},
			{"token-of-" + approver, "b1"},
		}
		if fmt.Sprint(d.calls) != fmt.Sprint(want) {
			t.Errorf("status reads %v, want %v", d.calls, want)
		}
		for id, st := range map[string]handlers.State{"r-a1": handlers.StateReady, "r-a2": handlers.StateWaiting,
			"r-b1": handlers.StateFailed, "r-shared-1": handlers.StateWaiting, "r-shared-2": handlers.StateWaiting} {
			if got := e.get(t, id); got.State != st {
				t.Errorf("%s: %s, want %s", id, got.State, st)
			}
		}
		if got := e.get(t, "r-a2"); got.LastStatus != mde.StatusInProgress {
			t.Errorf("r-a2's status %q, want InProgress", got.LastStatus)
		}
		if !slices.Contains(e.jobs.fetches, "a1") {
			t.Errorf("no fetch queued for the succeeded action: %v", e.jobs.fetches)
		}
		// Nothing waiting: no call at all.
		d.calls = nil
		for _, id := range []string{"r-a2", "r-shared-1", "r-shared-2"} {
			e.svc.End(ctx, e.get(t, id), handlers.StateFailed, "done")
		}
		if err := e.svc.RunPoll(ctx); err != nil || len(d.calls) != 0 {
			t.Errorf("a poll with nothing waiting: %v, %d calls", err, len(d.calls))
		}
	})
}
