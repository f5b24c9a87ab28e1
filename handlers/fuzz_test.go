package handlers

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/mdebot/mdebot/mde"
	"github.com/mdebot/mdebot/triage"
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
		"search 0123456789abcdef 185.199.108.153",
		"SEARCH 0123456789ABCDEF  UPDATER.EXE  /silent ",
		"search 7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6a7b zoë",
		"search 0123456789abcdef0123456789abcdef01234567 `x`",
		"search 0123456789abcdef x",
		"search 0123456789abcdef a\u0085b",
		"search 0123456789abcdef \u00a0ab\u00a0",
		"search 0123456789abcde term",
		"search ../../etc term",
		"search 0123456789abcdef",
		"search " + strings.Repeat("ab", 101),
		"search 0123456789abcdef " + strings.Repeat("é", 201),
		"collect ws-01,ws-02, ws-03 INC-9",
		"collect a,b,c,d,e,f,g,h,i,j,k",
		"collect ws-01,,WS-01,",
		"collect ,",
		`getfile ws-0042 C:\Windows\Temp\x.ps1 INC-7`,
		`getfile ws-0042 "C:\Program Files\App\log.txt" note`,
		"getfile ws-0042 “/tmp/my file” note",
		`getfile ws-0042 "/tmp/a"b c" x`,
		`getfile ws-0042 "/tmp/x`,
		`getfile ws-0042 \\srv\share\x`,
		"getfile ws-0042 /tmp/\u0001x",
		"getfile ws-01,ws-02 /tmp/x",
		"getfile " + strings.Repeat("0", 40) + " /" + strings.Repeat("a", 1024),
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
	if msg := he.Message.Plain(); msg == "" || !utf8.ValidString(msg) {
		t.Fatalf("Parse(%q): message %q is empty or not UTF-8", text, msg)
	}
	// Echoed input is words or code, never a mention or a link.
	for _, part := range he.Message {
		if part.Kind != PartPlain && part.Kind != PartCode {
			t.Fatalf("Parse(%q): message part %+v is neither words nor code", text, part)
		}
	}
}

func checkParsed(t *testing.T, text string, p Parsed) {
	t.Helper()
	if !utf8.ValidString(text) || len(text) > maxCommandText {
		t.Fatalf("Parse(%q) accepted text that is not UTF-8 or too long: %+v", text, p)
	}
	if p.Verb != VerbSearch && p.Term != "" {
		t.Fatalf("Parse(%q) = %+v: only search has a term", text, p)
	}
	switch p.Verb {
	case VerbSearch:
		if !isRequestID(p.Target) && mde.ValidateActionID(p.Target) != nil {
			t.Fatalf("Parse(%q) = %+v: search target is neither a request ID nor an action ID", text, p)
		}
		if err := triage.ValidateTerm(p.Term); err != nil || p.Term != strings.TrimSpace(p.Term) || !strings.Contains(text, p.Term) {
			t.Fatalf("Parse(%q) = %+v: term not valid (%v), not trimmed, or not the typed text", text, p, err)
		}
		if p.Comment != "" {
			t.Fatalf("Parse(%q) = %+v: search has no comment", text, p)
		}
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
	case VerbCollect, VerbGetFile:
		targets := p.Targets()
		if len(targets) < 1 || len(targets) > maxDevices || (p.Verb == VerbGetFile && len(targets) != 1) {
			t.Fatalf("Parse(%q) = %+v: %d devices", text, p, len(targets))
		}
		for i, d := range targets {
			if mde.ValidateMachineID(d) != nil && mde.ValidateHostname(d) != nil {
				t.Fatalf("Parse(%q) = %+v: device %q is neither a machine ID nor a hostname", text, p, d)
			}
			if slices.Contains(targets[:i], d) {
				t.Fatalf("Parse(%q) = %+v: device %q listed twice", text, p, d)
			}
		}
		if utf8.RuneCountInString(p.Comment) > maxComment || p.Comment != strings.TrimSpace(p.Comment) {
			t.Fatalf("Parse(%q) = %+v: comment too long or not trimmed", text, p)
		}
		if (p.Verb == VerbGetFile) != (p.Path != "") {
			t.Fatalf("Parse(%q) = %+v: a path belongs to getfile, and getfile needs one", text, p)
		}
		if p.Path != "" && mde.ValidateLiveResponsePath(p.Path) != nil {
			t.Fatalf("Parse(%q) = %+v: the path fails ValidateLiveResponsePath: %v", text, p, mde.ValidateLiveResponsePath(p.Path))
		}
	default:
		t.Fatalf("Parse(%q) = %+v: verb is not in the grammar", text, p)
	}
	if p.Target != strings.ToLower(p.Target) {
		t.Fatalf("Parse(%q) = %+v: target is not lower-cased", text, p)
	}
	if p.Verb != VerbCollect && p.Verb != VerbGetFile && p.Path != "" {
		t.Fatalf("Parse(%q) = %+v: only getfile has a path", text, p)
	}
	// The canonical spelling of an accepted command parses to the same thing.
	canon := strings.TrimSpace(p.Verb + " " + p.Target + " " + p.Comment + p.Term)
	if p.Verb == VerbGetFile {
		canon = strings.TrimSpace(p.Verb + " " + p.Target + " " + canonicalPath(p.Path) + " " + p.Comment)
	}
	if p.Verb == VerbHelp {
		canon = VerbHelp
	}
	if again, err := Parse(canon); err != nil || again != p {
		t.Fatalf("Parse(%q) = %+v, but its canonical form %q parses to (%+v, %v)", text, p, canon, again, err)
	}
}

// canonicalPath is how a path is typed so that Parse reads it back: quoted
// when it holds a space (a parsed path never holds a quote before a space).
func canonicalPath(p string) string {
	if strings.IndexFunc(p, unicode.IsSpace) >= 0 {
		return `"` + p + `"`
	}
	return p
}
