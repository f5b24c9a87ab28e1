package config

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// Login hosts per cloud (reference/mde-api.md). The API bases are package mde's.
const (
	LoginHostPublic = "https://login.microsoftonline.com"
	LoginHostUSGov  = "https://login.microsoftonline.us"
)

// LoginAuthority is the Entra login host (no tenant, no trailing slash):
// identity.authority when set, otherwise the host of mde.cloud.
func (c *Config) LoginAuthority() string {
	if a := strings.TrimRight(c.Identity.Authority, "/"); a != "" {
		return a
	}
	switch c.MDE.Cloud {
	case "gcc-high", "dod":
		return LoginHostUSGov
	}
	return LoginHostPublic
}

// EncryptionKey decodes store.encryption_key (standard base64, 32 bytes).
func (c *Config) EncryptionKey() ([]byte, error) {
	return decodeKey(c.Store.EncryptionKey)
}

func decodeKey(s string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil || len(key) != 32 {
		// The value is a secret: the error never quotes it.
		return nil, fmt.Errorf("store.encryption_key must be base64 of 32 bytes (openssl rand -base64 32)")
	}
	return key, nil
}

// Warnings are settings that are valid but weaken a guarantee; check-config
// prints them without failing.
func (c *Config) Warnings() []Problem {
	var ws []Problem
	if !c.Identity.RequireEmailMatch {
		ws = append(ws, Problem{Key: "identity.require_email_match", Message: "false: a Slack user could be linked to whichever Microsoft account opens her sign-in link; " +
			"each link then waits for a confirmation on the callback page that names the Slack user and workspace, but only the email match proves who signed in"})
	}
	return ws
}
