package handlers

import (
	"errors"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mdebot/mdebot/mde"
)

// maxDevices bounds the devices of one collect: each is its own request, and
// Defender hands out only a few package links a minute.
const maxDevices = 10

// Usage lines of the device commands.
const (
	usageCollect = "collect <machine-id or hostname>[,<machine-id or hostname>...] [comment...]"
	usageGetFile = "getfile <machine-id or hostname> <path> [comment...]"
)

// parseCollect reads `collect <device>[,<device>...] [comment...]`: up to
// maxDevices devices separated by commas ("a, b" is read as "a,b"), each
// validated, duplicates dropped, in the order typed.
func parseCollect(text string) (Parsed, error) {
	_, rest := cutField(text) // the verb
	list, rest := cutField(rest)
	if list == "" {
		return Parsed{}, errorf(CodeInvalid, "Usage: %s.", Code(usageCollect))
	}
	// A device followed by a comma continues the list after the space.
	for strings.HasSuffix(list, ",") {
		next, after := cutField(rest)
		if next == "" {
			break
		}
		list, rest = list+next, after
	}
	var targets []string
	for item := range strings.SplitSeq(list, ",") {
		if item == "" {
			continue
		}
		t, err := machineTarget(item)
		if err != nil {
			return Parsed{}, err
		}
		if !slices.Contains(targets, t) {
			targets = append(targets, t)
		}
	}
	switch {
	case len(targets) == 0:
		return Parsed{}, errorf(CodeInvalid, "Usage: %s.", Code(usageCollect))
	case len(targets) > maxDevices:
		return Parsed{}, errorf(CodeInvalid, "That is %d devices; one collect takes at most %d.", len(targets), maxDevices)
	}
	comment, err := commentOf(rest)
	if err != nil {
		return Parsed{}, err
	}
	return Parsed{Verb: VerbCollect, Target: strings.Join(targets, ","), Comment: comment}, nil
}

// parseGetFile reads `getfile <device> <path> [comment...]`. A path with
// spaces is quoted ("C:\Program Files\app\log.txt"); the path is checked
// by mde.ValidateLiveResponsePath before anything else happens.
func parseGetFile(text string) (Parsed, error) {
	_, rest := cutField(text) // the verb
	device, rest := cutField(rest)
	if device == "" {
		return Parsed{}, errorf(CodeInvalid, "Usage: %s (quote a path with spaces).", Code(usageGetFile))
	}
	if strings.Contains(device, ",") {
		return Parsed{}, errorf(CodeInvalid, "%s fetches a file from one device at a time.", Code("getfile"))
	}
	target, err := machineTarget(device)
	if err != nil {
		return Parsed{}, err
	}
	path, rest, err := cutPath(rest)
	if err != nil {
		return Parsed{}, err
	}
	if path == "" {
		return Parsed{}, errorf(CodeInvalid, "Usage: %s (quote a path with spaces).", Code(usageGetFile))
	}
	if err := mde.ValidateLiveResponsePath(path); err != nil {
		var me *mde.Error
		if errors.As(err, &me) {
			return Parsed{}, &Error{Code: CodeInvalid, Message: T(me.Message)}
		}
		return Parsed{}, errorf(CodeInvalid, "The file path is not accepted.")
	}
	comment, err := commentOf(rest)
	if err != nil {
		return Parsed{}, err
	}
	return Parsed{Verb: VerbGetFile, Target: target, Path: path, Comment: comment}, nil
}

// commentOf is the trimmed free text after the arguments, within maxComment.
func commentOf(rest string) (string, error) {
	comment := strings.TrimSpace(rest)
	if utf8.RuneCountInString(comment) > maxComment {
		return "", errorf(CodeInvalid, "The comment is too long (at most %d characters).", maxComment)
	}
	return comment, nil
}

// cutField splits s, leading spaces skipped, into its first field (up to a
// space as strings.Fields sees one) and what follows it.
func cutField(s string) (field, rest string) {
	s = strings.TrimLeftFunc(s, unicode.IsSpace)
	i := strings.IndexFunc(s, unicode.IsSpace)
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i:]
}

// isQuote reports whether r opens or closes a quoted path: straight quotes
// and the curly ones chat clients substitute as people type.
func isQuote(r rune) bool { return r == '"' || r == '“' || r == '”' }

// cutPath takes the path argument from s: a quoted path runs to the first
// closing quote followed by a space or the end (so a quote inside the path
// is kept), an unquoted one to the next space.
func cutPath(s string) (path, rest string, err error) {
	s = strings.TrimLeftFunc(s, unicode.IsSpace)
	open, size := utf8.DecodeRuneInString(s)
	if s == "" || !isQuote(open) {
		path, rest = cutField(s)
		return path, rest, nil
	}
	body := s[size:]
	for i, r := range body {
		if !isQuote(r) {
			continue
		}
		after := body[i+utf8.RuneLen(r):]
		if next, _ := utf8.DecodeRuneInString(after); after == "" || unicode.IsSpace(next) {
			return body[:i], after, nil
		}
	}
	return "", "", errorf(CodeInvalid, "The quoted file path has no closing quote.")
}
