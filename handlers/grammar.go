package handlers

import (
	"strings"
	"unicode/utf8"

	"github.com/mdebot/mdebot/mde"
)

// Verbs of the slash command grammar (DESIGN.md).
const (
	VerbGet     = "get"
	VerbCollect = "collect"
	VerbGetFile = "getfile"
	VerbStatus  = "status"
	VerbLogin   = "login"
	VerbLogout  = "logout"
	VerbWhoami  = "whoami"
	VerbHelp    = "help"
	VerbSearch  = "search"
)

// maxCommandText bounds what is parsed; Slack's own limit is far lower in practice.
const maxCommandText = 4000

// maxComment bounds the collect comment sent to Defender.
const maxComment = 500

// Parsed is a command's text understood. It stays comparable (==).
type Parsed struct {
	Verb string
	// Target is the action ID (get, status) or the machine ID / hostname
	// (collect, getfile); a collect on several devices lists them separated
	// by commas (see Targets).
	Target string
	// Path is the absolute file path getfile fetches.
	Path string
	// Comment is the free text after a collect target or a getfile path.
	Comment string
	// Term is what search looks for: the text after its target, trimmed,
	// checked by triage.ValidateTerm.
	Term string
}

// Targets returns the devices of a collect (one or more), or the one target.
func (p Parsed) Targets() []string { return strings.Split(p.Target, ",") }

// Parse reads the text after the slash command. Every identifier is validated
// here, so a parsed command never carries one Defender would be asked about
// unvalidated. Errors are *Error with words for the user.
func Parse(text string) (Parsed, error) {
	if !utf8.ValidString(text) {
		return Parsed{}, errorf(CodeInvalid, "The command text is not valid UTF-8.")
	}
	if len(text) > maxCommandText {
		return Parsed{}, errorf(CodeInvalid, "The command text is too long (%d characters; at most %d).", len(text), maxCommandText)
	}
	fields := strings.Fields(text)
	if len(fields) == 0 {
		return Parsed{Verb: VerbHelp}, nil
	}
	verb := strings.ToLower(fields[0])
	args := fields[1:]
	switch verb {
	case VerbHelp, VerbLogin, VerbLogout, VerbWhoami:
		if len(args) > 0 {
			return Parsed{}, errorf(CodeInvalid, "%s takes no arguments.", Code(verb))
		}
		return Parsed{Verb: verb}, nil
	case VerbGet, VerbStatus:
		if len(args) != 1 {
			return Parsed{}, errorf(CodeInvalid, "Usage: %s.", Code(verb+" <machine-action-id>"))
		}
		id, err := actionID(args[0])
		if err != nil {
			return Parsed{}, err
		}
		return Parsed{Verb: verb, Target: id}, nil
	case VerbCollect:
		return parseCollect(text)
	case VerbGetFile:
		return parseGetFile(text)
	case VerbSearch:
		return parseSearch(text, fields)
	}
	if len(fields) == 1 {
		// A bare identifier means get.
		if id, err := actionID(fields[0]); err == nil {
			return Parsed{Verb: VerbGet, Target: id}, nil
		}
		return Parsed{}, errorf(CodeInvalid, "%s is neither a command nor a machine action ID (a GUID or 40 hex characters). Try %s.", Code(clip(fields[0])), Code("help"))
	}
	return Parsed{}, errorf(CodeInvalid, "Unknown command %s. Try %s.", Code(clip(fields[0])), Code("help"))
}

func actionID(s string) (string, error) {
	if err := mde.ValidateActionID(s); err != nil {
		return "", errorf(CodeInvalid, "%s is not a machine action ID: it must be a GUID or 40 hex characters.", Code(clip(s)))
	}
	return strings.ToLower(s), nil
}

func machineTarget(s string) (string, error) {
	if mde.ValidateMachineID(s) == nil {
		return strings.ToLower(s), nil
	}
	if mde.ValidateHostname(s) == nil {
		return strings.ToLower(s), nil
	}
	return "", errorf(CodeInvalid, "%s is neither a machine ID (40 hex characters) nor a valid hostname.", Code(clip(s)))
}

// clip keeps echoed user input short.
func clip(s string) string {
	if utf8.RuneCountInString(s) > 60 {
		r := []rune(s)
		return string(r[:60]) + "…"
	}
	return s
}

// usage lists the grammar with examples.
func usage(command string) Text {
	c := func(args string) Part { return Code(command + args) }
	return Lines(
		T("Usage:"),
		Tf("• %s or %s: deliver the investigation package of a CollectInvestigationPackage action (waits if it is still running)", c(" <action-id>"), c(" get <action-id>")),
		Tf("• %s: start a collection on a device, wait, deliver", c(" collect <machine-id or hostname> [comment]")),
		Tf("• %s: the same on up to %d devices at once (one confirmation, each device delivered on its own)", c(" collect <device>,<device>,... [comment]"), maxDevices),
		Tf("• %s: fetch one file from a device with live response (quote a path with spaces), deliver its .gz", c(" getfile <machine-id or hostname> <path> [comment]")),
		Tf("• %s: show the action's status", c(" status <action-id>")),
		Tf("• %s: search the text files of a delivered package (the request's, or the latest of the action you may see); answered privately", c(" search <request-id or action-id> <term>")),
		Tf("• %s / %s / %s: link, unlink or show your Microsoft account", c(" login"), Code("logout"), Code("whoami")),
		Tf("• %s: this message", c(" help")),
		T("Examples:"),
		T(c(" 7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6a7b")),
		T(c(" collect ws-0042.contoso.local suspicious PowerShell, INC-1234")),
		T(c(` getfile ws-0042 "C:\Users\alice\AppData\Local\Temp\invoice.js" INC-1234`)),
	)
}
