package evidence

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// LinkToken is the stored side of a file store download link: the token's
// SHA-256 only, never the token, so a database dump opens no package.
type LinkToken struct {
	// Hash is the hex SHA-256 of the token in the URL.
	Hash      string
	RequestID string
	// Actor is the Slack user the link was issued to (each download served
	// through it is recorded under this name).
	Actor     string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// ErrUnknownToken is returned by LinkTokens.LinkToken for a hash never saved
// (or long expired and deleted).
var ErrUnknownToken = errors.New("evidence: unknown link token")

// LinkTokens keeps the file store's link tokens (package store implements it
// with the evidence_links table, shared by every replica).
type LinkTokens interface {
	// SaveLinkToken stores t; it may delete tokens long expired.
	SaveLinkToken(ctx context.Context, t LinkToken) error
	// LinkToken returns the token with this hash, or ErrUnknownToken.
	LinkToken(ctx context.Context, hash string) (LinkToken, error)
}

// newToken returns a random URL-safe token (256 bits) and its hex SHA-256.
func newToken() (token, hash string) {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	token = base64.RawURLEncoding.EncodeToString(b[:])
	return token, tokenHash(token)
}

func tokenHash(token string) string {
	s := sha256.Sum256([]byte(token))
	return hex.EncodeToString(s[:])
}

// LogValue keeps the query out of structured logs.
func (l Link) LogValue() slog.Value { return slog.StringValue(l.String()) }

// redactQuery drops a URL's query and fragment (tokens, SAS signatures).
func redactQuery(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	if u.RawQuery != "" {
		u.RawQuery = "REDACTED"
	}
	u.Fragment = ""
	u.User = nil
	return u.String()
}

var unsafeNameRE = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// DownloadName is the file name offered to downloaders and used by export:
// the custody record's FileName or machine name, reduced to letters,
// digits, dots, hyphens and underscores, never the zip's own content.
func DownloadName(c Custody) string {
	name := c.FileName
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:] // a live response path: its file name
	}
	if n := cleanName(name); n != "" {
		return n
	}
	if m := cleanName(c.MachineName); m != "" {
		return "investigation-package-" + m + "-" + c.RequestID + ".zip"
	}
	return "investigation-package-" + c.RequestID + ".zip"
}

// cleanName keeps a name's safe characters, without leading dots, at most
// 100 of them.
func cleanName(s string) string {
	s = strings.TrimLeft(unsafeNameRE.ReplaceAllString(s, "_"), "._")
	if len(s) > 100 {
		s = s[:100]
	}
	return s
}
