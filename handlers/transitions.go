package handlers

import (
	"errors"
	"fmt"
	"time"
)

// ErrForbiddenTransition is a change of state the transition table does not allow.
var ErrForbiddenTransition = errors.New("forbidden transition")

// Need is what a transition requires of the stored request besides being in
// its from-state. The table below says which edge needs what; the guarded
// function (Service.move) derives the guard from it, and the store re-checks
// that guard inside its conditional update, so of two racing writers at most
// one wins.
type Need int

const (
	// NeedNothing: the state alone decides.
	NeedNothing Need = iota
	// NeedLive: a decision (approve, deny, confirm, cancel) counts only while
	// the request has not expired at the instant it is recorded.
	NeedLive
	// NeedLapsed: an expiry happens only once ExpiresAt has passed.
	NeedLapsed
	// NeedOwner: only the fetch job holding the claim may release or end it.
	NeedOwner
)

// edge is one allowed change of state.
type edge struct{ from, to State }

// transitions is the request lifecycle: which state may follow which, and
// what each change needs. Terminal states have no way out. A request moves
// forward only, with one exception: a fetch job releases its claim
// (fetching -> ready, by the claim's owner only) when it must wait its turn
// at the limiter or give the request back after a failed attempt.
// ClaimReady (store) takes ready -> fetching and, for a claim whose lease
// lapsed, fetching -> fetching, in one statement for all requests of an action.
var transitions = map[edge]Need{
	// The checks after the acknowledgement.
	{StateReceived, StateAwaitingConfirmation}: NeedNothing,
	{StateReceived, StateAwaitingApproval}:     NeedNothing,
	{StateReceived, StateApproved}:             NeedNothing,
	{StateReceived, StateFailed}:               NeedNothing,

	// The requester's Confirm or Cancel of a collection.
	{StateAwaitingConfirmation, StateAwaitingApproval}: NeedLive,
	{StateAwaitingConfirmation, StateApproved}:         NeedLive,
	{StateAwaitingConfirmation, StateCancelled}:        NeedLive,
	{StateAwaitingConfirmation, StateExpired}:          NeedLapsed,
	{StateAwaitingConfirmation, StateFailed}:           NeedNothing,

	// Approvers' decisions.
	{StateAwaitingApproval, StateApproved}: NeedLive,
	{StateAwaitingApproval, StateDenied}:   NeedLive,
	{StateAwaitingApproval, StateExpired}:  NeedLapsed,
	{StateAwaitingApproval, StateFailed}:   NeedNothing, // the approval message could not be posted

	// Working as the requester.
	{StateApproved, StateWaiting}: NeedNothing,
	{StateApproved, StateFailed}:  NeedNothing,
	{StateWaiting, StateReady}:    NeedNothing,
	{StateWaiting, StateFailed}:   NeedNothing,

	// The shared fetch of an action.
	{StateReady, StateFetching}:     NeedNothing, // ClaimReady
	{StateFetching, StateFetching}:  NeedNothing, // ClaimReady of a lapsed lease
	{StateFetching, StateReady}:     NeedOwner,   // release
	{StateFetching, StateDelivered}: NeedOwner,
	{StateFetching, StateFailed}:    NeedOwner,
}

// States lists every state, in lifecycle order.
var States = []State{StateReceived, StateAwaitingConfirmation, StateAwaitingApproval, StateApproved,
	StateWaiting, StateReady, StateFetching, StateDelivered, StateFailed, StateDenied, StateExpired, StateCancelled}

// activeStates are the states a request can still leave.
var activeStates = func() []State {
	var out []State
	for _, s := range States {
		if !s.Terminal() {
			out = append(out, s)
		}
	}
	return out
}()

// CanMove reports whether a request in from may move to to, and what that needs.
func CanMove(from, to State) (Need, bool) {
	n, ok := transitions[edge{from, to}]
	return n, ok
}

// Cond is what a conditional update requires of the stored row besides its
// Version: the expected state and the transition's guard. Store
// implementations check every set field in the UPDATE's WHERE clause.
type Cond struct {
	// State is the state the row must still be in.
	State State
	// Owner, when set, must be the row's LeaseOwner.
	Owner string
	// LiveAt, when set, must be before the row's ExpiresAt.
	LiveAt time.Time
	// LapsedAt, when set, must be at or after the row's ExpiresAt.
	LapsedAt time.Time
}

// guard builds the condition of moving r (as the caller read it) to to at now.
func guard(r *Request, to State, now time.Time) (Cond, error) {
	need, ok := CanMove(r.State, to)
	if !ok {
		return Cond{}, fmt.Errorf("%w: %s -> %s", ErrForbiddenTransition, r.State, to)
	}
	c := Cond{State: r.State}
	switch need {
	case NeedLive:
		c.LiveAt = now
	case NeedLapsed:
		c.LapsedAt = now
	case NeedOwner:
		c.Owner = r.LeaseOwner
		if c.Owner == "" {
			return Cond{}, fmt.Errorf("%w: %s -> %s needs the claim's owner", ErrForbiddenTransition, r.State, to)
		}
	}
	return c, nil
}

// holds reports whether a stored row satisfies c (what the store's WHERE
// clause checked), to tell a lost race from a version bump.
func (c Cond) holds(r *Request) bool {
	switch {
	case r.State != c.State:
		return false
	case c.Owner != "" && r.LeaseOwner != c.Owner:
		return false
	case !c.LiveAt.IsZero() && !c.LiveAt.Before(r.ExpiresAt):
		return false
	case !c.LapsedAt.IsZero() && c.LapsedAt.Before(r.ExpiresAt):
		return false
	}
	return true
}
