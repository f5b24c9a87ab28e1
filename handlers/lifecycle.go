package handlers

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// step is one change of state: where to, judged at which instant, on whose
// behalf, and what else changes with it.
type step struct {
	to State
	// at is the instant the change is judged at (a click's decision time);
	// zero means now.
	at time.Time
	// actor is the Slack user who caused it ("" for the bot itself).
	actor string
	// mutate changes other fields; it never picks the state.
	mutate func(*Request)
}

// move is the one function that changes a request's state. It checks the
// transition table for r.State (as the caller read it) -> st.to, applies
// st.mutate to a copy, and writes it with the transition's guard, which the
// store re-checks in its conditional update. After a concurrent write it
// reads the row again and retries only while the guard still holds;
// otherwise it reports false (another writer won), leaving r freshly read.
//
// What follows from reaching a state happens here, so no caller has to
// remember it (see moved).
func (s *Service) move(ctx context.Context, r *Request, st step) (bool, error) {
	at := st.at
	if at.IsZero() {
		at = s.now()
	}
	c, err := guard(r, st.to, at)
	if err != nil {
		return false, err
	}
	for range 8 {
		next := *r
		if st.mutate != nil {
			st.mutate(&next)
		}
		next.State = st.to
		next.UpdatedAt = s.now()
		err := s.opt.Store.UpdateRequest(ctx, &next, c)
		if err == nil {
			*r = next
			s.moved(ctx, r, st.actor)
			s.homeMoved(c.State, r)
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
		if !c.holds(r) {
			return false, nil
		}
	}
	return false, fmt.Errorf("request %s: too many concurrent updates", r.ID)
}

// moved follows a successful transition:
//   - a request awaiting a decision gets its expiry job, scheduled for the
//     instant its window closes;
//   - an approved request gets its job, which works on it as the requester;
//   - a terminal state is audited (request.<state>), shown on the channel
//     card, and told to the requester by the request's job, unless the
//     transition itself told them (a delivery sets ToldAt); the job also
//     completes the Workflow Builder step that started the request;
//   - a delivered request whose package is kept gets its triage job;
//   - the Home tabs that show the request are refreshed (homeMoved).
//
// Each consequence is idempotent, so a transition replayed after a crash
// may repeat one (a telling, at worst) but never skip one.
func (s *Service) moved(ctx context.Context, r *Request, actor string) {
	s.logger(r.ID).DebugContext(ctx, "request moved", "state", r.State)
	switch {
	case r.State == StateAwaitingApproval || r.State == StateAwaitingConfirmation:
		if err := s.opt.Jobs.ScheduleExpiry(ctx, r.ID, r.ExpiresAt); err != nil {
			s.logger(r.ID).ErrorContext(ctx, "scheduling the expiry failed; the sweep will expire it", "err", err)
		}
	case r.State == StateApproved:
		s.start(ctx, r)
	case r.State.Terminal():
		s.auditReq(ctx, r, actor, "request."+string(r.State), string(r.State), r.Detail)
		s.updateCard(ctx, r)
		if r.State == StateDelivered {
			s.scheduleTriage(ctx, r)
		}
		if r.ToldAt.IsZero() || s.answersStep(ctx, r) {
			// The request's job tells, and completes a workflow's step (one
			// run at a time per request).
			s.start(ctx, r)
		}
	}
}

// end moves r to a terminal state with detail (kept as plain words), logging
// a failure to write. It reports whether this call ended the request.
func (s *Service) end(ctx context.Context, r *Request, to State, detail Text, actor string) bool {
	ok, err := s.move(ctx, r, step{to: to, actor: actor, mutate: func(x *Request) {
		x.Detail, x.LeaseOwner, x.LeaseUntil, x.QueuePosition = detail.Plain(), "", time.Time{}, 0
	}})
	if err != nil {
		s.logger(r.ID).ErrorContext(ctx, "ending request failed", "to", to, "err", err)
	}
	return ok
}

// update writes a change that is not a transition (a message ts, a poll
// count, a told time) while the request stays in its state (and, while it is
// being fetched, under the same claim); mutate must leave the state alone.
// After a concurrent write the row is read again and mutate applied again.
func (s *Service) update(ctx context.Context, r *Request, mutate func(*Request)) error {
	c := Cond{State: r.State}
	if r.State == StateFetching {
		c.Owner = r.LeaseOwner
	}
	for range 8 {
		next := *r
		mutate(&next)
		if next.State != r.State {
			return fmt.Errorf("%w: an update of %s may not change its state (%s -> %s)", ErrForbiddenTransition, r.ID, r.State, next.State)
		}
		next.UpdatedAt = s.now()
		err := s.opt.Store.UpdateRequest(ctx, &next, c)
		if err == nil {
			*r = next
			return nil
		}
		if !errors.Is(err, ErrConflict) {
			return err
		}
		fresh, gerr := s.opt.Store.GetRequest(ctx, r.ID)
		if gerr != nil {
			return gerr
		}
		*r = *fresh
		if !c.holds(r) {
			return fmt.Errorf("request %s moved on to %s: %w", r.ID, r.State, ErrConflict)
		}
	}
	return fmt.Errorf("request %s: too many concurrent updates", r.ID)
}

// updateCard refreshes the request's channel message, if it has one (for a
// batch, the card of all its devices).
func (s *Service) updateCard(ctx context.Context, r *Request) {
	if r.MessageTS == "" {
		return
	}
	if r.BatchID != "" {
		s.updateBatchCard(ctx, r)
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
	if err := s.privately(ctx, r, s.outcomeMessage(r)); err != nil {
		return fmt.Errorf("tell requester: %w", err)
	}
	// Told: the response_url (a 30-minute capability to post here) is not kept.
	return s.update(ctx, r, func(x *Request) { x.ToldAt, x.ResponseURL = s.now(), "" })
}

// privately shows m to the requester only: ephemeral, and also as a DM
// after a wait since ephemeral messages vanish; a DM when the ephemeral
// message cannot be sent.
func (s *Service) privately(ctx context.Context, r *Request, m Message) error {
	if err := s.opt.Messenger.Private(ctx, recipient(r), m); err != nil {
		if derr := s.opt.Messenger.DM(ctx, r.Team, r.User, m); derr != nil {
			return errors.Join(err, derr)
		}
		return nil
	}
	if s.now().Sub(r.CreatedAt) > dmAfter {
		s.dm(ctx, r.Team, r.User, r.ID, m)
	}
	return nil
}

// outcomeMessage is what the requester reads when their request ended.
func (s *Service) outcomeMessage(r *Request) Message {
	m := Message{Text: detailText(r), Fields: s.requestFields(r), Context: Tf("Request %s", Code(r.ID))}
	switch r.State {
	case StateFailed:
		m.Header = T("Your request failed")
	case StateDenied:
		m.Header = T("Your request was denied")
	case StateExpired:
		m.Header = T("Your request expired")
		m.Next = Tf("Ask again with %s if it is still needed.", Code(s.opt.Command))
	case StateCancelled:
		m.Header = T("Your request was cancelled")
	case StateDelivered:
		m.Header = T("Your " + noun(r) + " was delivered")
	}
	return m
}
