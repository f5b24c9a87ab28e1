package handlers

import (
	"context"
	"errors"
	"time"

	"github.com/mdebot/mdebot/mde"
)

// transient reports whether a Defender failure may pass by itself (5xx,
// throttling, a garbled answer), and how long to wait before trying again.
func transient(err error) (bool, time.Duration) {
	var me *mde.Error
	if !errors.As(err, &me) {
		return false, 0
	}
	switch me.Kind {
	case mde.KindServer, mde.KindInvalidResponse:
		return true, 2 * time.Second
	case mde.KindRateLimited:
		return true, me.RetryAfter
	}
	return false, 0
}

// intakeTries bounds how often the intake asks Defender again after a
// transient failure (the client already retried each ask).
const intakeTries = 4

// patiently runs a Defender lookup of the intake, riding out a burst of
// transient failures so a brief outage does not refuse the request.
func patiently[T any](ctx context.Context, call func(context.Context) (T, error)) (T, error) {
	wait := time.Duration(0)
	for try := 1; ; try++ {
		v, err := call(ctx)
		ok, after := transient(err)
		if err == nil || !ok || try == intakeTries {
			return v, err
		}
		wait = max(after, 2*wait, time.Second)
		select {
		case <-ctx.Done():
			return v, err
		case <-time.After(min(wait, 30*time.Second)):
		}
	}
}
