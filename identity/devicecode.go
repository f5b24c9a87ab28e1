package identity

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
)

const (
	// defaultMaxPendingLogins is Options.MaxPendingLogins' default.
	defaultMaxPendingLogins = 200
	// doneTimeout bounds Await's done callback (telling the user).
	doneTimeout = 30 * time.Second
	// expiryMargin lets MSAL report the code's expiry itself before the
	// pending sign-in's own deadline cancels the wait.
	expiryMargin = 30 * time.Second
)

// pendingDevice is a device-code sign-in not yet completed; cancel ends its wait.
type pendingDevice struct {
	cancel context.CancelCauseFunc
}

// startDeviceCode asks the authority for a device code (public client) and
// returns it with a Wait that polls until the user signs in. The sign-in
// replaces any pending one of the same user (its wait ends with
// ErrSuperseded) and ends by itself shortly after the code expires.
func (s *Service) startDeviceCode(ctx context.Context, team, user string) (*Prompt, error) {
	staged := &stagedCache{}
	cli, err := s.newPublic(staged)
	if err != nil {
		return nil, err
	}
	dc, err := cli.AcquireTokenByDeviceCode(ctx, s.cfg.scopes)
	if err != nil {
		return nil, fmt.Errorf("identity: start device-code sign-in: %w", authorityFailure("device-code sign-in", err))
	}
	pctx, release, err := s.registerDevice(team, user, dc.Result.ExpiresOn.Add(expiryMargin))
	if err != nil {
		return nil, err
	}
	var waited atomic.Bool
	wait := func(ctx context.Context) (*Link, error) {
		if !waited.CompareAndSwap(false, true) {
			return nil, errors.New("identity: this sign-in is already being waited for")
		}
		defer release()
		return s.waitDeviceCode(ctx, pctx, team, user, dc, staged)
	}
	s.cfg.Logger.InfoContext(ctx, "identity sign-in started", "flow", FlowDeviceCode, "team", team, "user", user,
		"expires", dc.Result.ExpiresOn)
	return &Prompt{
		Flow:      FlowDeviceCode,
		URL:       dc.Result.VerificationURL,
		UserCode:  dc.Result.UserCode,
		ExpiresAt: dc.Result.ExpiresOn,
		Wait:      wait,
		Await:     func(done func(context.Context, *Link, error)) { s.await(wait, done) },
	}, nil
}

// registerDevice makes the user's new sign-in the pending one, cancelling
// an older one, and returns the context its wait runs under: it ends at
// until, when a newer sign-in replaces it, when the service closes, or on
// release (the wait is over).
func (s *Service) registerDevice(team, user string, until time.Time) (context.Context, func(), error) {
	key := clientKey(team, user)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, nil, errClosed
	}
	old := s.devices[key]
	if old == nil && len(s.devices) >= s.cfg.MaxPendingLogins {
		s.cfg.Logger.Warn("identity sign-in refused: too many pending device-code sign-ins", "team", team, "user", user, "pending", len(s.devices))
		return nil, nil, ErrBusy
	}
	if old != nil {
		old.cancel(ErrSuperseded)
	}
	cctx, cancel := context.WithCancelCause(s.ctx)
	dctx, stop := context.WithDeadline(cctx, until)
	me := &pendingDevice{cancel: cancel}
	s.devices[key] = me
	// Whatever ends it (sign-in done, expiry, replacement, Close) frees the place.
	context.AfterFunc(dctx, func() {
		stop()
		cancel(nil)
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.devices[key] == me {
			delete(s.devices, key)
		}
	})
	return dctx, func() { cancel(nil) }, nil
}

// await runs wait in the service's own goroutine and hands its result to done.
func (s *Service) await(wait func(context.Context) (*Link, error), done func(context.Context, *Link, error)) {
	finish := func(l *Link, err error) {
		// The service may be closing: done gets a context of its own so that
		// it can still tell the user.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), doneTimeout)
		defer cancel()
		done(ctx, l, err)
	}
	if !s.track() {
		finish(nil, errClosed)
		return
	}
	go func() {
		defer s.pollers.Done()
		l, err := wait(s.ctx)
		finish(l, err)
	}()
}

// waitDeviceCode polls (MSAL bounds it by the code's expiry) until the user
// signs in, the code expires, ctx or the pending sign-in's pctx ends, or the
// service closes, then checks and stores the link like an auth-code sign-in.
func (s *Service) waitDeviceCode(ctx, pctx context.Context, team, user string, dc public.DeviceCode, staged *stagedCache) (*Link, error) {
	if !s.track() {
		return nil, errClosed
	}
	defer s.pollers.Done()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(pctx, cancel)
	defer stop()

	res, err := dc.AuthenticationResult(wctx)
	if err == nil {
		return s.finishLink(ctx, team, user, res, staged)
	}
	if oe, ok := oauthErrorOf(err); ok {
		switch oe.Code {
		case "expired_token", "code_expired":
			return nil, s.linkFailed(ctx, team, user, ErrExpired)
		case "authorization_declined":
			return nil, s.linkFailed(ctx, team, user, errors.New("the sign-in was declined"))
		}
		return nil, s.linkFailed(ctx, team, user, authorityFailure("device-code sign-in", err))
	}
	switch {
	case s.ctx.Err() != nil:
		return nil, errClosed
	case ctx.Err() != nil:
		return nil, fmt.Errorf("identity: device-code wait: %w", ctx.Err())
	case errors.Is(context.Cause(pctx), ErrSuperseded):
		s.cfg.Logger.InfoContext(ctx, "identity sign-in replaced by a newer one", "team", team, "user", user)
		return nil, ErrSuperseded
	case pctx.Err() != nil, errors.Is(err, context.DeadlineExceeded) && !time.Now().Before(dc.Result.ExpiresOn):
		// The code's expiry: MSAL's own deadline, or ours just after it.
		return nil, s.linkFailed(ctx, team, user, ErrExpired)
	}
	return nil, s.linkFailed(ctx, team, user, authorityFailure("device-code sign-in", err))
}
