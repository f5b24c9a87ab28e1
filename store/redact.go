package store

import "regexp"

// urlQuery matches the query string of an http(s) URL in free text. A
// package URL's query string is a bearer credential, and error texts (Go's
// *url.Error quotes the URL it fetched) can carry one into a Detail: this is
// the store's second line of defence, so none is written in clear.
var urlQuery = regexp.MustCompile(`(?i)(https?://[^\s?#"'<>]+)\?[^\s#"'<>]*`)

// redactURLs replaces every URL query string in s with "REDACTED".
func redactURLs(s string) string {
	return urlQuery.ReplaceAllString(s, "${1}?REDACTED")
}
