package handlers

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/mdebot/mdebot/identity/account"
)

// HomePublisher shows a user their App Home tab (*bot.Slack renders it and
// calls views.publish).
type HomePublisher interface {
	ShowHome(ctx context.Context, user string, h Home) error
}

// Home is a user's App Home tab, platform-neutral: sections of items, each
// item a short text with its buttons. The transport renders it within
// Slack's limits (100 blocks); the use cases keep it well under them.
type Home struct {
	Sections []HomeSection
}

// HomeSection is a titled part of the Home tab.
type HomeSection struct {
	Title string
	// Text is shown under the title: what the section is, or why it is empty.
	Text  Text
	Items []HomeItem
}

// HomeItem is one line of a section (an account, a request, an approval).
type HomeItem struct {
	Text    Text
	Buttons []Button
}

// Home tab sizes: the last requests shown, and the approvals shown (more are
// counted). With one block per request and two per approval the view stays
// under 60 blocks.
const (
	homeRequests     = 10
	homeApprovals    = 20
	homeApprovalScan = 200 // awaiting approvals read per view (one indexed query)
)

// homeView builds user's Home tab as it stands now. A part that cannot be
// read says so; the others are still shown.
func (s *Service) homeView(ctx context.Context, team, user string) Home {
	return Home{Sections: []HomeSection{
		s.homeAccount(ctx, team, user),
		s.homeRequests(ctx, team, user),
		s.homeApprovals(ctx, team, user),
	}}
}

func (s *Service) homeAccount(ctx context.Context, team, user string) HomeSection {
	sec := HomeSection{Title: "Your Microsoft account"}
	l, err := s.opt.Identity.Linked(ctx, team, user)
	switch {
	case err == nil:
		sec.Items = []HomeItem{{
			Text: Tf("Linked to %s (tenant %s) since %s: your requests call Defender as this account.",
				Code(l.Username), Code(l.TenantID), l.LinkedAt.UTC().Format("2006-01-02 15:04 UTC")),
			Buttons: []Button{{Label: "Sign out", ActionID: ActionSignOut, Value: "home", Style: "danger", Confirm: &Confirm{
				Title: "Sign out?", Text: "The bot forgets your Microsoft tokens; requests need a new sign-in.", Confirm: "Sign out", Deny: "Stay linked"}}},
		}}
	case errors.Is(err, account.ErrNotLinked):
		sec.Items = []HomeItem{{
			Text:    T("Not linked. The bot calls Defender as you, never as itself: link your Microsoft account first."),
			Buttons: []Button{{Label: "Sign in", ActionID: ActionSignIn, Value: "home", Style: "primary"}},
		}}
	default:
		sec.Text = s.homeUnreadable(ctx, err, "account")
	}
	return sec
}

func (s *Service) homeRequests(ctx context.Context, team, user string) HomeSection {
	sec := HomeSection{Title: "Your last requests"}
	rs, err := s.opt.Store.RecentRequests(ctx, team, user, homeRequests)
	if err != nil {
		sec.Text = s.homeUnreadable(ctx, err, "requests")
		return sec
	}
	if len(rs) == 0 {
		sec.Text = Tf("You have not asked for a package yet: type %s in an incident channel.", Code(s.opt.Command+" help"))
		return sec
	}
	now := s.now()
	for _, r := range rs {
		it := HomeItem{Text: Lines(
			Tf("%s · %s %s · %s ago", Code(string(r.State)), r.Kind, homeDevice(r), roundDuration(now.Sub(r.CreatedAt))),
			Tf("Request %s in %s", Code(r.ID), Channel(r.Channel)),
		)}
		if r.State == StateDelivered && s.keeps() {
			it.Buttons = []Button{downloadButton(r.ID)}
		}
		sec.Items = append(sec.Items, it)
	}
	return sec
}

func (s *Service) homeApprovals(ctx context.Context, team, user string) HomeSection {
	sec := HomeSection{Title: "Waiting for your approval"}
	rs, more, err := s.waitingFor(ctx, team, user)
	if err != nil {
		sec.Text = s.homeUnreadable(ctx, err, "approvals")
		return sec
	}
	if len(rs) == 0 {
		sec.Text = T("Nothing waits for your approval.")
		return sec
	}
	now := s.now()
	for _, r := range rs {
		sec.Items = append(sec.Items, HomeItem{
			Text: Lines(
				Tf("%s asks for a package (%s %s)", User(r.User), r.Kind, homeDevice(r)),
				Tf("In %s · expires in %s · request %s", Channel(r.Channel), roundDuration(r.ExpiresAt.Sub(now)), Code(r.ID)),
				commentLine(r.Comment),
			),
			Buttons: approvalButtons(r.ID),
		})
	}
	if more > 0 {
		sec.Text = Tf("%d more wait in their channels.", more)
	}
	return sec
}

// waitingFor lists the requests of team awaiting user's decision, soonest
// to expire first: not user's own, still open, user among the approvers
// (directly or through a user group) and not decided by user yet. At most
// homeApprovals are returned; more counts the rest.
func (s *Service) waitingFor(ctx context.Context, team, user string) (out []*Request, more int, err error) {
	rs, err := s.opt.Store.AwaitingApproval(ctx, team, homeApprovalScan)
	if err != nil {
		return nil, 0, err
	}
	now := s.now()
	for _, r := range rs {
		if r.User == user || !now.Before(r.ExpiresAt) {
			continue
		}
		ok, err := s.member(ctx, user, r.Approvers)
		if err != nil {
			return nil, 0, err
		}
		if !ok {
			continue
		}
		if len(out) == homeApprovals {
			more++
			continue
		}
		ds, err := s.opt.Store.Decisions(ctx, r.ID)
		if err != nil {
			return nil, 0, err
		}
		if slices.ContainsFunc(ds, func(d Decision) bool { return d.Approver == user }) {
			continue
		}
		out = append(out, r)
	}
	return out, more, nil
}

func homeDevice(r *Request) Text {
	switch {
	case r.MachineName != "":
		return T(r.MachineName)
	case r.Kind == KindGet:
		return Tf("action %s", Code(r.Target))
	}
	return T(Code(r.Target))
}

func (s *Service) homeUnreadable(ctx context.Context, err error, part string) Text {
	return T("This part could not be read right now: ", s.explain(ctx, err, "step", "home", "part", part))
}

// publishHome builds and shows user's Home tab (the refresher calls it).
func (s *Service) publishHome(ctx context.Context, team, user string) error {
	return s.opt.Home.ShowHome(ctx, user, s.homeView(ctx, team, user))
}

// homeMoved refreshes the Home tabs that show r after it moved from from:
// its requester's, and its approvers' when it entered or left the approval.
func (s *Service) homeMoved(from State, r *Request) {
	if s.home == nil {
		return
	}
	s.home.touch(r.Team, r.User)
	if from == StateAwaitingApproval || r.State == StateAwaitingApproval {
		s.home.touchAll(r.Team, r.Approvers)
	}
}

// homeChanged refreshes one user's Home tab.
func (s *Service) homeChanged(team, user string) {
	if s.home != nil && user != "" {
		s.home.touch(team, user)
	}
}

// homeAccountClick handles Sign in and Sign out, from App Home: the answer
// goes to the clicker's direct messages (a Home tab has no channel), and the
// tab shows the change.
func (s *Service) homeAccountClick(ctx context.Context, c Click) {
	cmd := Command{RequestID: c.RequestID, Team: c.Team, User: c.User, Command: s.opt.Command, ReceivedAt: s.now()}
	rec := Recipient{Team: c.Team, User: c.User, ResponseURL: c.ResponseURL}
	if c.ActionID == ActionSignIn {
		s.login(ctx, cmd, rec)
		return
	}
	s.logout(ctx, cmd, rec)
}

// homeTouchTimeout bounds one views.publish (with its reads) in the background.
const homeTouchTimeout = 30 * time.Second
