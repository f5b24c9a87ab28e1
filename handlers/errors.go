package handlers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/mdebot/mdebot/identity/account"
	"github.com/mdebot/mdebot/mde"
)

// Error codes of use-case refusals.
const (
	CodeInvalid   = "invalid"   // the command or an identifier is malformed
	CodeForbidden = "forbidden" // policy refuses this channel or user
	CodeAmbiguous = "ambiguous"
)

// Error is a refusal the user should read as is.
type Error struct {
	Code    string
	Message Text
}

func (e *Error) Error() string { return e.Message.Plain() }

// errorf builds a refusal; arguments that are Parts (a Code span, a
// mention) keep their kind (see Tf).
func errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: Tf(format, args...)}
}

// outcomeOf is the metrics outcome of a failed command: "refused" for the
// use cases' own refusals, "error" for everything else.
func outcomeOf(err error) string {
	var he *Error
	if errors.As(err, &he) && (he.Code == CodeForbidden || he.Code == CodeInvalid || he.Code == CodeAmbiguous) {
		return "refused"
	}
	return "error"
}

// notLinkedText is what every "no usable link" case tells the user.
func (s *Service) notLinkedText() Text {
	return Tf("Your Slack account is not linked to a Microsoft account, or the link expired: run %s.", Code(s.opt.Command+" login"))
}

// explain turns any error into words for the user. Unexpected errors are
// logged with a reference the user can quote.
func (s *Service) explain(ctx context.Context, err error, attrs ...any) Text {
	var he *Error
	var me *mde.Error
	switch {
	case errors.As(err, &he):
		return he.Message
	case errors.Is(err, account.ErrNotLinked):
		return s.notLinkedText()
	case errors.As(err, &me):
		return defenderText(me)
	case errors.Is(err, account.ErrBadState), errors.Is(err, account.ErrWrongTenant),
		errors.Is(err, account.ErrEmailMismatch), errors.Is(err, account.ErrExpired):
		return T(err.Error() + ".")
	}
	ref := newRef()
	s.log.ErrorContext(ctx, "unexpected error", append(attrs, "ref", ref, "err", err)...)
	return Tf("internal error (ref %s). Ask the bot's operators, quoting the reference.", Code(ref))
}

// defenderText is a Defender failure in plain words, keeping Defender's own
// message and correlation id, and saying what to do next.
func defenderText(e *mde.Error) Text {
	var s, next string
	says := e.Message
	switch e.Kind {
	case mde.KindForbidden:
		// mde's message names the missing role or device-group access, then Defender's words.
		s, says = "Defender refused this as you: "+e.Message+".", ""
		next = "Ask your Defender administrator for the role it names and access to the device's group."
	case mde.KindUnauthorized:
		s, next = "Defender rejected your sign-in token.", "Run the login command again."
	case mde.KindNotFound:
		s, next = "Defender does not know this action or device (or you cannot see it).", "Check the ID in the Defender portal."
	case mde.KindNotReady:
		s = "The package is not ready yet."
	case mde.KindAlreadyRunning:
		s = "A collection is already running on this device."
	case mde.KindSessionOpen:
		s, next = "A live response session is already open on this device.", "Wait until it ends (or end it in the Defender portal), then ask again."
	case mde.KindLinkExpired:
		s = "Defender's download link expired before the file was fetched."
	case mde.KindRateLimited:
		s = fmt.Sprintf("Defender is throttling requests; retry in about %s.", e.RetryAfter.Round(time.Second))
	case mde.KindServer:
		s, next = "Defender is not answering properly right now.", "Try again in a few minutes."
	case mde.KindInvalidInput:
		return T(e.Message)
	case mde.KindRefusedURL:
		return T("Defender returned a download link this bot does not trust (not https, or a host outside mde.download_hosts); it was not fetched. Tell the bot's operators.")
	case mde.KindTooLarge:
		return T("The file is larger than this bot accepts (mde.max_package_size).")
	default:
		s = "Defender answered unexpectedly."
	}
	t := T(s)
	if says != "" {
		t = append(t, Plain(" Defender says: "+says))
	}
	if e.CorrelationID != "" {
		t = append(t, Tf(" (ref %s)", Code(e.CorrelationID))...)
	}
	if next != "" {
		t = append(t, Plain(" "+next))
	}
	return t
}

func newRef() string { return randomHex(4) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

// logger returns the service logger carrying the request's correlation id.
func (s *Service) logger(requestID string) *slog.Logger {
	if requestID == "" {
		return s.log
	}
	return s.log.With("request_id", requestID)
}
