package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/mdebot/mdebot/handlers"
)

func sampleHome(items int) handlers.Home {
	var approvals []handlers.HomeItem
	for i := range items {
		approvals = append(approvals, handlers.HomeItem{
			Text:    handlers.Tf("%s asks for a package of <!channel> host-%d", handlers.User("U2"), i),
			Buttons: []handlers.Button{{Label: "Approve", ActionID: handlers.ActionApprove, Value: fmt.Sprint("req-", i)}, {Label: "Deny", ActionID: handlers.ActionDeny, Value: fmt.Sprint("req-", i)}},
		})
	}
	return handlers.Home{Sections: []handlers.HomeSection{
		{Title: "Your Microsoft account", Items: []handlers.HomeItem{{Text: handlers.T("Linked to ", handlers.Code("alice@contoso.com")),
			Buttons: []handlers.Button{{Label: "Sign out", ActionID: handlers.ActionSignOut, Value: "home"}}}}},
		{Title: strings.Repeat("Long title ", 20), Text: handlers.T("Nothing yet.")},
		{Title: "Waiting for your approval", Items: approvals},
	}}
}

// The Home tab's blocks: a header per section, one section per item with
// its single button beside it or an actions block for several, untrusted
// text escaped, Slack's text limits kept.
func TestRenderHome(t *testing.T) {
	blocks := renderHome(sampleHome(1))
	var types []string
	for _, b := range blocks {
		types = append(types, string(b.BlockType()))
	}
	want := "header section divider header section divider header section actions"
	if got := strings.Join(types, " "); got != want {
		t.Fatalf("blocks %s, want %s", got, want)
	}
	acc := blocks[1].(*slack.SectionBlock)
	if acc.Accessory == nil || acc.Accessory.ButtonElement == nil || acc.Accessory.ButtonElement.ActionID != handlers.ActionSignOut {
		t.Errorf("the account's button is not beside it: %+v", acc.Accessory)
	}
	if h := blocks[3].(*slack.HeaderBlock); len([]rune(h.Text.Text)) > maxHeaderText {
		t.Errorf("header of %d characters", len([]rune(h.Text.Text)))
	}
	item := blocks[7].(*slack.SectionBlock).Text.Text
	if !strings.Contains(item, "<@U2>") || strings.Contains(item, "<!channel>") || !strings.Contains(item, "&lt;!channel&gt;") {
		t.Errorf("item text %q: want the mention built and the untrusted text escaped", item)
	}
	if ab := blocks[8].(*slack.ActionBlock); len(ab.Elements.ElementSet) != 2 {
		t.Errorf("actions %+v", ab.Elements.ElementSet)
	}
}

// However many items, the view stays within Slack's 100 blocks (checked
// by the fake, which refuses more, as Slack does) and says what was left out.
func TestRenderHomeWithinLimits(t *testing.T) {
	fake, s := newMessengerEnv(t)
	for _, n := range []int{0, 10, 48, 49, 200} {
		t.Run(fmt.Sprint(n, " items"), func(t *testing.T) {
			blocks := renderHome(sampleHome(n))
			if len(blocks) > MaxHomeBlocks {
				t.Fatalf("%d blocks", len(blocks))
			}
			shown := 0
			for _, b := range blocks {
				if a, ok := b.(*slack.ActionBlock); ok && len(a.Elements.ElementSet) == 2 {
					shown++
				}
			}
			last, _ := json.Marshal(blocks[len(blocks)-1])
			if left := n - shown; left > 0 != strings.Contains(string(last), fmt.Sprintf("%d more item", left)) {
				t.Errorf("%d of %d items shown; last block %s", shown, n, last)
			}
			if err := s.ShowHome(context.Background(), "U1", sampleHome(n)); err != nil {
				t.Fatalf("views.publish: %v", err)
			}
			hv, _ := fake.HomeViewOf("U1")
			if !strings.Contains(string(hv.Blocks), "Your Microsoft account") {
				t.Errorf("published %s", hv.Blocks)
			}
		})
	}
}
