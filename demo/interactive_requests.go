package demo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mdebot/mdebot/handlers"
)

// working are the states in which the bot works on a request by itself;
// in the others it waits for a person or is done.
var working = []handlers.State{handlers.StateApproved, handlers.StateWaiting, handlers.StateReady, handlers.StateFetching}

// busy lists the requests the bot is still working on: in a working state,
// or finished but not told yet.
func (s *session) busy(ctx context.Context) ([]*handlers.Request, error) {
	rs, err := s.db.ListRequests(ctx, working...)
	if err != nil {
		return nil, err
	}
	untold, err := s.db.ListUntold(ctx)
	if err != nil {
		return nil, err
	}
	return append(rs, untold...), nil
}

// wait is `wait [seconds]`: the bot's messages print as they come, until it
// has nothing left to do by itself and Slack is quiet, or time is up.
func (s *session) wait(ctx context.Context, args []string) error {
	limit := defaultWait
	switch len(args) {
	case 0:
	case 1:
		secs, err := strconv.ParseFloat(args[0], 64)
		if err != nil || secs <= 0 || secs > maxWait.Seconds() {
			return fmt.Errorf("usage: wait [seconds], from 1 to %d", int(maxWait.Seconds()))
		}
		limit = time.Duration(secs * float64(time.Second))
	default:
		return errors.New("usage: wait [seconds]")
	}
	deadline := time.Now().Add(limit)
	for {
		s.quiet(ctx, settleGap, time.Until(deadline))
		if ctx.Err() != nil {
			return nil // interrupted: the session ends
		}
		rs, err := s.busy(ctx)
		if err != nil {
			return fmt.Errorf("reading the bot's requests: %w", err)
		}
		if len(rs) == 0 {
			s.t.Say("-- the bot has nothing left to do by itself")
			return nil
		}
		if !time.Now().Before(deadline) {
			var what []string
			for _, r := range rs {
				what = append(what, requestWords(r))
			}
			s.t.Say("-- after %s the bot still works on: %s", limit.Round(time.Second), strings.Join(what, "; "))
			return nil
		}
	}
}

// requests is `requests`: every request the bot holds, oldest first.
func (s *session) requests(ctx context.Context) error {
	rs, err := s.db.ListRequests(ctx)
	if err != nil {
		return fmt.Errorf("reading the bot's requests: %w", err)
	}
	if len(rs) == 0 {
		s.t.Say("The bot holds no requests yet.")
		return nil
	}
	lines := []string{fmt.Sprintf("The bot's requests (%d):", len(rs))}
	for _, r := range rs {
		lines = append(lines, "  "+requestWords(r))
	}
	s.t.Say("%s", strings.Join(lines, "\n"))
	return nil
}

func requestWords(r *handlers.Request) string {
	what := string(r.Kind)
	switch {
	case r.ActionID != "":
		what += " " + r.ActionID
	case r.MachineName != "":
		what += " " + r.MachineName
	}
	words := fmt.Sprintf("%s %s by %s in #%s: %s", r.ID, what, who(r.User), ChannelName(r.Channel), r.State)
	if r.LastStatus != "" && !r.State.Terminal() {
		words += " (Defender: " + r.LastStatus + ")"
	}
	return words
}
