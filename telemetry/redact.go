// Package telemetry gives every package the same logging and metrics: a
// slog handler that redacts secrets before anything is written, and
// Prometheus metrics on a private registry.
package telemetry

import (
	"cmp"
	"regexp"
	"slices"
	"strings"
)

// Redacted replaces whatever was removed.
const Redacted = "REDACTED"

// minSecretLen: shorter "secrets" would redact ordinary words.
const minSecretLen = 8

// Patterns of credentials that are recognisable without knowing their value.
var (
	// The query (and fragment) of an http(s) URL: a package URL's token lives there.
	urlQueryRE = regexp.MustCompile(`(?i)(https?://[^\s"'<>?#]+)[?#][^\s"'<>]*`)
	// key=value pairs of OAuth requests and responses, form or URL encoded.
	oauthPairRE = regexp.MustCompile(`(?i)\b(refresh_token|access_token|id_token|code|client_secret|code_verifier|client_assertion|password)=[^&\s"',;]+`)
	// The same names as JSON fields.
	oauthJSONRE = regexp.MustCompile(`(?i)"(refresh_token|access_token|id_token|client_secret|code_verifier|client_assertion|password)"(\s*:\s*)"[^"]*"`)
	bearerRE    = regexp.MustCompile(`(?i)\bbearer\s+[^\s"',;]+`)
	jwtRE       = regexp.MustCompile(`\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)*`)
	slackRE     = regexp.MustCompile(`\b(?:xox[abposre]|xapp)-[A-Za-z0-9-]+`)
)

// Redact removes from s each of the given secret values (those shorter than
// 8 bytes are ignored), bearer tokens, JWTs, Slack tokens, OAuth token and
// code parameters, and the query string of every http(s) URL (scheme, host
// and path stay).
func Redact(s string, secrets []string) string {
	return newRedactor(secrets).redact(s)
}

// redactor holds the secrets to remove, longest first so that a secret
// containing another is removed whole.
type redactor struct {
	secrets []string
}

func newRedactor(secrets []string) *redactor {
	var keep []string
	for _, s := range secrets {
		if len(s) >= minSecretLen && !slices.Contains(keep, s) {
			keep = append(keep, s)
		}
	}
	slices.SortFunc(keep, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	return &redactor{secrets: keep}
}

func (r *redactor) redact(s string) string {
	for _, secret := range r.secrets {
		if strings.Contains(s, secret) {
			s = strings.ReplaceAll(s, secret, Redacted)
		}
	}
	// Cheap substring tests skip the regular expressions for most strings.
	if strings.Contains(s, "://") {
		s = urlQueryRE.ReplaceAllString(s, "${1}?"+Redacted)
	}
	if strings.Contains(s, "=") {
		s = oauthPairRE.ReplaceAllString(s, "${1}="+Redacted)
	}
	if strings.Contains(s, `"`) {
		s = oauthJSONRE.ReplaceAllString(s, `"${1}"${2}"`+Redacted+`"`)
	}
	if containsFold(s, "bearer") {
		s = bearerRE.ReplaceAllString(s, "Bearer "+Redacted)
	}
	if strings.Contains(s, "eyJ") {
		s = jwtRE.ReplaceAllString(s, Redacted)
	}
	if strings.Contains(s, "xox") || strings.Contains(s, "xapp-") {
		s = slackRE.ReplaceAllString(s, Redacted)
	}
	return s
}

// containsFold is an allocation-free case-insensitive strings.Contains for an
// ASCII lower-case needle.
func containsFold(s, needle string) bool {
	for i := 0; i+len(needle) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(needle)], needle) {
			return true
		}
	}
	return false
}
