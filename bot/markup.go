package bot

import (
	"regexp"
	"strings"

	"github.com/mdebot/mdebot/handlers"
)

// Slack mrkdwn is built here and only here, from typed parts: every plain
// part is escaped (&, <, >), so text from users or Defender can neither
// mention anyone nor fake a link; mentions and links are built from IDs and
// URLs that are checked first.

var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// escape makes s show as itself in mrkdwn.
func escape(s string) string { return escaper.Replace(s) }

var (
	userID    = regexp.MustCompile(`^[UW][A-Z0-9]+$`)
	groupID   = regexp.MustCompile(`^S[A-Z0-9]+$`)
	channelID = regexp.MustCompile(`^[CGD][A-Z0-9]+$`)
)

// urlSafe percent-escapes what would end Slack's <url|label> early and show
// part of a URL (a credential, for package links) as text.
var urlSafe = strings.NewReplacer("|", "%7C", "<", "%3C", ">", "%3E", " ", "%20", "\n", "%0A", "\r", "%0D")

// mrkdwnOf renders t as Slack mrkdwn.
func mrkdwnOf(t handlers.Text) string {
	var b strings.Builder
	for _, p := range t {
		b.WriteString(mrkdwnPart(p))
	}
	return b.String()
}

func mrkdwnPart(p handlers.Part) string {
	switch p.Kind {
	case handlers.PartCode:
		if p.Text == "" {
			return ""
		}
		// A backtick or a line break would end the code span.
		inner := strings.NewReplacer("`", "'", "\n", " ", "\r", " ").Replace(p.Text)
		return "`" + escape(inner) + "`"
	case handlers.PartUser:
		if userID.MatchString(p.Text) {
			return "<@" + p.Text + ">"
		}
	case handlers.PartGroup:
		if groupID.MatchString(p.Text) {
			return "<!subteam^" + p.Text + ">"
		}
	case handlers.PartChannel:
		if channelID.MatchString(p.Text) {
			return "<#" + p.Text + ">"
		}
	case handlers.PartLink:
		if strings.HasPrefix(p.URL, "https://") || strings.HasPrefix(p.URL, "http://") {
			label := p.Text
			if label == "" {
				label = p.URL
			}
			return "<" + urlSafe.Replace(p.URL) + "|" + escape(label) + ">"
		}
		return escape(p.Text)
	}
	// Plain words, and a mention whose ID is not one: shown as words.
	return escape(handlers.Text{p}.Plain())
}

// plainOf renders t as readable text without markup (the demo transcript).
func plainOf(t handlers.Text) string {
	var b strings.Builder
	for _, p := range t {
		if p.Kind == handlers.PartLink && p.Text != "" && p.URL != "" {
			b.WriteString(p.Text + " <" + p.URL + ">")
			continue
		}
		b.WriteString(handlers.Text{p}.Plain())
	}
	return b.String()
}
