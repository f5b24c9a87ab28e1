package demo

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"

	"github.com/mdebot/mdebot/bot/slackfake"
)

// Transcript prints the conversation as people would see it in Slack.
type Transcript struct {
	mu sync.Mutex
	w  io.Writer
	// Calls, when set, also prints every Web API call (the interactive demo's "verbose").
	Calls bool
	// homes are the users whose next Home tab is printed (ShowHome): the
	// bot refreshes Home tabs on every change, which would flood the text.
	homes map[string]bool
}

// ShowHome prints the next Home tab published for user.
func (t *Transcript) ShowHome(user string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.homes == nil {
		t.homes = map[string]bool{}
	}
	t.homes[user] = true
}

// homeWanted reports, once, whether user's Home tab is to be printed.
func (t *Transcript) homeWanted(user string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.homes[user] {
		return false
	}
	delete(t.homes, user)
	return true
}

// NewTranscript writes to w.
func NewTranscript(w io.Writer) *Transcript { return &Transcript{w: w} }

// Say prints a line of narration.
func (t *Transcript) Say(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(t.w, format+"\n", args...)
}

// Event prints one Slack event; hook it to slackfake's OnEvent.
func (t *Transcript) Event(ev slackfake.Event) {
	var line string
	switch ev.Kind {
	case slackfake.EventMessage:
		m := ev.Message
		line = fmt.Sprintf("%s mdebot:\n%s", place(m), renderBlocks(m.Text, m.Blocks))
	case slackfake.EventEphemeral:
		m := ev.Message
		line = fmt.Sprintf("%s mdebot → %s only:\n%s", place(m), who(m.User), renderBlocks(m.Text, m.Blocks))
	case slackfake.EventUpdate:
		m := ev.Message
		line = fmt.Sprintf("%s mdebot (message %s edited):\n%s", place(m), m.TS, renderBlocks(m.Text, m.Blocks))
	case slackfake.EventResponse:
		r := ev.Response
		line = fmt.Sprintf("[via response_url] mdebot → %s only:\n%s", who(strings.SplitN(r.ID, "-", 2)[0]), renderBlocks(r.Text, r.Blocks))
	case slackfake.EventFileShared:
		if u := ev.Upload; u != nil {
			line = fmt.Sprintf("[#%s ↳ thread %s] mdebot uploaded %s (%d bytes, SHA-256 %s)", ChannelName(u.Channel), u.ThreadTS, u.Filename, u.Received, u.SHA256)
		}
	case slackfake.EventHomeView:
		if h := ev.Home; h != nil && t.homeWanted(h.User) {
			line = fmt.Sprintf("[App Home of %s] mdebot published:\n%s", who(h.User), renderBlocks("", h.Blocks))
		}
	case slackfake.EventFunctionCompleted:
		if c := ev.Completion; c != nil && c.Success {
			line = fmt.Sprintf("[Workflow Builder] step %s completed with %v", c.ExecutionID, c.Outputs)
		} else if c != nil {
			line = fmt.Sprintf("[Workflow Builder] step %s ended with the error %q", c.ExecutionID, c.Error)
		}
	case slackfake.EventCall:
		if t.Calls && ev.Call != nil {
			line = fmt.Sprintf("  · Slack API %s", ev.Call.Method)
		}
	}
	if line != "" {
		t.Say("%s", line)
	}
}

func place(m *slackfake.Message) string {
	switch {
	case m.DMUser != "":
		return "[DM " + who(m.DMUser) + "]"
	case m.ThreadTS != "":
		return fmt.Sprintf("[#%s ↳ thread %s]", ChannelName(m.Channel), m.ThreadTS)
	}
	return "[#" + ChannelName(m.Channel) + "]"
}

func who(id string) string {
	if p, ok := PersonByID(id); ok {
		return p.Name
	}
	return id
}

var mention = regexp.MustCompile(`<@(U[A-Z0-9]+)>|<!subteam\^(S[A-Z0-9]+)>|<#(C[A-Z0-9]+)>|<([^|>]+)\|([^>]+)>`)

// unescape undoes mrkdwn's escapes of plain text.
var unescape = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")

// plainText turns Slack mrkdwn mentions and links into readable words.
func plainText(s string) string {
	return unescape.Replace(mention.ReplaceAllStringFunc(s, func(m string) string {
		g := mention.FindStringSubmatch(m)
		switch {
		case g[1] != "":
			return "@" + who(g[1])
		case g[2] != "":
			return "@soc-leads"
		case g[3] != "":
			return "#" + ChannelName(g[3])
		}
		return g[5] + " (" + shorten(g[4]) + ")"
	}))
}

// shorten keeps a link readable in the transcript; the credential part is elided.
func shorten(u string) string {
	if i := strings.Index(u, "?"); i >= 0 {
		return u[:i] + "?…"
	}
	return u
}

type block struct {
	Type      string            `json:"type"`
	Text      *textObj          `json:"text"`
	Fields    []textObj         `json:"fields"`
	Elements  []json.RawMessage `json:"elements"`
	Accessory json.RawMessage   `json:"accessory"`
}

type textObj struct {
	Text string `json:"text"`
}

// elementText reads a context element (a text object: "text" is a string)
// or a button (its "text" is a text object).
func elementText(raw json.RawMessage) string {
	var e struct {
		Text json.RawMessage `json:"text"`
	}
	if json.Unmarshal(raw, &e) != nil || len(e.Text) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(e.Text, &s) == nil {
		return s
	}
	var t textObj
	_ = json.Unmarshal(e.Text, &t)
	return t.Text
}

// renderBlocks prints Block Kit as indented text, buttons as [Label].
func renderBlocks(fallback string, raw json.RawMessage) string {
	var blocks []block
	if len(raw) == 0 || json.Unmarshal(raw, &blocks) != nil || len(blocks) == 0 {
		return indent(plainText(fallback))
	}
	var lines []string
	for _, b := range blocks {
		switch b.Type {
		case "header", "section":
			if b.Text != nil {
				lines = append(lines, plainText(b.Text.Text))
			}
			for _, f := range b.Fields {
				lines = append(lines, "  "+plainText(strings.ReplaceAll(f.Text, "\n", " ")))
			}
			if len(b.Accessory) > 0 && b.Text != nil {
				if label := elementText(b.Accessory); label != "" {
					lines[len(lines)-1] += "  [" + label + "]"
				}
			}
		case "divider":
			lines = append(lines, "────────")
		case "context":
			for _, e := range b.Elements {
				lines = append(lines, "  ("+plainText(elementText(e))+")")
			}
		case "actions":
			var bs []string
			for _, e := range b.Elements {
				bs = append(bs, "["+elementText(e)+"]")
			}
			lines = append(lines, strings.Join(bs, " "))
		}
	}
	return indent(strings.Join(lines, "\n"))
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n    ")
}
