package bot

import (
	"context"
	"strconv"
	"strings"

	"github.com/slack-go/slack"

	"github.com/mdebot/mdebot/handlers"
)

// maxHeaderText is Slack's limit on a header block's text.
const maxHeaderText = 150

var _ handlers.HomePublisher = (*Slack)(nil)

// ShowHome renders h and publishes it as user's Home tab (views.publish).
func (s *Slack) ShowHome(ctx context.Context, user string, h handlers.Home) error {
	return s.PublishHome(ctx, user, renderHome(h))
}

// renderHome turns a neutral Home tab into Block Kit: per section a header,
// its text, and per item a section (its one button as the accessory) or a
// section and an actions block (several buttons); dividers between
// sections. It never exceeds MaxHomeBlocks: items that do not fit are left
// out whole, and a last line says so.
func renderHome(h handlers.Home) []slack.Block {
	var blocks []slack.Block
	left := 0
	room := func(n int) bool { return len(blocks)+n <= MaxHomeBlocks-1 } // one kept for the note
	for i, sec := range h.Sections {
		head := 1
		if i > 0 {
			head++
		}
		if t := strings.TrimSpace(mrkdwnOf(sec.Text)); t != "" {
			head++
		}
		if !room(head) {
			left += len(sec.Items)
			continue
		}
		if i > 0 {
			blocks = append(blocks, slack.NewDividerBlock())
		}
		blocks = append(blocks, slack.NewHeaderBlock(plain(clamp(orDefault(sec.Title, "-"), maxHeaderText))))
		if t := strings.TrimSpace(mrkdwnOf(sec.Text)); t != "" {
			blocks = append(blocks, slack.NewSectionBlock(mrkdwn(clamp(t, maxSectionText)), nil, nil))
		}
		for _, it := range sec.Items {
			item := homeItem(it)
			if !room(len(item)) {
				left++
				continue
			}
			blocks = append(blocks, item...)
		}
	}
	if left > 0 {
		blocks = append(blocks, slack.NewContextBlock("", mrkdwn(escape(plural(left, "more item does", "more items do")+" not fit here."))))
	}
	return blocks
}

// homeItem renders one item: a section, with its button beside the text
// when it has one, or followed by an actions block when it has several.
func homeItem(it handlers.HomeItem) []slack.Block {
	text := strings.TrimSpace(mrkdwnOf(it.Text))
	if text == "" {
		text = "-"
	}
	sec := slack.NewSectionBlock(mrkdwn(clamp(text, maxSectionText)), nil, nil)
	switch n := len(it.Buttons); {
	case n == 1:
		sec.Accessory = slack.NewAccessory(renderButton(it.Buttons[0]))
		return []slack.Block{sec}
	case n > 1:
		buttons := it.Buttons[:min(n, maxButtons)]
		elems := make([]slack.BlockElement, 0, len(buttons))
		for _, b := range buttons {
			elems = append(elems, renderButton(b))
		}
		return []slack.Block{sec, slack.NewActionBlock("", elems...)}
	}
	return []slack.Block{sec}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
