package handlers

import (
	"context"
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
		{Label: "Type", Value: T(a.Type)},
		{Label: "Status", Value: T(Code(a.Status))},
		{Label: "Machine", Value: machineLabel(a.ComputerDNSName, a.MachineID)},
		{Label: "Requestor", Value: T(a.Requestor)},
		{Label: "Created", Value: T(utcTime(a.CreationDateTimeUtc))},
		{Label: "Updated", Value: T(utcTime(a.LastUpdateDateTimeUtc))},
	}
	if a.RequestorComment != "" {
		f = append(f, Field{Label: "Comment", Value: T(a.RequestorComment)})
	}
	if path, status, ok := getFilePath(a); ok {
		f = append(f, Field{Label: "File", Value: T(Code(path))}, Field{Label: "GetFile command", Value: T(Code(status))})
	}
	var next Text
	switch {
	case a.Type == mde.TypeLiveResponse && (!a.Terminal() || a.Status == mde.StatusSucceeded):
		next = Tf("%s delivers its file (a .gz).", Code(s.opt.Command+" get "+a.ID))
	case a.Type == mde.TypeCollectInvestigationPackage && !a.Terminal() || a.Status == mde.StatusSucceeded:
		next = Tf("%s delivers its package.", Code(s.opt.Command+" "+a.ID))
	}
	s.opt.Metrics.Command(VerbStatus, "ok")
	s.reply(ctx, rec, c.RequestID, Message{Header: Tf("Action %s is %s", Code(a.ID), Code(a.Status)), Fields: f, Next: next})
}

func utcTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}
