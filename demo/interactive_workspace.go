package demo

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/mdebot/mdebot/config"
)

// roles are what the cast does (bob and dave are in the approvers' group).
var roles = map[string]string{
	Alice: "analyst",
	Bob:   "SOC lead, approver",
	Carol: "analyst, not an approver",
	Dave:  "SOC lead, approver",
}

// people is `people`: the cast, and whose Microsoft account is linked.
func (s *session) people(ctx context.Context) error {
	lines := []string{"People (* is you):"}
	for _, p := range people {
		l, err := s.db.LoadLink(ctx, s.e.Slack.TeamID(), p.ID)
		if err != nil {
			return fmt.Errorf("reading %s's link: %w", p.Name, err)
		}
		linked := "Microsoft account not linked (login as " + p.Name + ")"
		if l != nil {
			linked = "linked to " + l.Username
		}
		lines = append(lines, fmt.Sprintf("%s %-6s %s  %-18s %-25s %s", you(p.ID == s.user), p.Name, p.ID, p.Email, roles[p.ID], linked))
	}
	s.t.Say("%s", strings.Join(lines, "\n"))
	return nil
}

// channels is `channels`: each channel and the policy that applies in it.
func (s *session) channels() {
	ids := make([]string, 0, len(channels))
	for id := range channels {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int { return strings.Compare(channels[a], channels[b]) })
	lines := []string{"Channels (* is where you are):"}
	for _, id := range ids {
		lines = append(lines, fmt.Sprintf("%s #%-20s %s  %s", you(id == s.channel), channels[id], id, policyWords(s.e.Config.Policy.Channels, id)))
	}
	s.t.Say("%s", strings.Join(lines, "\n"))
}

func you(b bool) string {
	if b {
		return "  *"
	}
	return "   "
}

// policyWords says which rule applies to a channel, matched as the bot
// matches it: by ID, else the channel's name against a glob, first rule wins.
func policyWords(rules []config.ChannelPolicy, id string) string {
	for _, r := range rules {
		byName, _ := path.Match(r.Match, channels[id])
		if r.Match != id && !byName {
			continue
		}
		words := "delivery " + r.Delivery
		if r.Approval.Required {
			var who []string
			for _, a := range r.Approval.Approvers {
				who = append(who, mentionWords(a))
			}
			words += fmt.Sprintf(", %d approval(s) by %s needed", max(r.Approval.RequiredApprovals, 1), strings.Join(who, " "))
		} else {
			words += ", no approval"
		}
		if r.Match != id {
			words += " (rule " + r.Match + ")"
		}
		return words
	}
	return "not in the policy: requests are refused here"
}

func mentionWords(id string) string {
	if id == SOCLeads {
		return "@soc-leads"
	}
	return "@" + who(id)
}
