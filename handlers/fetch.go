package handlers

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/mdebot/mdebot/identity"
	"github.com/mdebot/mdebot/mde"
)

// maxFetchAttempts bounds getPackageUri failures per request before it fails.
const maxFetchAttempts = 5

// RunFetch runs an action's fetch job: it claims every request ready for the
// action, waits its turn at the getPackageUri limiter (snoozing, telling each
// requester its position), makes one call, and delivers to each claimed
// request. The link lives only in this function's memory.
func (s *Service) RunFetch(ctx context.Context, actionID string) (Next, error) {
	owner := randomHex(8)
	now := s.now()
	claimed, err := s.opt.Store.ClaimReady(ctx, actionID, owner, now.Add(s.opt.LeaseTTL), now)
	if err != nil {
		return Next{}, err
	}
	if len(claimed) == 0 {
		return Next{}, s.opt.Limiter.Leave(ctx, actionID)
	}
	if fresh(claimed) {
		// Concurrent asks for this action become ready within moments of each
		// other: wait briefly so they share the one getPackageUri call.
		if claimed, err = s.gather(ctx, actionID, owner, claimed); err != nil {
			s.release(ctx, claimed, nil)
			return Next{}, err
		}
	}
	slot, err := s.opt.Limiter.Take(ctx, actionID)
	if err != nil {
		s.release(ctx, claimed, nil)
		return Next{}, err
	}
	s.queueMetric(ctx)
	if !slot.Granted {
		s.queued(ctx, claimed, slot)
		// Ask again before the limiter forgets the place (2 minutes), sooner when due.
		return Next{After: min(max(slot.Wait, time.Second), 20*time.Second)}, nil
	}
	stop := s.heartbeat(ctx, owner)
	defer stop()

	link, pending, next := s.packageLink(ctx, actionID, claimed)
	if link.IsZero() {
		s.release(ctx, pending, nil)
		return next, nil
	}
	got, caller := s.now(), pending[0].User // packageLink used pending[0]'s token
	for len(pending) > 0 {
		for _, r := range pending {
			if r.User != caller {
				// Defender checked this requester's access to the action, not
				// their right to download: the trail says whose call it was.
				s.auditReq(ctx, r, r.User, "package.shared", "ok", "link obtained with <@"+caller+">'s token")
			}
			s.deliver(ctx, r, link)
		}
		if s.now().Sub(got) > s.opt.LinkReuse {
			break
		}
		// Requests that became ready meanwhile share the link while it is fresh.
		if pending, err = s.opt.Store.ClaimReady(ctx, actionID, owner, s.now().Add(s.opt.LeaseTTL), s.now()); err != nil {
			return Next{}, err
		}
	}
	// Anyone who arrived after the link went stale needs a new call.
	if left, err := s.opt.Store.ListRequests(ctx, StateReady); err == nil {
		for _, r := range left {
			if r.ActionID == actionID {
				return Next{After: time.Second}, nil
			}
		}
	}
	return Next{}, nil
}

// fresh reports whether none of the claimed requests has queued yet.
func fresh(rs []*Request) bool {
	for _, r := range rs {
		if r.QueuePosition > 0 {
			return false
		}
	}
	return true
}

// gather waits FetchGather, then claims the requests that became ready meanwhile.
func (s *Service) gather(ctx context.Context, actionID, owner string, claimed []*Request) ([]*Request, error) {
	select {
	case <-ctx.Done():
		return claimed, ctx.Err()
	case <-time.After(s.opt.FetchGather):
	}
	now := s.now()
	more, err := s.opt.Store.ClaimReady(ctx, actionID, owner, now.Add(s.opt.LeaseTTL), now)
	return append(claimed, more...), err
}

// packageLink obtains the link with the token of the first claimed requester
// who still has one. It returns the requests still to serve and, when there is
// no link, when to try again.
func (s *Service) packageLink(ctx context.Context, actionID string, claimed []*Request) (mde.PackageURL, []*Request, Next) {
	pending := claimed
	for len(pending) > 0 {
		r := pending[0]
		link, err := s.opt.Defender.GetPackageURI(ctx, s.tokens(r.Team, r.User), actionID)
		if err == nil {
			s.auditReq(ctx, r, r.User, "package.uri", "ok", "getPackageUri called with the requester's token")
			return link, pending, Next{}
		}
		var me *mde.Error
		switch {
		case errors.Is(err, identity.ErrNotLinked),
			errors.As(err, &me) && (me.Kind == mde.KindForbidden || me.Kind == mde.KindUnauthorized):
			// This requester cannot fetch it; the others may. The next call waits its turn.
			s.finish(ctx, r, StateFailed, s.explain(ctx, err), "")
			s.start(ctx, r)
			pending = pending[1:]
			return mde.PackageURL{}, pending, Next{After: time.Second}
		case errors.As(err, &me) && (me.Kind == mde.KindRefusedURL || me.Kind == mde.KindNotFound):
			// Operators need the host to extend mde.download_hosts (the error never holds the query).
			s.logger(r.ID).WarnContext(ctx, "package link refused", "action_id", actionID, "err", err)
			for _, p := range pending {
				s.finish(ctx, p, StateFailed, s.explain(ctx, err), "")
				s.start(ctx, p)
			}
			return mde.PackageURL{}, nil, Next{}
		}
		// Not ready yet, throttled, or Defender trouble: try again later, a bounded number of times.
		wait := min(5*time.Second<<r.Polls, time.Minute)
		switch {
		case me != nil && me.RetryAfter > 0:
			wait = me.RetryAfter
		case me != nil && me.Kind == mde.KindNotReady:
			wait = 30 * time.Second // Defender is still preparing the link
		}
		s.logger(r.ID).WarnContext(ctx, "getPackageUri failed; will retry", "action_id", actionID, "err", err, "in", wait)
		var keep []*Request
		for _, p := range pending {
			if p.Polls+1 >= maxFetchAttempts {
				s.finish(ctx, p, StateFailed, "Defender did not hand out the package link after several attempts: "+s.explain(ctx, err), "")
				s.start(ctx, p)
				continue
			}
			_ = s.save(ctx, p, func(x *Request) { x.Polls++ })
			keep = append(keep, p)
		}
		return mde.PackageURL{}, keep, Next{After: wait}
	}
	return mde.PackageURL{}, nil, Next{}
}

// release returns claimed requests to ready, optionally changing them.
func (s *Service) release(ctx context.Context, rs []*Request, mutate func(*Request)) {
	for _, r := range rs {
		_, err := s.transition(ctx, r, []State{StateFetching}, func(x *Request) {
			x.State, x.LeaseOwner, x.LeaseUntil = StateReady, "", time.Time{}
			if mutate != nil {
				mutate(x)
			}
		})
		if err != nil {
			s.logger(r.ID).ErrorContext(ctx, "releasing a claimed request failed; its lease will expire", "err", err)
		}
	}
}

// queued tells each waiting requester their place at the limiter.
func (s *Service) queued(ctx context.Context, rs []*Request, slot mde.Slot) {
	s.opt.Metrics.LimiterWait(slot.Wait)
	detail := fmt.Sprintf("queued (position %d, about %d s)", slot.Position, int(math.Ceil(slot.Wait.Seconds())))
	for _, r := range rs {
		first := r.QueuePosition == 0
		moved := r.QueuePosition != slot.Position
		s.release(ctx, []*Request{r}, func(x *Request) { x.QueuePosition, x.Detail = slot.Position, detail })
		if !moved {
			continue
		}
		// The card shows the place; release left the state ready, so show it as queued.
		shown := *r
		shown.State = StateFetching
		if r.MessageTS != "" {
			if err := s.opt.Messenger.Update(ctx, r.Channel, r.MessageTS, s.card(ctx, &shown)); err != nil {
				s.logger(r.ID).WarnContext(ctx, "updating the queue position failed", "err", err)
			}
		}
		if first {
			s.reply(ctx, recipient(r), r.ID, Message{
				Header: "Your package request is " + detail,
				Text:   fmt.Sprintf("Defender hands out at most %d package links a minute; requests are served in order. You will be told when it is delivered.", s.opt.LinksPerMinute),
				Fields: s.requestFields(r),
			})
		}
	}
}

// queueMetric publishes the limiter's queue length.
func (s *Service) queueMetric(ctx context.Context) {
	if n, err := s.opt.Limiter.QueueLen(ctx); err == nil {
		s.opt.Metrics.LimiterQueue(n)
	}
}

// heartbeat keeps this job's claims alive while it works; stop ends it.
func (s *Service) heartbeat(ctx context.Context, owner string) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(s.opt.LeaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := s.opt.Store.ExtendLease(ctx, owner, s.now().Add(s.opt.LeaseTTL)); err != nil && ctx.Err() == nil {
					s.log.WarnContext(ctx, "extending the fetch lease failed", "err", err)
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}
