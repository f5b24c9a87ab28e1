package slackfake

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// maxAnswerBody caps how much of the bot's answer a Delivery keeps.
const maxAnswerBody = 64 << 10

// Delivery is one signed HTTP request the fake sent to the bot, and the answer.
type Delivery struct {
	URL         string
	Kind        string // "event_callback", "url_verification", "command", or the payload type ("message_action", ...)
	EventID     string // event_callback only
	RetryNum    int    // X-Slack-Retry-Num (0: first delivery)
	RetryReason string // X-Slack-Retry-Reason
	// Status and Body are the bot's answer (Body capped at 64 KiB); Status is
	// 0 and Err set when no answer arrived.
	Status      int
	ContentType string
	Body        []byte
	Err         string
}

// PostEvent posts ev to target, the bot's Events API URL (…/slack/events), signed
// with secret like Slack, and records the Delivery.
func (s *Server) PostEvent(ctx context.Context, target, secret string, ev EventCallback) (Delivery, error) {
	s.mu.Lock()
	if ev.EventID != "" {
		s.posted[ev.EventID]++
	}
	s.mu.Unlock()
	return s.post(ctx, target, secret, true, ev.Body, Delivery{Kind: ev.Type, EventID: ev.EventID})
}

// RetryEvent posts ev again as Slack retries an event it thinks failed: the
// same body and event_id, with X-Slack-Retry-Num (1 for the first retry, then
// counting) and X-Slack-Retry-Reason (default "http_timeout"; Slack also
// sends "http_error", "connection_failed", ...).
func (s *Server) RetryEvent(ctx context.Context, target, secret string, ev EventCallback, reason string) (Delivery, error) {
	s.mu.Lock()
	num := max(s.posted[ev.EventID], 1)
	s.posted[ev.EventID] = num + 1
	s.mu.Unlock()
	return s.post(ctx, target, secret, true, ev.Body, Delivery{
		Kind: ev.Type, EventID: ev.EventID, RetryNum: num, RetryReason: or(reason, "http_timeout"),
	})
}

// PostForm posts a slash command or interactivity form (CommandForm,
// BlockActionsPayload, MessageActionPayload) to target, signed with secret, and
// records the Delivery.
func (s *Server) PostForm(ctx context.Context, target, secret string, form url.Values) (Delivery, error) {
	kind := "command"
	if p := form.Get("payload"); p != "" {
		var head struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal([]byte(p), &head) // a malformed payload is sent as is
		kind = head.Type
	}
	return s.post(ctx, target, secret, false, []byte(form.Encode()), Delivery{Kind: kind})
}

func (s *Server) post(ctx context.Context, target, secret string, isJSON bool, body []byte, d Delivery) (Delivery, error) {
	d.URL = target
	build := SignedRequest
	if isJSON {
		build = SignedJSONRequest
	}
	req, err := build(ctx, target, secret, body, time.Now())
	if err != nil {
		return d, err
	}
	req.Header.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
	if d.RetryNum > 0 {
		req.Header.Set("X-Slack-Retry-Num", strconv.Itoa(d.RetryNum))
		req.Header.Set("X-Slack-Retry-Reason", d.RetryReason)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.Err = err.Error()
		s.record(Event{Kind: EventDelivered, Delivery: &d})
		return d, fmt.Errorf("slackfake: posting to the bot: %w", err)
	}
	defer resp.Body.Close()
	d.Status, d.ContentType = resp.StatusCode, resp.Header.Get("Content-Type")
	d.Body, err = io.ReadAll(io.LimitReader(resp.Body, maxAnswerBody))
	if err != nil {
		d.Err = err.Error()
	}
	s.record(Event{Kind: EventDelivered, Delivery: &d})
	if err != nil {
		return d, fmt.Errorf("slackfake: reading the bot's answer: %w", err)
	}
	return d, nil
}

// Deliveries returns the HTTP requests sent to the bot, oldest first.
func (s *Server) Deliveries() []Delivery {
	return recorded(s, EventDelivered, func(e Event) *Delivery { return e.Delivery })
}
