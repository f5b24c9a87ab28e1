package config

import "strings"

// Problem is one thing wrong with the configuration, tied to the key that holds it.
type Problem struct {
	Key     string
	Message string
}

// String renders the problem as "key: message".
func (p Problem) String() string { return p.Key + ": " + p.Message }

// Problems lists everything wrong at once. It is an error so that Load can
// return it; Error gives one "key: message" line per problem.
type Problems []Problem

// Error implements error.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}
