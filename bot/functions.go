package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/slack-go/slack"

	"github.com/mdebot/mdebot/handlers"
)

// maxWebAPIAnswer caps the answer read from a Web API method.
const maxWebAPIAnswer = 1 << 20

// CompleteFunction ends a Workflow Builder step successfully
// (functions.completeSuccess) with its outputs, using token, the
// bot_access_token of the step's function_executed event (see stepToken for
// when the bot token is used instead).
func (s *Slack) CompleteFunction(ctx context.Context, token, executionID string, outputs map[string]string) error {
	if executionID == "" {
		return errors.New("complete function: no function_execution_id")
	}
	if outputs == nil {
		outputs = map[string]string{} // outputs is required, even empty
	}
	body := map[string]any{"function_execution_id": executionID, "outputs": outputs}
	return s.stepToken(ctx, token, executionID, func(token string) error {
		return s.call(ctx, "functions.completeSuccess", func(ctx context.Context) error {
			return s.functions().postMethod(ctx, "functions.completeSuccess", token, body)
		})
	})
}

// FailFunction ends a Workflow Builder step with an error
// (functions.completeError); Workflow Builder shows message to the
// workflow's users. message is plain text, which may quote a step input or
// a Defender error: it is escaped here like every plain part (Slack does not
// say whether it parses that field as mrkdwn, so it must not be able to
// mention or link). token is the execution's bot_access_token (see stepToken).
func (s *Slack) FailFunction(ctx context.Context, token, executionID, message string) error {
	switch {
	case executionID == "":
		return errors.New("fail function: no function_execution_id")
	case message == "":
		return errors.New("fail function: no error message")
	}
	body := map[string]any{"function_execution_id": executionID, "error": escape(message)}
	return s.stepToken(ctx, token, executionID, func(token string) error {
		return s.call(ctx, "functions.completeError", func(ctx context.Context) error {
			return s.functions().postMethod(ctx, "functions.completeError", token, body)
		})
	})
}

// stepToken runs a step's completion with the execution's own token, as
// Slack documents it. The bot token is used instead when there is none (it
// could not be read back) or when Slack refuses the execution's token (it
// is said to expire after 15 minutes, and a collection may take longer;
// whether Slack accepts the bot token there is unverified). A step Slack no
// longer runs is reported as handlers.ErrStepGone.
func (s *Slack) stepToken(ctx context.Context, token, executionID string, call func(token string) error) error {
	var err error
	if token != "" {
		err = call(token)
		if code := slackError(err); err != nil && authErrors[code] && ctx.Err() == nil {
			s.log.Warn("Slack refused the step's own token; completing it with the bot token", "execution_id", executionID, "error", code)
			err = call(s.botToken)
		}
	} else {
		s.log.Info("no token of the step's own; completing it with the bot token", "execution_id", executionID)
		err = call(s.botToken)
	}
	if code := slackError(err); code == "execution_not_in_running_state" || code == "function_execution_not_found" {
		return fmt.Errorf("%w (%w)", err, handlers.ErrStepGone)
	}
	return err
}

// authErrors are Slack's answers to a token it does not take.
var authErrors = map[string]bool{"invalid_auth": true, "not_authed": true, "token_expired": true, "token_revoked": true, "account_inactive": true}

func (s *Slack) functions() functionsClient { return functionsClient{apiURL: s.apiURL, http: s.http} }

// functionsClient calls Web API methods with a token chosen per call. slack-go
// v0.35 sends functions.completeSuccess/completeError with the client's own
// token and string outputs only; a step must answer with its execution's token.
type functionsClient struct {
	apiURL string // ends with '/'
	http   *http.Client
}

// postMethod POSTs body as JSON to method with token and reports failures
// the way slack-go does: slack.SlackErrorResponse for ok:false (its Err is
// Slack's error code), *slack.RateLimitedError for HTTP 429,
// slack.StatusCodeError for another HTTP status. The token travels in the
// Authorization header only, so no error carries it.
func (c functionsClient) postMethod(ctx context.Context, method, token string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encoding the request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.apiURL+method, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("building the request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusTooManyRequests:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxWebAPIAnswer))
		return &slack.RateLimitedError{RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	default:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxWebAPIAnswer))
		return slack.StatusCodeError{Code: resp.StatusCode, Status: resp.Status}
	}
	var r slack.SlackResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxWebAPIAnswer)).Decode(&r); err != nil {
		return fmt.Errorf("reading the answer: %w", err)
	}
	if r.Ok {
		return nil
	}
	if err := r.Err(); err != nil {
		return err
	}
	return errors.New("ok:false without an error code")
}

// retryAfter reads Retry-After (whole seconds). Slack always sends it with a
// 429; when it is missing or unreadable, wait a second rather than fail.
func retryAfter(h string) time.Duration {
	sec, err := strconv.Atoi(h)
	if err != nil || sec < 0 {
		return time.Second
	}
	return time.Duration(sec) * time.Second
}
