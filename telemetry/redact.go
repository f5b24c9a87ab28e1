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
	// The query (and fragment) of an http(s) URL: a package URL's token lives
	// there. The slashes may be JSON-escaped (https:\/\/host\/path?...); in
	// that form the query runs on through escapes (\u0026) but stops before
	// an escaped closing quote.
	urlQueryRE = regexp.MustCompile(`(?i)(https?:(?:\\*/){2}[^\s"'<>?#]+)[?#](?:[^\s"'<>\\]|\\[^"])*`)
	// key=value pairs of OAuth requests and responses and of SAS or package
	// links (token=, sig=), form or URL encoded (%3F, %26, %3D), inside a URL
	// or not. The name must start a word: status_code=200 stays.
	oauthPairRE = regexp.MustCompile(`(?i)(^|[^A-Za-z0-9_]|%3F|%26)(refresh_token|access_token|id_token|device_code|code|client_secret|code_verifier|client_assertion|password|token|sig)(=|%3D)[^&\s"',;]+`)
	// The same names as JSON fields, the quotes possibly escaped.
	oauthJSONRE = regexp.MustCompile(`(?i)(\\?)"(refresh_token|access_token|id_token|device_code|client_secret|code_verifier|client_assertion|password)(\\?"\s*:\s*\\?)"(?:[^"\\]|\\[^"])*(\\?)"`)
	// The token names followed by a value in any other form (refresh_token:
	// 0.AX…, "refresh_token 0.AX…"): values of 16 characters or more only,
	// so that ordinary words after the name stay.
	oauthLooseRE = regexp.MustCompile(`(?i)\b(refresh_token|access_token|id_token|client_secret|code_verifier|client_assertion)(\s*[:=]?\s*)[A-Za-z0-9._~+/-]{16,}=*`)
	// Entra's opaque refresh tokens ("0.A" then a long base64url blob) wherever they appear.
	entraRefreshRE = regexp.MustCompile(`\b0\.A[A-Za-z0-9_~+/-]{30,}(?:\.[A-Za-z0-9_~+/-]+)*`)
	// A url.URL printed by fmt (%+v) or encoded as JSON, inside a struct: its query and fragment fields.
	urlFieldsRE = regexp.MustCompile(`("?)\b(RawQuery|Fragment|RawFragment)("?:)(?:"(?:[^"\\]|\\.)+"|[^\s"}]+)`)
	bearerRE    = regexp.MustCompile(`(?i)\bbearer\s+[^\s"',;]+`)
	jwtRE       = regexp.MustCompile(`\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)*`)
	slackRE     = regexp.MustCompile(`\b(?:xox[abposre]|xapp|xwfp)-[A-Za-z0-9-]+`)
)

// Redact removes from s each of the given secret values (those shorter than
// 8 bytes are ignored), bearer tokens, JWTs, Slack tokens, OAuth token and
// code parameters, token= and sig= pairs, Entra refresh tokens, and the
// query string of every http(s) URL, JSON-escaped or not, and of a url.URL
// printed as a struct (scheme, host and path stay).
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
	if strings.Contains(s, ":/") || strings.Contains(s, `:\/`) {
		s = urlQueryRE.ReplaceAllString(s, "${1}?"+Redacted)
	}
	if strings.Contains(s, "=") || strings.Contains(s, "%3D") || strings.Contains(s, "%3d") {
		s = oauthPairRE.ReplaceAllString(s, "${1}${2}${3}"+Redacted)
	}
	if strings.Contains(s, `"`) {
		s = oauthJSONRE.ReplaceAllString(s, `${1}"${2}${3}"`+Redacted+`${4}"`)
	}
	if strings.Contains(s, "_") {
		s = oauthLooseRE.ReplaceAllString(s, "${1}${2}"+Redacted)
	}
	if strings.Contains(s, "0.A") {
		s = entraRefreshRE.ReplaceAllString(s, Redacted)
	}
	if strings.Contains(s, "Raw") || strings.Contains(s, "Fragment") {
		s = urlFieldsRE.ReplaceAllString(s, `${1}${2}${3}"`+Redacted+`"`)
	}
	if containsFold(s, "bearer") {
		s = bearerRE.ReplaceAllString(s, "Bearer "+Redacted)
	}
	if strings.Contains(s, "eyJ") {
		s = jwtRE.ReplaceAllString(s, Redacted)
	}
	if strings.Contains(s, "xox") || strings.Contains(s, "xapp-") || strings.Contains(s, "xwfp-") {
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
