package identity

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// sealVersion prefixes every sealed value, so the format (or key) can change later.
const sealVersion = 1

var errUnseal = errors.New("identity: a sealed value does not open with this key for this user (wrong store.encryption_key, or tampered)")

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("identity: encryption key: %w", err)
	}
	return cipher.NewGCM(block)
}

// userAAD binds a sealed value to its Slack user, so a row copied to another
// user does not open. IDs never contain ':' (checkIDs).
func userAAD(team, user string) []byte { return []byte(team + ":" + user) }

// seal is version || nonce || AES-256-GCM(plain, aad).
func seal(a cipher.AEAD, plain, aad []byte) []byte {
	out := make([]byte, 1+a.NonceSize(), 1+a.NonceSize()+len(plain)+a.Overhead())
	out[0] = sealVersion
	_, _ = rand.Read(out[1:]) // crypto/rand never fails
	return a.Seal(out, out[1:1+a.NonceSize()], plain, aad)
}

func unseal(a cipher.AEAD, sealed, aad []byte) ([]byte, error) {
	n := a.NonceSize()
	if len(sealed) < 1+n+a.Overhead() || sealed[0] != sealVersion {
		return nil, errUnseal
	}
	plain, err := a.Open(nil, sealed[1:1+n], sealed[1+n:], aad)
	if err != nil {
		return nil, errUnseal
	}
	return plain, nil
}
