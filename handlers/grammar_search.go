package handlers

import (
	"strings"

	"github.com/mdebot/mdebot/triage"
)

// searchUsage is the search command's form, for refusals.
const searchUsage = "search <request-id or action-id> <term>"

// parseSearch reads "search <request-id or action-id> <term>": the term
// is the rest of the text, checked first (it is what people get wrong),
// then the identifier.
func parseSearch(text string, fields []string) (Parsed, error) {
	if len(fields) < 3 {
		return Parsed{}, errorf(CodeInvalid, "Usage: %s.", Code(searchUsage))
	}
	term := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(text), fields[0]))
	term = strings.TrimSpace(strings.TrimPrefix(term, fields[1]))
	if err := triage.ValidateTerm(term); err != nil {
		return Parsed{}, errorf(CodeInvalid, "Nothing was searched: %s. Usage: %s.", err.Error(), Code(searchUsage))
	}
	target := strings.ToLower(fields[1])
	if !isRequestID(target) {
		id, err := actionID(fields[1])
		if err != nil {
			return Parsed{}, errorf(CodeInvalid, "%s is neither a request ID (16 hex characters) nor a machine action ID (a GUID or 40 hex characters).", Code(clip(fields[1])))
		}
		target = id
	}
	return Parsed{Verb: VerbSearch, Target: target, Term: term}, nil
}

// isRequestID reports whether s is a request ID as the transport makes
// them: 16 lower-case hex characters (64 random bits).
func isRequestID(s string) bool {
	if len(s) != 16 {
		return false
	}
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
