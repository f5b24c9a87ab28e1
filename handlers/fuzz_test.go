package handlers

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mdebot/mdebot/mde"
)

// FuzzParse checks the slash command grammar on arbitrary text: it never
// panics, accepts only commands of the grammar with validated identifiers,
// refuses with a readable *Error, and gives the same answer twice.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"",
		"   ",
		"help",
		"HELP",
		"login",
		"logout extra",
		"whoami",
		"7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6a7b",
		"get 7F3C2A10-5B7E-4A8E-9B1D-2C3D4E5F6A7B",
		"status 0123456789abcdef0123456789abcdef01234567",
		"status",
		"get a b",
		"collect ws-0042.contoso.local suspicious PowerShell, INC-1234",
		"collect 0123456789ABCDEF0123456789abcdef01234567",
		"collect -bad-.example",
		"collect ws01\u00a0comment\u0085 with odd spaces ",
		"collect `ws01` `comment`",
		"`rm -rf` now",
		"\xff\xfe",
		"get ../../api/machines",
		"collect " + strings.Repeat("a", 64) + ".example",
		"collect ws01 " + strings.Repeat("é", 501),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		p, err := Parse(text)
		p2, err2 := Parse(text)
		if p != p2 || (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) {
			t.Fatalf("Parse(%q) is not deterministic: (%+v, %v) then (%+v, %v)", text, p, err, p2, err2)
		}
		if err != nil {
			checkParseError(t, text, p, err)
			return
		}
		checkParsed(t, text, p)
	})
}

func checkParseError(t *testing.T, text string, p Parsed, err error) {
	t.Helper()
	var he *Error
	if !errors.As(err, &he) {
		t.Fatalf("Parse(%q): error %T %v is not a *handlers.Error", text, err, err)
	}
	if he.Code != CodeInvalid {
		t.Fatalf("Parse(%q): error code %q, want %q", text, he.Code, CodeInvalid)
	}
	if p != (Parsed{}) {
		t.Fatalf("Parse(%q): refused but returned %+v", text, p)
	}
	if he.Message == "" || !utf8.ValidString(he.Message) {
		t.Fatalf("Parse(%q): message %q is empty or not UTF-8", text, he.Message)
	}
	// Echoed input sits in code spans: an odd count would let input escape one.
	if n := strings.Count(he.Message, "`"); n%2 != 0 {
		t.Fatalf("Parse(%q): message has %d backticks (unbalanced): %q", text, n, he.Message)
	}
}

func checkParsed(t *testing.T, text string, p Parsed) {
	t.Helper()
	if !utf8.ValidString(text) || len(text) > maxCommandText {
		t.Fatalf("Parse(%q) accepted text that is not UTF-8 or too long: %+v", text, p)
	}
	switch p.Verb {
	case VerbHelp, VerbLogin, VerbLogout, VerbWhoami:
		if p.Target != "" || p.Comment != "" {
			t.Fatalf("Parse(%q) = %+v: %s takes no arguments", text, p, p.Verb)
		}
	case VerbGet, VerbStatus:
		if err := mde.ValidateActionID(p.Target); err != nil {
			t.Fatalf("Parse(%q) = %+v: target fails ValidateActionID: %v", text, p, err)
		}
		if p.Comment != "" {
			t.Fatalf("Parse(%q) = %+v: %s has no comment", text, p, p.Verb)
		}
	case VerbCollect:
		if mde.ValidateMachineID(p.Target) != nil && mde.ValidateHostname(p.Target) != nil {
			t.Fatalf("Parse(%q) = %+v: collect target is neither a machine ID nor a hostname", text, p)
		}
		if utf8.RuneCountInString(p.Comment) > maxComment || p.Comment != strings.TrimSpace(p.Comment) {
			t.Fatalf("Parse(%q) = %+v: comment too long or not trimmed", text, p)
		}
	default:
		t.Fatalf("Parse(%q) = %+v: verb is not in the grammar", text, p)
	}
	if p.Target != strings.ToLower(p.Target) {
		t.Fatalf("Parse(%q) = %+v: target is not lower-cased", text, p)
	}
	// The canonical spelling of an accepted command parses to the same thing.
	canon := strings.TrimSpace(p.Verb + " " + p.Target + " " + p.Comment)
	if p.Verb == VerbHelp {
		canon = VerbHelp
	}
	if again, err := Parse(canon); err != nil || again != p {
		t.Fatalf("Parse(%q) = %+v, but its canonical form %q parses to (%+v, %v)", text, p, canon, again, err)
	}
}
