package handlers

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/mdebot/mdebot/mde"
)

// A getfile request runs the collect lifecycle with a live response session
// in place of a collection: received → the device resolved and confirmed →
// approval (approval.required_for) → approved: a runliveresponse slot
// (mde.live_response_limit, shared by replicas), GetFile as the requester →
// waiting for the LiveResponse action and its command → ready → the fetch
// job asks GetLiveResponseResultDownloadLink(index=0) as the requester and
// stores and delivers the .gz like a package.

// startLiveResponse starts r's GetFile session once the live response budget
// allows: queued, it tells the place and snoozes; a session the request
// itself opened before (a retry after a lost answer) is attached to. done
// reports that the step ended here (snoozing, or the request finished).
func (s *Service) startLiveResponse(ctx context.Context, r *Request) (next Next, done bool, err error) {
	slot, err := s.opt.LiveLimiter.Take(ctx, r.ID, r.User)
	if err != nil {
		return Next{}, true, err
	}
	if !slot.Granted {
		s.liveQueued(ctx, r, slot)
		// Ask again before the limiter forgets the place (2 minutes), sooner when due.
		return Next{After: min(max(slot.Wait, time.Second), 20*time.Second)}, true, nil
	}
	ts := s.tokens(r.Team, r.User)
	a, err := s.opt.Defender.RunLiveResponseGetFile(ctx, ts, r.MachineID, r.Path, s.liveComment(r))
	event := "liveresponse.started"
	var me *mde.Error
	if errors.As(err, &me) && me.Kind == mde.KindSessionOpen {
		if own, lerr := s.ownSession(ctx, ts, r); lerr == nil && own != nil {
			a, err, event = own, nil, "liveresponse.attached"
		}
	}
	if errors.As(err, &me) && me.Kind == mde.KindSessionOpen {
		// Someone else's session: Defender allows one per device.
		s.auditReq(ctx, r, r.User, "liveresponse.refused", "session_open", me.Error())
		s.end(ctx, r, StateFailed, defenderText(me), "")
		return Next{}, true, nil
	}
	if err != nil {
		return s.stepFailed(ctx, r, err), true, nil
	}
	if err := s.update(ctx, r, func(x *Request) {
		x.ActionID, x.LastStatus, x.QueuePosition, x.Detail = a.ID, a.Status, 0, ""
		x.ActionCreated, x.ActionUpdated = a.CreationDateTimeUtc, a.LastUpdateDateTimeUtc
		// mde.wait_timeout is for Defender's answer, from the session's start.
		x.WaitDeadline = s.now().Add(s.opt.WaitTimeout)
	}); err != nil {
		return Next{}, true, err
	}
	s.auditReq(ctx, r, r.User, event, "ok", "GetFile "+r.Path)
	return Next{}, false, nil
}

// liveComment is the comment Defender records on the session: who asked,
// where, the request (so a retry finds its own session), and their comment.
func (s *Service) liveComment(r *Request) string {
	c := fmt.Sprintf("mdebot: file requested in Slack by %s in #%s (%s), request %s", r.User, r.ChannelName, r.Channel, r.ID)
	if r.Comment != "" {
		c += ": " + r.Comment
	}
	return c
}

// ownSession finds an open live response session on r's device that r
// itself started (its comment names the request), or nil.
func (s *Service) ownSession(ctx context.Context, ts mde.TokenSource, r *Request) (*mde.MachineAction, error) {
	list, err := s.opt.Defender.ListMachineActions(ctx, ts, mde.ActiveLiveResponseFilter(r.MachineID))
	if err != nil {
		return nil, err
	}
	for i := range list {
		if strings.Contains(list[i].RequestorComment, "request "+r.ID) {
			return &list[i], nil
		}
	}
	return nil, nil
}

// liveQueued records and shows r's place in the runliveresponse queue; the
// requester of a request on its own is told privately the first time.
func (s *Service) liveQueued(ctx context.Context, r *Request, slot mde.Slot) {
	detail := fmt.Sprintf("queued (position %d, about %d s)", slot.Position, int(math.Ceil(slot.Wait.Seconds())))
	first, moved := r.QueuePosition == 0, r.QueuePosition != slot.Position
	// Time in the queue is not time waiting for Defender: the wait's deadline moves on.
	err := s.update(ctx, r, func(x *Request) {
		x.QueuePosition, x.Detail, x.WaitDeadline = slot.Position, detail, s.now().Add(s.opt.WaitTimeout)
	})
	if err != nil {
		s.logger(r.ID).WarnContext(ctx, "recording the live response queue position failed", "err", err)
		return
	}
	if moved {
		s.updateCard(ctx, r)
	}
	if first && r.BatchID == "" {
		s.reply(ctx, recipient(r), r.ID, Message{
			Header: T("Your file request is " + detail),
			Text:   Tf("Defender lets this app start at most %d live response sessions a minute; requests are served in turn. You will be told when the file is delivered.", s.opt.SessionsPerMinute),
			Fields: s.requestFields(r),
		})
	}
}

// commandOutcome reads the GetFile command of a succeeded LiveResponse
// action: done when it completed (or Defender lists no commands), failed
// with Defender's words when it did not.
func commandOutcome(a *mde.MachineAction) (done bool, failure string) {
	if len(a.Commands) == 0 {
		return true, ""
	}
	c := a.Commands[0]
	switch c.CommandStatus {
	case mde.CommandCompleted:
		return true, ""
	case mde.CommandCreated, mde.CommandInProgress, "":
		return false, ""
	}
	t := fmt.Sprintf("The GetFile command ended %s in Defender.", c.CommandStatus)
	if len(c.Errors) > 0 {
		t += " Defender says: " + strings.Join(c.Errors, "; ")
	}
	return false, t
}

// getFilePath is the file of a LiveResponse action's GetFile command, and
// that command's status.
func getFilePath(a *mde.MachineAction) (path, status string, ok bool) {
	for _, c := range a.Commands {
		if c.Command.Type != mde.CommandGetFile {
			continue
		}
		for _, p := range c.Command.Params {
			if p.Key == "Path" && mde.ValidateLiveResponsePath(p.Value) == nil {
				return p.Value, c.CommandStatus, true
			}
		}
	}
	return "", "", false
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// maxFileName bounds a delivered file's name (the evidence store keeps 100 characters).
const maxFileName = 100

// liveFileName is what a GetFile result is called where it is delivered:
// <host>-<file name>.gz, reduced to letters, digits, dots, hyphens and
// underscores. The bot never decompresses it.
func liveFileName(r *Request) string {
	host := r.MachineName
	if host == "" {
		host = r.MachineID
	}
	base := r.Path
	if i := strings.LastIndexAny(base, `\/`); i >= 0 {
		base = base[i+1:]
	}
	clean := func(s string) string { return strings.Trim(unsafeName.ReplaceAllString(s, "_"), "._") }
	host, base = clean(host), clean(base)
	if base == "" {
		base = "file"
	}
	name := base
	if host != "" {
		name = host + "-" + base
	}
	if room := maxFileName - len(".gz"); len(name) > room {
		name = name[:room]
	}
	return name + ".gz"
}
