package handlers

import (
	"context"
	"fmt"
	"time"

	"github.com/mdebot/mdebot/mde"
)

// status shows an action's status.
func (s *Service) status(ctx context.Context, c Command, rec Recipient, id string) {
	if _, _, err := s.authorize(ctx, c.Channel, c.ChannelName, c.User); err != nil {
		s.fail(ctx, c, rec, VerbStatus, err)
		return
	}
	a, err := patiently(ctx, func(ctx context.Context) (*mde.MachineAction, error) {
		return s.opt.Defender.GetMachineAction(ctx, s.tokens(c.Team, c.User), id)
	})
	if err != nil {
		s.fail(ctx, c, rec, VerbStatus, err)
		return
	}
	f := []Field{
		{Label: "Type", Value: a.Type},
		{Label: "Status", Value: "`" + a.Status + "`"},
		{Label: "Machine", Value: machineLabel(a.ComputerDNSName, a.MachineID)},
		{Label: "Requestor", Value: a.Requestor},
		{Label: "Created", Value: utcTime(a.CreationDateTimeUtc)},
		{Label: "Updated", Value: utcTime(a.LastUpdateDateTimeUtc)},
	}
	if a.RequestorComment != "" {
		f = append(f, Field{Label: "Comment", Value: a.RequestorComment})
	}
	next := ""
	if a.Type == mde.TypeCollectInvestigationPackage && !a.Terminal() || a.Status == mde.StatusSucceeded {
		next = fmt.Sprintf("`%s %s` delivers its package.", s.opt.Command, a.ID)
	}
	s.opt.Metrics.Command(VerbStatus, "ok")
	s.reply(ctx, rec, c.RequestID, Message{Header: fmt.Sprintf("Action `%s` is `%s`", a.ID, a.Status), Fields: f, Next: next})
}

func utcTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}
