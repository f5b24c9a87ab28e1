package bot

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/slack-go/slack"

	"github.com/mdebot/mdebot/handlers"
)

// onShortcut handles a verified message shortcut (message_action). Like a
// click, it is acknowledged empty; the answer goes to its response_url.
func (s *Server) onShortcut(ctx context.Context, cb slack.InteractionCallback) (start func()) {
	sc := handlers.Shortcut{
		RequestID:   newRequestID(),
		Team:        cb.Team.ID,
		Channel:     cb.Channel.ID,
		User:        cb.User.ID,
		CallbackID:  cb.CallbackID,
		ResponseURL: cb.ResponseURL,
		TriggerID:   cb.TriggerID,
		Text:        messageText(cb.Message),
	}
	log := s.log.With("request_id", sc.RequestID, "kind", "shortcut", "team", sc.Team, "channel", sc.Channel,
		"user", sc.User, "callback_id", sc.CallbackID)
	sc.ResponseURL = s.allowedResponseURL(log, sc.ResponseURL)
	to := handlers.Recipient{Team: sc.Team, Channel: sc.Channel, User: sc.User, ResponseURL: sc.ResponseURL}
	return s.interact(log, "shortcut", cb, s.o.Surfaces != nil, sc.RequestID, to,
		func() handlers.Ack { return s.o.Surfaces.Shortcut(ctx, sc) })
}

// notText are the keys of blocks and attachments whose values are no text
// people wrote (identifiers, styles, images).
var notText = []string{"type", "block_id", "action_id", "style", "color", "id", "ts", "image_url", "thumb_url",
	"icon_url", "author_icon", "footer_icon", "service_icon", "user_id", "team_id", "channel_id", "unicode", "name"}

// messageText is every text of a message, one per line: its text, and each
// string of its attachments and blocks (fields, sections, rich text, links)
// but for identifiers and styles. A message made of blocks may have no text.
func messageText(m slack.Message) string {
	parts := []string{m.Text}
	for _, v := range []any{m.Attachments, m.Blocks.BlockSet} {
		raw, err := json.Marshal(v)
		if err != nil {
			continue
		}
		var tree any
		if json.Unmarshal(raw, &tree) == nil {
			parts = collectText(tree, "", parts)
		}
	}
	return strings.Join(parts, "\n")
}

func collectText(v any, key string, out []string) []string {
	switch x := v.(type) {
	case string:
		if x != "" && !slices.Contains(notText, key) {
			out = append(out, x)
		}
	case []any:
		for _, e := range x {
			out = collectText(e, key, out)
		}
	case map[string]any:
		for k, e := range x {
			out = collectText(e, k, out)
		}
	}
	return out
}
