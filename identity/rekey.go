package identity

import (
	"bytes"
	"context"
	"errors"
	"fmt"
)

// Kinds of sealed values: everything this package seals (tokencache.go,
// authcode.go, and SealedStepToken in stepseal.go), each bound to its Slack
// user (sealedAAD).
const (
	SealedTokenCache = "token_cache" // a user's MSAL token cache
	SealedLoginState = "login_state" // a pending sign-in's PKCE verifier
)

// SealedValue is one sealed value held by the store.
type SealedValue struct {
	Kind       string // SealedTokenCache, SealedLoginState or SealedStepToken
	ID         string // the login state's ID, the step's request ID; empty for a token cache
	Team, User string
	Sealed     []byte
}

// Reseal says what to do with a SealedValue: replace it with Sealed, delete
// it (Drop), or, when both are zero, leave it as it is.
type Reseal struct {
	Sealed []byte
	// Drop deletes the row; for a token cache, the user's link goes with it
	// (a link without tokens would only fail later).
	Drop bool
}

// SealedRewriter is the store side of a key rotation. *store.DB implements
// it (store/rekey.go).
type SealedRewriter interface {
	// RewriteSealed calls fn with every sealed value and applies each answer,
	// all in one transaction that keeps other writers out; an error from fn
	// rolls everything back.
	RewriteSealed(ctx context.Context, fn func(SealedValue) (Reseal, error)) error
}

// RekeyOptions configure Rekey.
type RekeyOptions struct {
	// OldKey opens the values; NewKey seals them again (32 bytes each).
	OldKey, NewKey []byte
	// DropUnreadable deletes values that open with neither key (their
	// users link again) instead of leaving them.
	DropUnreadable bool
}

// RekeyReport counts what Rekey did, row by row.
type RekeyReport struct {
	// Rewritten opened with the old key and are now sealed with the new one.
	Rewritten int
	// AlreadyNew already opened with the new key (an earlier run): left alone.
	AlreadyNew int
	// Unreadable opened with neither key; Dropped of them were deleted.
	Unreadable int
	Dropped    int
	// UnreadableUsers are the team:user of unreadable token caches: the
	// users who must link again.
	UnreadableUsers []string
}

// Rekey re-encrypts every sealed value from opts.OldKey to opts.NewKey, in
// one transaction. The bot must not run meanwhile with the old key: what it
// writes afterwards would be sealed with a key the new configuration lacks.
// Running it again after success changes nothing (every value is AlreadyNew).
func Rekey(ctx context.Context, st SealedRewriter, opts RekeyOptions) (RekeyReport, error) {
	if len(opts.OldKey) != 32 || len(opts.NewKey) != 32 {
		return RekeyReport{}, fmt.Errorf("identity: rekey: both keys must be 32 bytes (old %d, new %d)", len(opts.OldKey), len(opts.NewKey))
	}
	if bytes.Equal(opts.OldKey, opts.NewKey) {
		return RekeyReport{}, errors.New("identity: rekey: the old and new keys are the same")
	}
	oldA, err := newAEAD(opts.OldKey)
	if err != nil {
		return RekeyReport{}, err
	}
	newA, err := newAEAD(opts.NewKey)
	if err != nil {
		return RekeyReport{}, err
	}

	var rep RekeyReport
	err = st.RewriteSealed(ctx, func(v SealedValue) (Reseal, error) {
		if v.Kind != SealedTokenCache && v.Kind != SealedLoginState && v.Kind != SealedStepToken {
			return Reseal{}, fmt.Errorf("identity: rekey: unknown kind of sealed value %q", v.Kind)
		}
		aad := sealedAAD(v)
		if plain, err := unseal(oldA, v.Sealed, aad); err == nil {
			rep.Rewritten++
			return Reseal{Sealed: seal(newA, plain, aad)}, nil
		}
		if _, err := unseal(newA, v.Sealed, aad); err == nil {
			rep.AlreadyNew++
			return Reseal{}, nil
		}
		rep.Unreadable++
		if v.Kind == SealedTokenCache {
			rep.UnreadableUsers = append(rep.UnreadableUsers, v.Team+":"+v.User)
		}
		if opts.DropUnreadable {
			rep.Dropped++
			return Reseal{Drop: true}, nil
		}
		return Reseal{}, nil
	})
	if err != nil {
		// Rolled back: nothing was rewritten.
		return RekeyReport{}, fmt.Errorf("identity: rekey: %w", err)
	}
	return rep, nil
}
