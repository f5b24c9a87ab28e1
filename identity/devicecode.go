package identity

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
)

// startDeviceCode asks the authority for a device code (public client) and
// returns it with a Wait that polls until the user signs in.
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
	var waited atomic.Bool
	wait := func(ctx context.Context) (*Link, error) {
		if !waited.CompareAndSwap(false, true) {
			return nil, errors.New("identity: this sign-in is already being waited for")
		}
		return s.waitDeviceCode(ctx, team, user, dc, staged)
	}
	s.cfg.Logger.InfoContext(ctx, "identity sign-in started", "flow", FlowDeviceCode, "team", team, "user", user,
		"expires", dc.Result.ExpiresOn)
	return &Prompt{
		Flow:      FlowDeviceCode,
		URL:       dc.Result.VerificationURL,
		UserCode:  dc.Result.UserCode,
		ExpiresAt: dc.Result.ExpiresOn,
		Wait:      wait,
	}, nil
}

// waitDeviceCode polls (MSAL bounds it by the code's expiry) until the user
// signs in, the code expires, ctx ends or the service closes, then checks
// and stores the link like an auth-code sign-in.
func (s *Service) waitDeviceCode(ctx context.Context, team, user string, dc public.DeviceCode, staged *stagedCache) (*Link, error) {
	if !s.track() {
		return nil, errClosed
	}
	defer s.pollers.Done()
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(s.ctx, cancel)
	defer stop()

	res, err := dc.AuthenticationResult(pctx)
	if err != nil {
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
		case ctx.Err() != nil:
			return nil, fmt.Errorf("identity: device-code wait: %w", ctx.Err())
		case s.ctx.Err() != nil:
			return nil, errClosed
		case errors.Is(err, context.DeadlineExceeded) && !time.Now().Before(dc.Result.ExpiresOn):
			// MSAL's own deadline: the code's expiry.
			return nil, s.linkFailed(ctx, team, user, ErrExpired)
		}
		return nil, s.linkFailed(ctx, team, user, authorityFailure("device-code sign-in", err))
	}
	return s.finishLink(ctx, team, user, res, staged)
}
