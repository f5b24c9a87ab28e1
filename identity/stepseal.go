package identity

import (
	"crypto/cipher"
	"errors"
	"fmt"
)

// SealedStepToken is the kind of a Workflow Builder step's bot_access_token
// kept while its request runs (store table workflow_steps).
const SealedStepToken = "step_token"

// StepSealer seals the short-lived token Slack hands a Workflow Builder step
// (bot_access_token of function_executed) while the step's request runs, with
// the same key and format as the token caches (store.encryption_key), so that
// it never reaches the database in clear and `mdebot rekey` rewrites it too.
type StepSealer struct {
	aead cipher.AEAD
}

// NewStepSealer returns a sealer for the 32-byte store.encryption_key.
func NewStepSealer(key []byte) (*StepSealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("identity: step sealer: the key must be 32 bytes, got %d", len(key))
	}
	a, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	return &StepSealer{aead: a}, nil
}

// stepAAD binds a sealed step token to its request and requester: copied to
// another row, it does not open.
func stepAAD(team, user, requestID string) []byte {
	return []byte(team + ":" + user + ":step:" + requestID)
}

// Seal seals token for the request requestID of team's user.
func (s *StepSealer) Seal(team, user, requestID string, token []byte) ([]byte, error) {
	if err := checkIDs(team, user); err != nil {
		return nil, err
	}
	if requestID == "" {
		return nil, errors.New("identity: seal step token: no request ID")
	}
	return seal(s.aead, token, stepAAD(team, user, requestID)), nil
}

// Open opens what Seal sealed for the same team, user and request.
func (s *StepSealer) Open(team, user, requestID string, sealed []byte) ([]byte, error) {
	return unseal(s.aead, sealed, stepAAD(team, user, requestID))
}

// sealedAAD is the associated data a SealedValue was sealed with.
func sealedAAD(v SealedValue) []byte {
	if v.Kind == SealedStepToken {
		return stepAAD(v.Team, v.User, v.ID)
	}
	return userAAD(v.Team, v.User)
}
