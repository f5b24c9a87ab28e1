package handlers

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/mdebot/mdebot/mde"
)

// Verbs of the slash command grammar (DESIGN.md).
const (
	VerbGet     = "get"
	VerbCollect = "collect"
	VerbStatus  = "status"
	VerbLogin   = "login"
	VerbLogout  = "logout"
	VerbWhoami  = "whoami"
	VerbHelp    = "help"
)

// maxCommandText bounds what is parsed; Slack's own limit is far lower in practice.
const maxCommandText = 4000

// maxComment bounds the collect comment sent to Defender.
const maxComment = 500

// Parsed is a command's text understood.
type Parsed struct {
	Verb string
	// Target is the action ID (get, status) or the machine ID / hostname (collect).
	Target string
	// Comment is the free text after a collect target.
	Comment string
}

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
			return Parsed{}, errorf(CodeInvalid, "`%s` takes no arguments.", verb)
		}
		return Parsed{Verb: verb}, nil
	case VerbGet, VerbStatus:
		if len(args) != 1 {
			return Parsed{}, errorf(CodeInvalid, "Usage: `%s <machine-action-id>`.", verb)
		}
		id, err := actionID(args[0])
		if err != nil {
			return Parsed{}, err
		}
		return Parsed{Verb: verb, Target: id}, nil
	case VerbCollect:
		if len(args) == 0 {
			return Parsed{}, errorf(CodeInvalid, "Usage: `collect <machine-id or hostname> [comment...]`.")
		}
		target, err := machineTarget(args[0])
		if err != nil {
			return Parsed{}, err
		}
		comment := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(text), fields[0]))
		comment = strings.TrimSpace(strings.TrimPrefix(comment, args[0]))
		if utf8.RuneCountInString(comment) > maxComment {
			return Parsed{}, errorf(CodeInvalid, "The comment is too long (at most %d characters).", maxComment)
		}
		return Parsed{Verb: VerbCollect, Target: target, Comment: comment}, nil
	}
	if len(fields) == 1 {
		// A bare identifier means get.
		if id, err := actionID(fields[0]); err == nil {
			return Parsed{Verb: VerbGet, Target: id}, nil
		}
		return Parsed{}, errorf(CodeInvalid, "`%s` is neither a command nor a machine action ID (a GUID or 40 hex characters). Try `help`.", clip(fields[0]))
	}
	return Parsed{}, errorf(CodeInvalid, "Unknown command `%s`. Try `help`.", clip(fields[0]))
}

func actionID(s string) (string, error) {
	if err := mde.ValidateActionID(s); err != nil {
		return "", errorf(CodeInvalid, "`%s` is not a machine action ID: it must be a GUID or 40 hex characters.", clip(s))
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
	return "", errorf(CodeInvalid, "`%s` is neither a machine ID (40 hex characters) nor a valid hostname.", clip(s))
}

// clip keeps echoed user input short and free of backticks (it is shown in code spans).
func clip(s string) string {
	s = strings.ReplaceAll(s, "`", "'")
	if utf8.RuneCountInString(s) > 60 {
		r := []rune(s)
		return string(r[:60]) + "…"
	}
	return s
}

// usage lists the grammar with examples.
func usage(command string) string {
	return fmt.Sprintf("*Usage*\n"+
		"• `%[1]s <action-id>` or `%[1]s get <action-id>`: deliver the investigation package of a CollectInvestigationPackage action (waits if it is still running)\n"+
		"• `%[1]s collect <machine-id or hostname> [comment]`: start a collection on a device, wait, deliver\n"+
		"• `%[1]s status <action-id>`: show the action's status\n"+
		"• `%[1]s login` / `logout` / `whoami`: link, unlink or show your Microsoft account\n"+
		"• `%[1]s help`: this message\n"+
		"*Examples*\n"+
		"`%[1]s 7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6a7b`\n"+
		"`%[1]s collect ws-0042.contoso.local suspicious PowerShell, INC-1234`", command)
}
