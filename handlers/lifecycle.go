package handlers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// transition applies mutate to r and writes it while r is in one of from (any
// state when from is empty), re-reading r after a concurrent change. It
// reports false, leaving r freshly read, when r had moved elsewhere.
func (s *Service) transition(ctx context.Context, r *Request, from []State, mutate func(*Request)) (bool, error) {
	for range 8 {
		if len(from) > 0 && !slices.Contains(from, r.State) {
			return false, nil
		}
		next := *r
		mutate(&next)
		next.UpdatedAt = s.now()
		err := s.opt.Store.UpdateRequest(ctx, &next)
		if err == nil {
			*r = next
			return true, nil
		}
		if !errors.Is(err, ErrConflict) {
			return false, err
		}
		fresh, gerr := s.opt.Store.GetRequest(ctx, r.ID)
		if gerr != nil {
			return false, gerr
		}
		*r = *fresh
	}
	return false, fmt.Errorf("request %s: too many concurrent updates", r.ID)
}

// save writes a change whatever the state.
func (s *Service) save(ctx context.Context, r *Request, mutate func(*Request)) error {
	_, err := s.transition(ctx, r, nil, mutate)
	return err
}

// active lists the states a request can still leave.
var activeStates = []State{StateReceived, StateAwaitingConfirmation, StateAwaitingApproval, StateApproved, StateWaiting, StateReady, StateFetching}

// finish moves r to a terminal state (unless it already ended) and updates
// its channel message. The requester is told by the request job.
func (s *Service) finish(ctx context.Context, r *Request, to State, detail, actor string) bool {
	ok, err := s.transition(ctx, r, activeStates, func(x *Request) {
		x.State, x.Detail = to, detail
		x.LeaseOwner = ""
	})
	if err != nil {
		s.logger(r.ID).ErrorContext(ctx, "finishing request failed", "to", to, "err", err)
		return false
	}
	if !ok {
		return false
	}
	s.auditReq(ctx, r, actor, "request."+string(to), string(to), detail)
	s.updateCard(ctx, r)
	return true
}

// updateCard refreshes the request's channel message, if it has one.
func (s *Service) updateCard(ctx context.Context, r *Request) {
	if r.MessageTS == "" {
		return
	}
	if err := s.opt.Messenger.Update(ctx, r.Channel, r.MessageTS, s.card(ctx, r)); err != nil {
		s.logger(r.ID).WarnContext(ctx, "updating the request message failed", "err", err)
	}
}

// dmAfter: an outcome told this long after the ask also goes to a DM, since
// the requester may no longer be looking at the channel, and ephemeral
// messages do not persist.
const dmAfter = 30 * time.Second

// tell informs the requester of a terminal state, once; ToldAt records it.
// Only the request's job calls it (one run at a time per request). A crash
// between the message and the record can repeat the message, never skip it.
func (s *Service) tell(ctx context.Context, r *Request) error {
	if !r.ToldAt.IsZero() {
		return nil
	}
	m := s.outcomeMessage(r)
	rec := recipient(r)
	if err := s.opt.Messenger.Private(ctx, rec, m); err != nil {
		// Ephemeral and response_url both failed: a DM is the last way to reach them.
		if derr := s.opt.Messenger.DM(ctx, r.Team, r.User, m); derr != nil {
			return fmt.Errorf("tell requester: %w", errors.Join(err, derr))
		}
	} else if s.now().Sub(r.CreatedAt) > dmAfter {
		// Ephemeral messages vanish; after a wait the outcome also goes to a DM.
		s.dm(ctx, r.Team, r.User, r.ID, m)
	}
	// Told: the response_url (a 30-minute capability to post here) is not kept.
	return s.save(ctx, r, func(x *Request) { x.ToldAt, x.ResponseURL = s.now(), "" })
}

// outcomeMessage is what the requester reads when their request ended.
func (s *Service) outcomeMessage(r *Request) Message {
	m := Message{Text: r.Detail, Fields: s.requestFields(r), Context: "Request " + r.ID}
	switch r.State {
	case StateFailed:
		m.Header = "Your request failed"
	case StateDenied:
		m.Header = "Your request was denied"
	case StateExpired:
		m.Header = "Your request expired"
		m.Next = fmt.Sprintf("Ask again with `%s` if it is still needed.", s.opt.Command)
	case StateCancelled:
		m.Header = "Your request was cancelled"
	case StateDelivered:
		m.Header = "Your package was delivered"
	}
	return m
}
