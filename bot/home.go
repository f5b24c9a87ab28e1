package bot

import (
	"context"
	"errors"
	"fmt"

	"github.com/slack-go/slack"
)

// MaxHomeBlocks is Slack's limit on the blocks of a Home tab view.
const MaxHomeBlocks = 100

// PublishHome replaces user's Home tab with blocks (views.publish). More than
// MaxHomeBlocks blocks is refused here, with no call: Slack would refuse it.
func (s *Slack) PublishHome(ctx context.Context, user string, blocks []slack.Block) error {
	switch {
	case user == "":
		return errors.New("publish home: no user ID")
	case len(blocks) > MaxHomeBlocks:
		return fmt.Errorf("publish home: %d blocks, Slack allows at most %d in a Home tab", len(blocks), MaxHomeBlocks)
	}
	if blocks == nil {
		blocks = []slack.Block{} // Slack wants an array, even empty
	}
	req := slack.PublishViewContextRequest{
		UserID: user,
		View:   slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: blocks}},
	}
	return s.call(ctx, "views.publish", func(ctx context.Context) error {
		_, err := s.client.PublishViewContext(ctx, req)
		return err
	})
}
