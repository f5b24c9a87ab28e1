package handlers

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/mdebot/mdebot/identity/account"
	"github.com/mdebot/mdebot/mde"
)

// maxFetchAttempts bounds getPackageUri failures per request before it fails.
const maxFetchAttempts = 5

// RunFetch runs an action's fetch job: it claims every request ready for the
// action and delivers to each. The package comes from what is at hand when
// it can (a copy of this action's package in the evidence store, or a fresh
// link this process obtained moments ago); otherwise the job waits its turn
// at the getPackageUri limiter (snoozing, telling each requester its
// position) and makes one call at once, with no wait for more asks: asks
// that become ready while it delivers are claimed and served by the same
// job. A live response result (getfile) needs no turn: its link
// (GetLiveResponseResultDownloadLink, 100 a minute) is asked for at once, and
// asked for again once if it has expired before the download. A link lives
// only in memory.
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
	live := claimed[0].LiveResponse()
	src, from := s.atHand(ctx, actionID)
	if src == nil && !live {
		if next, err := s.packageTurn(ctx, actionID, claimed); err != nil || next.After > 0 {
			return next, err
		}
	}
	stop := s.heartbeat(ctx, owner)
	defer stop()
	pending, caller := claimed, "" // caller: whose token obtained the link
	if src == nil {
		var link mde.PackageURL
		var next Next
		if link, pending, next = s.packageLink(ctx, actionID, claimed); link.IsZero() {
			s.release(ctx, pending, nil)
			return next, nil
		}
		first := pending[0] // packageLink used its token
		caller = first.User
		src, from = &source{link: link, got: s.now()}, "link obtained with "+caller+"'s token"
		if live {
			src.renew = func(ctx context.Context) (mde.PackageURL, error) { return s.linkOf(ctx, first, actionID) }
		} else {
			s.links.remember(actionID, src.link, src.got)
		}
	}
	for len(pending) > 0 {
		for _, r := range pending {
			if r.User != caller {
				// Defender checked this requester's access to the action, not
				// their right to download: the trail says whose call it was.
				s.auditReq(ctx, r, r.User, "package.shared", "ok", from)
			}
			s.deliver(ctx, r, src)
		}
		if !src.fresh(s.now(), s.opt.LinkReuse) {
			break
		}
		// Requests that became ready meanwhile are served from the same source.
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

// packageTurn waits a getPackageUri call's turn at the limiter: a positive
// Next snoozes the job (the claims released, each requester told their place).
func (s *Service) packageTurn(ctx context.Context, actionID string, claimed []*Request) (Next, error) {
	slot, err := s.opt.Limiter.Take(ctx, actionID, claimed[0].User)
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
	return Next{}, nil
}

// atHand is the package of an action that needs no Defender call: with an
// evidence store, the stored copy of an earlier delivery of the action; else
// a link this process obtained less than LinkReuse ago. It says where it
// came from, for the audit trail.
func (s *Service) atHand(ctx context.Context, actionID string) (*source, string) {
	if s.keeps() {
		if r, err := s.opt.Store.LatestDelivered(ctx, actionID); err == nil && r != nil {
			if c, err := s.opt.Evidence.Custody(ctx, r.ID); err == nil && c.PurgedAt.IsZero() {
				return &source{stored: r.ID}, "copied from the stored package of request " + r.ID
			}
		}
	}
	if link, got, ok := s.links.fresh(actionID, s.now(), s.opt.LinkReuse); ok {
		return &source{link: link, got: got}, "link obtained moments ago for another request of the action"
	}
	return nil, ""
}

// packageLink obtains the link (getPackageUri, or for a live response
// result GetLiveResponseResultDownloadLink) with the token of the first
// claimed requester who still has one. It returns the requests still to
// serve and, when there is no link, when to try again.
func (s *Service) packageLink(ctx context.Context, actionID string, claimed []*Request) (mde.PackageURL, []*Request, Next) {
	pending := claimed
	for len(pending) > 0 {
		r := pending[0]
		link, err := s.linkOf(ctx, r, actionID)
		if err == nil {
			return link, pending, Next{}
		}
		var me *mde.Error
		switch {
		case errors.Is(err, account.ErrNotLinked),
			errors.As(err, &me) && (me.Kind == mde.KindForbidden || me.Kind == mde.KindUnauthorized):
			// This requester cannot fetch it; the others may. The next call waits its turn.
			s.end(ctx, r, StateFailed, s.explain(ctx, err), "")
			pending = pending[1:]
			return mde.PackageURL{}, pending, Next{After: time.Second}
		case errors.As(err, &me) && (me.Kind == mde.KindRefusedURL || me.Kind == mde.KindNotFound):
			// Operators need the host to extend mde.download_hosts (the error never holds the query).
			s.logger(r.ID).WarnContext(ctx, "package link refused", "action_id", actionID, "err", err)
			for _, p := range pending {
				s.end(ctx, p, StateFailed, s.explain(ctx, err), "")
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
				s.end(ctx, p, StateFailed, T("Defender did not hand out the package link after several attempts: ", s.explain(ctx, err)), "")
				continue
			}
			_ = s.update(ctx, p, func(x *Request) { x.Polls++ })
			keep = append(keep, p)
		}
		return mde.PackageURL{}, keep, Next{After: wait}
	}
	return mde.PackageURL{}, nil, Next{}
}

// linkOf asks Defender, as r's requester, for the download link of r's
// action: its investigation package, or its GetFile result (command 0).
func (s *Service) linkOf(ctx context.Context, r *Request, actionID string) (mde.PackageURL, error) {
	ts := s.tokens(r.Team, r.User)
	if r.LiveResponse() {
		link, err := s.opt.Defender.GetLiveResponseResultDownloadLink(ctx, ts, actionID, 0)
		if err == nil {
			s.auditReq(ctx, r, r.User, "liveresponse.result_link", "ok", "GetLiveResponseResultDownloadLink called with the requester's token")
		}
		return link, err
	}
	link, err := s.opt.Defender.GetPackageURI(ctx, ts, actionID)
	if err == nil {
		s.auditReq(ctx, r, r.User, "package.uri", "ok", "getPackageUri called with the requester's token")
	}
	return link, err
}

// release returns claimed requests to ready (only while this job still holds
// their claim), optionally changing them.
func (s *Service) release(ctx context.Context, rs []*Request, mutate func(*Request)) {
	for _, r := range rs {
		_, err := s.move(ctx, r, step{to: StateReady, mutate: func(x *Request) {
			x.LeaseOwner, x.LeaseUntil = "", time.Time{}
			if mutate != nil {
				mutate(x)
			}
		}})
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
		s.updateCard(ctx, &shown)
		if first && r.BatchID == "" { // a batch's card shows each device's place
			s.reply(ctx, recipient(r), r.ID, Message{
				Header: T("Your package request is " + detail),
				Text:   Tf("Defender hands out at most %d package links a minute; requests are served in turn. You will be told when it is delivered.", s.opt.LinksPerMinute),
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
