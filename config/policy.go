package config

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
)

var (
	channelIDRE   = regexp.MustCompile(`^[CG][A-Z0-9]+$`)
	channelGlobRE = regexp.MustCompile(`^[a-z0-9_*?\[\]\-]{1,80}$`) // Slack channel names: a-z, 0-9, -, _
)

func (c *Config) validatePolicy(k *checker) {
	p := c.Policy
	if len(p.Channels) == 0 {
		k.add("policy.channels", "must list at least one channel policy (a channel that matches none is refused)")
	}
	for i, ch := range p.Channels {
		key := fmt.Sprintf("policy.channels[%d]", i)
		if msg := checkChannelMatch(ch.Match); msg != "" {
			k.add(key+".match", "%s", msg)
		}
		oneOf(k, key+".delivery", ch.Delivery, deliveries)
		a := ch.Approval
		if a.Required && len(a.Approvers) == 0 {
			k.add(key+".approval.approvers", "must list approvers (user or user group IDs) when approval.required is true")
		}
		checkPrincipals(k, key+".approval.approvers", a.Approvers)
		if a.RequiredApprovals < 1 {
			k.add(key+".approval.required_approvals", "must be at least 1, got %d", a.RequiredApprovals)
		} else if a.Required && len(a.Approvers) > 0 && onlyUsers(a.Approvers) && a.RequiredApprovals > len(a.Approvers) {
			k.add(key+".approval.required_approvals", "is %d but only %d approvers are listed: no request could ever be approved", a.RequiredApprovals, len(a.Approvers))
		}
		if a.ExpiresAfter <= 0 {
			k.add(key+".approval.expires_after", "must be more than 0, got %s", a.ExpiresAfter)
		}
		for j, kind := range a.RequiredFor {
			if !slices.Contains(AllRequestKinds, kind) {
				k.add(key+".approval.required_for", "entry %d (%q) must be one of %s", j, kind, strings.Join(AllRequestKinds, ", "))
			}
		}
	}
	if p.MaxPendingPerUser < 1 {
		k.add("policy.max_pending_per_user", "must be at least 1, got %d", p.MaxPendingPerUser)
	}
	checkPrincipals(k, "policy.requesters", p.Requesters)
}

// checkChannelMatch accepts a channel ID (C…, G…) or a channel name glob.
func checkChannelMatch(m string) string {
	m = strings.TrimSpace(m)
	const want = "must be a channel ID (C…, G…) or a channel name glob such as inc-*"
	switch {
	case m == "":
		return "required: " + want[len("must be "):]
	case channelIDRE.MatchString(m):
		return ""
	case strings.HasPrefix(m, "#"):
		return want + ", without '#'"
	case !channelGlobRE.MatchString(m):
		return fmt.Sprintf("%s, got %q", want, m)
	}
	if _, err := path.Match(m, ""); err != nil {
		return fmt.Sprintf("is not a valid glob (%v), got %q", err, m)
	}
	return ""
}

func checkPrincipals(k *checker, key string, ids []string) {
	for i, id := range ids {
		if !principalRE.MatchString(id) {
			k.add(key, "entry %d (%q) is not a Slack user (U…, W…) or user group (S…) ID", i, id)
		}
	}
}

// onlyUsers reports whether ids names users only: a group may grow, so the
// number of possible approvers is known only without groups.
func onlyUsers(ids []string) bool {
	return !slices.ContainsFunc(ids, func(id string) bool { return strings.HasPrefix(id, "S") })
}
