package main

import (
	"context"
	"fmt"
	"time"

	"github.com/mdebot/mdebot/handlers"
	"github.com/mdebot/mdebot/store"
)

const (
	team       = "T0BENCH01"
	targetUser = "U00000007" // whose pending count and latest requests are read
	users      = 50
)

func userID(i int) string { return fmt.Sprintf("U%08d", i) }

// working is the live working set, the same in both stores: what the
// frequent operations read, so only the history differs between them.
type working struct {
	requests   []*handlers.Request
	card       string // awaiting approval, with two decisions
	active     int
	pending    int // targetUser's active requests
	untold     int
	recent     int // targetUser's ended requests of the last day
	hourEvents int
	now        time.Time
}

func workingSet(now time.Time) *working {
	w := &working{now: now}
	active := []handlers.State{handlers.StateReceived, handlers.StateAwaitingConfirmation, handlers.StateAwaitingApproval,
		handlers.StateApproved, handlers.StateWaiting, handlers.StateReady, handlers.StateFetching}
	add := func(id, user string, st handlers.State, created, told time.Time) *handlers.Request {
		r := &handlers.Request{ID: id, Team: team, Channel: "C0INC0042", ChannelName: "inc-42", User: user,
			Kind: handlers.KindGet, ActionID: guid(len(w.requests)), Target: guid(len(w.requests)),
			Delivery: handlers.DeliveryUpload, State: st, Detail: "working set", CreatedAt: created,
			UpdatedAt: created, ToldAt: told, RequiredApprovals: 2, Approvers: []string{"S0APPROVERS"},
			ExpiresAt: now.Add(time.Hour), ExpiresAfter: time.Hour}
		w.requests = append(w.requests, r)
		return r
	}
	for i := range 40 {
		user := userID(10 + i%10)
		if i%10 == 3 {
			user = targetUser
			w.pending++
		}
		add(fmt.Sprintf("live-%03d", i), user, active[i%len(active)], now.Add(-time.Duration(40-i)*time.Minute), time.Time{})
		w.active++
	}
	w.card = add("live-card", userID(11), handlers.StateAwaitingApproval, now.Add(-5*time.Minute), time.Time{}).ID
	w.active++
	for i, st := range []handlers.State{handlers.StateDelivered, handlers.StateFailed, handlers.StateDenied,
		handlers.StateExpired, handlers.StateCancelled} {
		add(fmt.Sprintf("untold-%d", i), userID(10+i), st, now.Add(-time.Duration(i+1)*time.Minute), time.Time{})
		w.untold++
	}
	for i := range 10 {
		created := now.Add(-time.Duration(i+2) * time.Hour)
		add(fmt.Sprintf("recent-%02d", i), targetUser, handlers.StateDelivered, created, created.Add(3*time.Minute))
		w.recent++
	}
	w.hourEvents = 500
	return w
}

// seed writes the working set through the store's own API.
func (w *working) seed(ctx context.Context, db *store.DB) error {
	for _, r := range w.requests {
		c := *r
		if err := db.CreateRequest(ctx, &c); err != nil {
			return err
		}
	}
	for i, approver := range []string{"U00000020", "U00000021"} {
		d := handlers.Decision{RequestID: w.card, Approver: approver, Approve: i == 0, At: w.now.Add(-time.Minute)}
		if ok, err := db.AddDecision(ctx, d); err != nil || !ok {
			return fmt.Errorf("decision on %s: added %v, %v", w.card, ok, err)
		}
	}
	for i := range w.hourEvents {
		e := auditEvent(i, w.now.Add(-time.Hour+time.Duration(i+1)*time.Hour/time.Duration(w.hourEvents+1)))
		if err := db.AppendAudit(ctx, e); err != nil {
			return err
		}
	}
	return nil
}

var eventNames = []string{"request.created", "approval.requested", "approval.approved", "action.polled",
	"package.uri", "delivery.upload", "request.delivered", "evidence.link_issued"}

// auditEvent is a plausible event number i at at.
func auditEvent(i int, at time.Time) handlers.AuditEvent {
	return handlers.AuditEvent{At: at, RequestID: fmt.Sprintf("h%07d", i/8), Team: team, Channel: "C0INC0042",
		Actor: userID(i % users), Event: eventNames[i%len(eventNames)], Outcome: "ok", ActionID: guid(i / 8),
		MachineID: fmt.Sprintf("%040x", i/8), Detail: "getPackageUri called with the requester's token"}
}

// guid is a deterministic GUID-shaped action ID.
func guid(i int) string { return fmt.Sprintf("7f1b2c3d-0000-4000-8000-%012x", i) }
