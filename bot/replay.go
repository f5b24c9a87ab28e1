package bot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/slack-go/slack/socketmode"
)

// Replays remembers what was already acted on, across replicas (the store).
type Replays interface {
	// FirstSeen records key until the given time and reports whether it was new.
	FirstSeen(ctx context.Context, key string, until, now time.Time) (bool, error)
	// ForgetReplays deletes entries whose time has passed.
	ForgetReplays(ctx context.Context, now time.Time) error
}

// replayMargin covers clock differences between Slack, replicas and the database.
const replayMargin = time.Minute

// socketRedelivery is how long a Socket Mode envelope is remembered: Slack
// redelivers an unacknowledged one within seconds to minutes.
const socketRedelivery = 30 * time.Minute

// firstTime reports whether key has not been acted on yet, and records it.
// Without a store, or when it cannot answer, the request is served: replay
// protection must not take the bot down with the database (every command
// that does something needs the database anyway).
func (s *Server) firstTime(ctx context.Context, key string, until time.Time) bool {
	if s.o.Replays == nil {
		return true
	}
	now := s.now()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	first, err := s.o.Replays.FirstSeen(ctx, key, until, now)
	if err != nil {
		s.log.Warn("replay check failed; serving the request", "err", err)
		return true
	}
	s.forgetOld(now)
	return first
}

// forgetOld deletes expired replay entries, at most once a minute, in the background.
func (s *Server) forgetOld(now time.Time) {
	last := s.lastForget.Load()
	if now.UnixNano()-last < int64(time.Minute) || !s.lastForget.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.o.Replays.ForgetReplays(ctx, now); err != nil {
			s.log.Warn("forgetting old replay entries failed", "err", err)
		}
	}()
}

// httpReplayKey names a signed HTTP request: its signature and timestamp (a
// hash of them: the table holds no signature), and how long it can be
// replayed (Slack's 5-minute window around its timestamp).
func httpReplayKey(h http.Header) (key string, until time.Time) {
	ts := h.Get("X-Slack-Request-Timestamp")
	sum := sha256.Sum256([]byte(h.Get("X-Slack-Signature") + "\n" + ts))
	sec, _ := strconv.ParseInt(ts, 10, 64) // verified before
	return "http:" + hex.EncodeToString(sum[:]), time.Unix(sec, 0).Add(maxSkew + replayMargin)
}

// socketReplayKeys name a Socket Mode envelope: its envelope_id, and what
// identifies its content across envelopes (a command's or click's
// trigger_id, an event's event_id), since a retry may come in a new envelope.
func socketReplayKeys(req *socketmode.Request) []string {
	keys := []string{"env:" + req.EnvelopeID}
	var p struct {
		TriggerID string `json:"trigger_id"`
		EventID   string `json:"event_id"`
	}
	if json.Unmarshal(req.Payload, &p) == nil {
		if p.TriggerID != "" {
			keys = append(keys, "trigger:"+p.TriggerID)
		}
		if p.EventID != "" {
			keys = append(keys, "event:"+p.EventID)
		}
	}
	return keys
}

// firstEnvelope reports whether a Socket Mode envelope is new: none of its
// keys was seen (every key is recorded either way).
func (s *Server) firstEnvelope(ctx context.Context, req *socketmode.Request) bool {
	until := s.now().Add(socketRedelivery)
	first := true
	for _, k := range socketReplayKeys(req) {
		if !s.firstTime(ctx, k, until) {
			first = false
		}
	}
	if !first {
		s.log.Info("socket mode redelivery ignored", "envelope_id", req.EnvelopeID, "retry_attempt", req.RetryAttempt)
	}
	return first
}
