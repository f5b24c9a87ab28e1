package handlers

import (
	"context"
	"errors"
	"fmt"
)

// RunExpiry runs a request's expiry job, scheduled for the instant its
// decision window closes: a request still awaiting that decision expires and
// its requester is told. A job run early (clock skew between replicas) waits
// for the instant; one whose request moved on does nothing.
func (s *Service) RunExpiry(ctx context.Context, id string) (Next, error) {
	r, err := s.opt.Store.GetRequest(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Next{}, nil
	}
	if err != nil {
		return Next{}, err
	}
	if _, ok := CanMove(r.State, StateExpired); !ok {
		return Next{}, nil // moved on: nothing left to expire
	}
	if wait := r.ExpiresAt.Sub(s.now()); wait > 0 {
		return Next{After: wait}, nil
	}
	s.expire(ctx, r, "")
	return Next{}, nil
}

// expire ends a request whose decision window closed, saying which window it
// was; actor is the clicker whose late click found it so ("" for the bot).
// It reports whether this call expired it.
func (s *Service) expire(ctx context.Context, r *Request, actor string) bool {
	return s.end(ctx, r, StateExpired, T(expiryText(r)), actor)
}

// expiryText says which window closed, as it was configured when it opened.
func expiryText(r *Request) string {
	window := r.ExpiresAfter
	if window <= 0 {
		window = r.ExpiresAt.Sub(r.CreatedAt) // requests stored before the window was kept
	}
	nothing := "nothing was fetched"
	if r.Kind == KindCollect || r.Kind == KindGetFile {
		nothing = "nothing was started"
	}
	if r.State == StateAwaitingConfirmation {
		return fmt.Sprintf("The %s was not confirmed within %s; %s.", askedFor(r), roundDuration(window), nothing)
	}
	return fmt.Sprintf("No approver decided within %s (approval.expires_after); %s.", roundDuration(window), nothing)
}
