package bot

import (
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/mdebot/mdebot/handlers"
)

// Slack's Block Kit limits (characters). Text over a limit makes Slack refuse
// the whole message (invalid_blocks), so every text is clamped here, in one place.
const (
	maxSectionText   = 3000
	maxTextSections  = 4 // the body beyond 4 full sections is cut: messages stay readable
	maxFieldText     = 2000
	maxFieldsPerSect = 10
	maxFields        = 20
	maxButtons       = 25 // elements per actions block
	maxButtonText    = 75
	maxContextText   = 2000
	maxConfirmTitle  = 100
	maxConfirmText   = 300
	maxConfirmButton = 30
	maxFallbackText  = 40000
)

// clamp cuts s to at most n characters, marking the cut with an ellipsis.
func clamp(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// mrkdwn is a text object of already rendered mrkdwn.
func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, true, false)
}

// renderBlocks turns a neutral message into Block Kit: a bold header line, the
// body, fields, the next step, one actions block of buttons, and small print.
func renderBlocks(m handlers.Message) []slack.Block {
	var blocks []slack.Block
	if h := strings.TrimSpace(mrkdwnOf(m.Header)); h != "" {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(clamp("*"+h+"*", maxSectionText)), nil, nil))
	}
	for _, chunk := range splitText(strings.TrimSpace(mrkdwnOf(m.Text)), maxSectionText, maxTextSections) {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(chunk), nil, nil))
	}
	fields := m.Fields
	if len(fields) > maxFields {
		fields = fields[:maxFields]
	}
	for start := 0; start < len(fields); start += maxFieldsPerSect {
		end := min(start+maxFieldsPerSect, len(fields))
		objs := make([]*slack.TextBlockObject, 0, end-start)
		for _, f := range fields[start:end] {
			value := strings.TrimSpace(mrkdwnOf(f.Value))
			if value == "" {
				value = "-"
			}
			objs = append(objs, mrkdwn(clamp("*"+escape(f.Label)+"*\n"+value, maxFieldText)))
		}
		blocks = append(blocks, slack.NewSectionBlock(nil, objs, nil))
	}
	if n := strings.TrimSpace(mrkdwnOf(m.Next)); n != "" {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(clamp("*Next:* "+n, maxSectionText)), nil, nil))
	}
	if len(m.Buttons) > 0 {
		buttons := m.Buttons
		if len(buttons) > maxButtons {
			buttons = buttons[:maxButtons]
		}
		elems := make([]slack.BlockElement, 0, len(buttons))
		for _, b := range buttons {
			elems = append(elems, renderButton(b))
		}
		blocks = append(blocks, slack.NewActionBlock("", elems...))
	}
	if c := strings.TrimSpace(mrkdwnOf(m.Context)); c != "" {
		blocks = append(blocks, slack.NewContextBlock("", mrkdwn(clamp(c, maxContextText))))
	}
	return blocks
}

func renderButton(b handlers.Button) *slack.ButtonBlockElement {
	label := strings.TrimSpace(b.Label)
	if label == "" {
		label = b.ActionID
	}
	btn := slack.NewButtonBlockElement(b.ActionID, b.Value, plain(clamp(label, maxButtonText)))
	switch b.Style {
	case "primary":
		btn.Style = slack.StylePrimary
	case "danger":
		btn.Style = slack.StyleDanger
	}
	if c := b.Confirm; c != nil {
		// Slack requires all four texts; fill what the handler left empty.
		title := orDefault(c.Title, "Are you sure?")
		text := orDefault(c.Text, "Please confirm: "+label+".")
		yes := orDefault(c.Confirm, label)
		no := orDefault(c.Deny, "Cancel")
		btn.Confirm = slack.NewConfirmationBlockObject(
			plain(clamp(title, maxConfirmTitle)),
			mrkdwn(clamp(escape(text), maxConfirmText)),
			plain(clamp(yes, maxConfirmButton)),
			plain(clamp(no, maxConfirmButton)),
		)
	}
	return btn
}

func orDefault(s, def string) string {
	if s = strings.TrimSpace(s); s != "" {
		return s
	}
	return def
}

// splitText cuts s into at most limit chunks of at most n characters,
// preferring line breaks; what does not fit is cut with an ellipsis.
func splitText(s string, n, limit int) []string {
	var chunks []string
	for s != "" {
		if len(chunks) == limit-1 || utf8.RuneCountInString(s) <= n {
			chunks = append(chunks, clamp(s, n))
			break
		}
		r := []rune(s)
		cut := n
		if i := strings.LastIndex(string(r[:n]), "\n"); i > 0 {
			cut = utf8.RuneCountInString(string(r[:n])[:i])
		}
		chunks = append(chunks, strings.TrimRight(string(r[:cut]), "\n"))
		s = strings.TrimLeft(string(r[cut:]), "\n")
	}
	return chunks
}

// fallbackText is the message's `text`: notifications, screen readers and
// tests read it. Slack parses it as mrkdwn too, so it is rendered like the
// blocks. It holds everything but the buttons.
func fallbackText(m handlers.Message) string {
	return clamp(renderLines(m, false, mrkdwnOf), maxFallbackText)
}

// RenderText renders m as readable plain text (the demo transcript prints it):
// header, text, "Label: value" fields, the next step, buttons as "[Approve] [Deny]",
// and the small print.
func RenderText(m handlers.Message) string {
	return renderLines(m, true, plainOf)
}

func renderLines(m handlers.Message, buttons bool, render func(handlers.Text) string) string {
	var lines []string
	add := func(s string) {
		if s = strings.TrimSpace(s); s != "" {
			lines = append(lines, s)
		}
	}
	add(render(m.Header))
	add(render(m.Text))
	for _, f := range m.Fields {
		add(render(handlers.T(f.Label+": ", f.Value)))
	}
	if !m.Next.IsEmpty() {
		add(render(handlers.T("Next: ", m.Next)))
	}
	if buttons && len(m.Buttons) > 0 {
		labels := make([]string, 0, len(m.Buttons))
		for _, b := range m.Buttons {
			labels = append(labels, "["+orDefault(b.Label, b.ActionID)+"]")
		}
		add(strings.Join(labels, " "))
	}
	add(render(m.Context))
	return strings.Join(lines, "\n")
}

// reply is the JSON body Slack takes for an acknowledgement and a response_url post.
type reply struct {
	ResponseType    string        `json:"response_type"`
	ReplaceOriginal *bool         `json:"replace_original,omitempty"`
	Text            string        `json:"text"`
	Blocks          []slack.Block `json:"blocks,omitempty"`
	UnfurlLinks     *bool         `json:"unfurl_links,omitempty"`
	UnfurlMedia     *bool         `json:"unfurl_media,omitempty"`
}

// ackReply renders the body of an acknowledgement (HTTP response or Socket Mode ack payload).
func ackReply(m handlers.Message) reply {
	rt := "ephemeral"
	if m.InChannel {
		rt = "in_channel"
	}
	return reply{ResponseType: rt, Text: fallbackText(m), Blocks: renderBlocks(m)}
}

// responseURLReply renders a private response_url post: a new ephemeral
// message (never an edit of the original), with unfurling off.
func responseURLReply(m handlers.Message) reply {
	no := false
	return reply{
		ResponseType:    "ephemeral",
		ReplaceOriginal: &no,
		Text:            fallbackText(m),
		Blocks:          renderBlocks(m),
		UnfurlLinks:     &no,
		UnfurlMedia:     &no,
	}
}
