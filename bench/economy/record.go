package main

import (
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mdebot/mdebot/bot/slackfake"
)

// stamped is a Slack event with when the fake saw it.
type stamped struct {
	at time.Time
	ev slackfake.Event
}

// recorder keeps every Slack event with its time (the fake's OnEvent hook).
type recorder struct {
	mu  sync.Mutex
	evs []stamped
}

func (r *recorder) onSlack(ev slackfake.Event) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, stamped{now, ev})
}

func (r *recorder) since(t time.Time) []stamped {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []stamped
	for _, s := range r.evs {
		if !s.at.Before(t) {
			out = append(out, s)
		}
	}
	return out
}

// seen is what one requester of one action was told, and when.
type seen struct {
	delivered map[string]time.Time // request id -> first delivery message
	queuedAt  time.Time            // first "queued (position N, about M s)"
	position  int
	eta       time.Duration
}

var (
	queuedRE  = regexp.MustCompile(`queued \(position (\d+), about (\d+) s\)`)
	requestRE = regexp.MustCompile("Request `?([0-9A-Za-z_-]+)")
)

// toUser is the text of a message user can read about the request (private
// to them, or the request's card in the channel), "" otherwise.
func toUser(ev slackfake.Event, user string) string {
	switch {
	case ev.Kind == slackfake.EventEphemeral && ev.Message.User == user,
		ev.Kind == slackfake.EventMessage && ev.Message.DMUser == user:
		return ev.Message.Text
	case ev.Kind == slackfake.EventResponse && strings.HasPrefix(ev.Response.ID, user):
		return ev.Response.Text
	case (ev.Kind == slackfake.EventUpdate || ev.Kind == slackfake.EventMessage) && strings.Contains(ev.Message.Text, "<@"+user+">"):
		return ev.Message.Text
	}
	return ""
}

// tally reads what user was told about action in evs.
func tally(evs []stamped, user, action string) seen {
	s := seen{delivered: map[string]time.Time{}}
	for _, x := range evs {
		text := toUser(x.ev, user)
		if text == "" || !strings.Contains(text, action) {
			continue
		}
		if m := queuedRE.FindStringSubmatch(text); m != nil && s.queuedAt.IsZero() {
			s.queuedAt = x.at
			s.position, _ = strconv.Atoi(m[1])
			secs, _ := strconv.Atoi(m[2])
			s.eta = time.Duration(secs) * time.Second
		}
		isPrivate := x.ev.Kind == slackfake.EventEphemeral || x.ev.Kind == slackfake.EventResponse || x.ev.Message.DMUser == user
		if isPrivate && strings.Contains(text, "Investigation package ready") {
			// One request may be told twice (ephemeral and DM): count requests, not messages.
			if m := requestRE.FindStringSubmatch(text); m != nil {
				if _, dup := s.delivered[m[1]]; !dup {
					s.delivered[m[1]] = x.at
				}
			}
		}
	}
	return s
}
