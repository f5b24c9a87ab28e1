package bot

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/slack-go/slack"
)

// serveCommand is POST /slack/commands.
func (s *Server) serveCommand(w http.ResponseWriter, r *http.Request) {
	t0 := time.Now()
	if !s.readVerified(w, r) {
		return
	}
	sc, err := slack.SlashCommandParse(r)
	if err != nil {
		http.Error(w, "bad slash command form", http.StatusBadRequest)
		return
	}
	reply, start := s.onCommand(r.Context(), sc)
	if reply == nil {
		w.WriteHeader(http.StatusOK)
	} else {
		body, err := json.Marshal(ackReply(*reply))
		if err != nil {
			s.log.Error("encoding ack reply", "err", err)
			body = nil
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	}
	flush(w)
	if start != nil {
		start()
	}
	s.observe("command", t0)
}

// serveInteractivity is POST /slack/interactivity.
func (s *Server) serveInteractivity(w http.ResponseWriter, r *http.Request) {
	t0 := time.Now()
	if !s.readVerified(w, r) {
		return
	}
	cb, err := slack.InteractionCallbackParse(r)
	if err != nil {
		http.Error(w, "bad interaction payload", http.StatusBadRequest)
		return
	}
	start := s.onClick(r.Context(), cb)
	w.WriteHeader(http.StatusOK)
	flush(w)
	if start != nil {
		start()
	}
	s.observe("interaction", t0)
}

// flush pushes the response to Slack now, before any background work starts.
func flush(w http.ResponseWriter) {
	_ = http.NewResponseController(w).Flush()
}

// readVerified reads the capped raw body, verifies Slack's signature over it,
// checks it was not acted on before, and only then puts it back for the form
// parser. Otherwise it answers (413 for an oversized body, 401 for any
// signature problem, an empty 200 for a replay) and returns false.
func (s *Server) readVerified(w http.ResponseWriter, r *http.Request) bool {
	if !s.readSigned(w, r) {
		return false
	}
	if key, until := httpReplayKey(r.Header); !s.firstTime(r.Context(), key, until) {
		// Acted on already (by this replica or another): acknowledge, do nothing.
		s.log.Info("replayed slack request ignored", "path", r.URL.Path, "remote", r.RemoteAddr)
		w.WriteHeader(http.StatusOK)
		return false
	}
	return true
}

// readSigned is readVerified without the replay check, for the events
// route, whose event_id guard already makes a replay (or Slack's own retry)
// count once: one store write on its acknowledgement rather than two.
func (s *Server) readSigned(w http.ResponseWriter, r *http.Request) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.log.Warn("slack request refused: body too large", "path", r.URL.Path, "remote", r.RemoteAddr)
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return false
		}
		http.Error(w, "cannot read request body", http.StatusBadRequest)
		return false
	}
	if err := verifySignature(r.Header, body, s.o.SigningSecret, s.now()); err != nil {
		s.log.Warn("slack request refused", "path", r.URL.Path, "remote", r.RemoteAddr, "reason", err)
		http.Error(w, "invalid request signature", http.StatusUnauthorized)
		return false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return true
}
