package e2e

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mdebot/mdebot/bot/slackfake"
	"github.com/mdebot/mdebot/demo"
	"github.com/mdebot/mdebot/mde"
	"github.com/mdebot/mdebot/mde/mdetest"
)

// One user's burst does not push a colleague back by its whole length: alice's
// sixth request while five are pending is refused (policy.max_pending_per_user,
// default 5), naming the limit; with Defender's 2 links a minute her five then
// take two calls and queue three, and carol's one is at position 2 at most.
func TestFairShareOfDefendersBudget(t *testing.T) {
	e, _ := start(t, demo.Options{})
	login(t, e, demo.Alice)
	login(t, e, demo.Carol)
	mark := e.Mark()
	// Five collections still running: five requests pending, none can end yet.
	var alices []string
	for i := range 5 {
		id := addAction(e, fmt.Sprintf("7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6f%02d", 10+i), mdetest.Step{Status: mde.StatusInProgress, Polls: 1 << 20})
		alices = append(alices, id)
		command(t, e, demo.Alice, demo.ChanPrivate, id)
	}
	waitEvent(t, e, mark, "alice's requests waiting", func() func(slackfake.Event) bool {
		waiting := map[string]bool{}
		return func(ev slackfake.Event) bool {
			for _, id := range alices {
				if (ev.Kind == slackfake.EventMessage || ev.Kind == slackfake.EventUpdate) && strings.Contains(textOf(ev), id) && strings.Contains(textOf(ev), "Waiting for Defender") {
					waiting[id] = true
				}
			}
			return len(waiting) == 5
		}
	}())
	command(t, e, demo.Alice, demo.ChanPrivate, addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6f20"))
	waitEvent(t, e, mark, "alice's sixth refused", privateTo(demo.Alice, "max_pending_per_user is 5"))

	// The five succeed at once: two calls now, three wait their turn.
	for _, id := range alices {
		e.MDE.SetStatus(id, mde.StatusSucceeded)
	}
	waitEvent(t, e, mark, "alice's requests queued", func() func(slackfake.Event) bool {
		queued := 0
		return func(ev slackfake.Event) bool {
			if privateTo(demo.Alice, "queued (position")(ev) {
				queued++
			}
			return queued >= 3
		}
	}())
	carolMark := e.Mark()
	command(t, e, demo.Carol, demo.ChanPrivate, addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6f21"))
	told := waitEventFor(t, e, carolMark, 60*time.Second, "carol's place in the queue", privateTo(demo.Carol, "queued (position"))
	m := regexp.MustCompile(`queued \(position (\d+)`).FindStringSubmatch(textOf(told))
	if m == nil {
		t.Fatalf("no position in %s", textOf(told))
	}
	if pos, _ := strconv.Atoi(m[1]); pos > 2 {
		t.Errorf("carol is at position %d behind alice's burst, want at most 2", pos)
	}
}

// A channel shared with another organisation, or a guest asking, is refused
// unless the channel's policy entry allows outsiders; Defender is not called.
func TestOutsidersRefused(t *testing.T) {
	e, _ := start(t, demo.Options{})
	login(t, e, demo.Alice)
	login(t, e, demo.Carol)
	if !e.Slack.ShareExternally(demo.ChanUpload, "T0PARTNER") || !e.Slack.SetGuest(demo.Carol, slackfake.MultiChannelGuest) {
		t.Fatal("the fake does not know the channel or the user")
	}
	id := addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6f30")
	mark := e.Mark()
	command(t, e, demo.Alice, demo.ChanUpload, id)
	waitEvent(t, e, mark, "the shared channel refused", privateTo(demo.Alice, "shared with another organisation", "allow_external"))
	command(t, e, demo.Carol, demo.ChanLink, id)
	waitEvent(t, e, mark, "the guest refused", privateTo(demo.Carol, "Guests", "allow_external"))
	for _, r := range e.MDE.Requests() {
		if strings.Contains(r.Path, "/machineactions/") {
			t.Errorf("Defender was called for a refused request: %s %s", r.Method, r.Path)
		}
	}
}

// With allow_external on the entry, the shared channel is served.
func TestOutsidersAllowedByPolicy(t *testing.T) {
	e, _ := start(t, demo.Options{Tune: func(c *configT) { c.Policy.Channels[0].AllowExternal = true }})
	login(t, e, demo.Alice)
	e.Slack.ShareExternally(demo.ChanUpload, "T0PARTNER")
	mark := e.Mark()
	command(t, e, demo.Alice, demo.ChanUpload, addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6f31"))
	deliveredOnce(t, e, mark, 60*time.Second)
}
