package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"
)

// oauthError is an OAuth error answer of the authority.
type oauthError struct {
	Status int
	Code   string // invalid_grant, expired_token, ...
	AADSTS int    // first of error_codes, 0 when absent
}

func (e oauthError) String() string {
	if e.AADSTS != 0 {
		return fmt.Sprintf("%s (AADSTS%d)", e.Code, e.AADSTS)
	}
	return e.Code
}

// oauthErrorOf finds the authority's OAuth error in an MSAL error. MSAL puts
// the response body in the CallErr's message (and may have drained the
// body itself, as its device-code poller does), so the JSON is read from there.
func oauthErrorOf(err error) (oauthError, bool) {
	var ce msalerrors.CallErr
	if !errors.As(err, &ce) || ce.Err == nil {
		return oauthError{}, false
	}
	oe := oauthError{}
	if ce.Resp != nil {
		oe.Status = ce.Resp.StatusCode
	}
	msg := ce.Err.Error()
	i := strings.Index(msg, "{")
	if i < 0 {
		return oe, false
	}
	var body struct {
		Error      string `json:"error"`
		ErrorCodes []int  `json:"error_codes"`
	}
	if json.Unmarshal([]byte(msg[i:]), &body) != nil || body.Error == "" {
		return oe, false
	}
	oe.Code = body.Error
	if len(body.ErrorCodes) > 0 {
		oe.AADSTS = body.ErrorCodes[0]
	}
	return oe, true
}

// authorityError is a failed exchange with Entra ID. Error() is plain words
// a user may read; Unwrap gives MSAL's error (endpoint, answer) for logs.
type authorityError struct {
	words string
	err   error
}

func (e *authorityError) Error() string { return e.words }
func (e *authorityError) Unwrap() error { return e.err }

// authorityFailure describes err, from doing what with Microsoft, in words.
func authorityFailure(what string, err error) error {
	if oe, ok := oauthErrorOf(err); ok {
		return &authorityError{words: fmt.Sprintf("Microsoft refused the %s: %s", what, oe), err: err}
	}
	if ctxErr(err) != nil {
		return &authorityError{words: fmt.Sprintf("the %s was interrupted", what), err: err}
	}
	return &authorityError{words: fmt.Sprintf("the %s failed: Microsoft sign-in could not be reached or answered badly", what), err: err}
}

// ctxErr is the context error inside err, if any.
func ctxErr(err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		return context.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return context.DeadlineExceeded
	}
	return nil
}
