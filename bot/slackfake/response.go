package slackfake

import (
	"encoding/json"
	"io"
	"net/http"
)

// maxResponsePosts is how many times Slack lets a response_url be used.
const maxResponsePosts = 5

// serveResponse is a response_url: JSON posts are recorded; like Slack's it
// answers "ok" as text, and refuses after 5 posts.
func (s *Server) serveResponse(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxAPIBody))
	if err != nil {
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	var msg struct {
		ResponseType    string          `json:"response_type"`
		ReplaceOriginal bool            `json:"replace_original"`
		DeleteOriginal  bool            `json:"delete_original"`
		Text            string          `json:"text"`
		Blocks          json.RawMessage `json:"blocks"`
		UnfurlLinks     *bool           `json:"unfurl_links"`
		UnfurlMedia     *bool           `json:"unfurl_media"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	h, found := s.hooks[r.PathValue("token")]
	used := found && h.posts >= maxResponsePosts
	if found && !used {
		h.posts++
	}
	s.mu.Unlock()
	switch {
	case !found:
		http.Error(w, "no_active_hooks", http.StatusNotFound)
		return
	case used:
		http.Error(w, "used_url", http.StatusNotFound)
		return
	}
	if msg.ResponseType == "" {
		msg.ResponseType = "ephemeral" // Slack's default
	}
	s.record(Event{Kind: EventResponse, Response: &ResponsePost{
		ID:              h.id,
		ResponseType:    msg.ResponseType,
		ReplaceOriginal: msg.ReplaceOriginal,
		DeleteOriginal:  msg.DeleteOriginal,
		Text:            msg.Text,
		Blocks:          msg.Blocks,
		UnfurlLinks:     msg.UnfurlLinks,
		UnfurlMedia:     msg.UnfurlMedia,
		Body:            body,
	}})
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok"))
}
