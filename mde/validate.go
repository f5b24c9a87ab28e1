package mde

import (
	"fmt"
	"regexp"
	"strings"
)

var (
	guidRE  = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	hex40RE = regexp.MustCompile(`^[0-9a-fA-F]{40}$`)
	labelRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)
)

// ValidateActionID accepts a machine action ID: a GUID or 40 hex characters.
// The error is an *Error of KindInvalidInput whose Message can be shown.
func ValidateActionID(id string) error {
	if guidRE.MatchString(id) || hex40RE.MatchString(id) {
		return nil
	}
	return invalidInput("%s is not a machine action ID (expected a GUID or 40 hex characters).", quoteInput(id))
}

// ValidateMachineID accepts a Defender device ID: 40 hex characters.
func ValidateMachineID(id string) error {
	if hex40RE.MatchString(id) {
		return nil
	}
	return invalidInput("%s is not a Defender device ID (expected 40 hex characters).", quoteInput(id))
}

// ValidateHostname accepts an RFC 1123 host name: at most 253 characters,
// dot-separated labels of 1 to 63 letters, digits and hyphens, no label
// starting or ending with a hyphen.
func ValidateHostname(name string) error {
	ok := name != "" && len(name) <= 253
	if ok {
		for _, l := range strings.Split(name, ".") {
			if !labelRE.MatchString(l) {
				ok = false
				break
			}
		}
	}
	if ok {
		return nil
	}
	return invalidInput("%s is not a valid host name (letters, digits and hyphens in dot-separated labels of up to 63 characters, 253 in all).", quoteInput(name))
}

func invalidInput(format string, args ...any) *Error {
	return &Error{Kind: KindInvalidInput, Endpoint: "input", Message: fmt.Sprintf(format, args...)}
}

// quoteInput quotes untrusted input for a message, cut short so a pasted
// novel does not end up in a chat reply.
func quoteInput(s string) string {
	const max = 80
	if len(s) > max {
		return fmt.Sprintf("%q…", s[:max])
	}
	return fmt.Sprintf("%q", s)
}

// withEndpoint returns err with its Endpoint set when it is an *Error.
func withEndpoint(err error, endpoint string) error {
	if e, ok := err.(*Error); ok {
		c := *e
		c.Endpoint = endpoint
		return &c
	}
	return err
}
