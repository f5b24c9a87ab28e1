package e2e

import (
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdebot/mdebot/bot/slackfake"
	"github.com/mdebot/mdebot/demo"
	"github.com/mdebot/mdebot/handlers"
	"github.com/mdebot/mdebot/store/storetest"
)

// The same flows on PostgreSQL, in process.
func TestPostgresEndToEnd(t *testing.T) {
	e, _ := start(t, demo.Options{Driver: "postgres", DSN: storetest.FreshPostgres(t)})
	login(t, e, demo.Alice)
	id := addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6f01")
	msg, req := askForApproval(t, e, id)
	mark := e.Mark()
	click(t, e, demo.Bob, msg, handlers.ActionApprove, req)
	waitEvent(t, e, mark, "the upload", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventFileShared && ev.Upload.ThreadTS == msg.Message.TS
	})
}

// Two real `mdebot serve` processes on one PostgreSQL database: ten requests
// for different actions spread over both, approvals clicked on the other
// replica, one replica SIGKILLed midway. Defender never sees more than 2
// getPackageUri calls in any 60 s window, and every request is delivered
// exactly once.
func TestTwoReplicasOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("the two-replica test takes minutes (Defender's 2/min limit); skipped in -short mode")
	}
	e, _, b := twoReplicas(t)
	baseA, baseB := e.BaseURL, b.url
	users := []string{demo.Alice, demo.Carol}
	for _, u := range users {
		login(t, e, u)
	}

	const n = 10
	var actions []string
	for i := range n {
		actions = append(actions, addAction(e, fmt.Sprintf("7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f7a%02d", i)))
	}
	start := time.Now()
	killed := make(chan struct{})
	var wg sync.WaitGroup
	for i, id := range actions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ask, approve := baseA, baseB // approvals are clicked on the other replica
			if i%2 == 1 {
				ask, approve = baseB, baseA
			}
			if i >= n/2 {
				approve = baseA // B is killed midway: later clicks go to the survivor
			}
			user := users[i%len(users)]
			mark := e.Mark()
			if a, err := e.CommandAt(deadline(t, 10*time.Second), ask, user, demo.ChanApproval, id); err != nil || a.Status != 200 {
				t.Errorf("ask %s at %s: %v %v", id, ask, err, a)
				return
			}
			ev, err := e.WaitAfter(deadline(t, 60*time.Second), mark, func(ev slackfake.Event) bool {
				return ev.Kind == slackfake.EventMessage && hasButton(ev, handlers.ActionApprove) && strings.Contains(textOf(ev), id)
			})
			if err != nil {
				t.Errorf("no approval message for %s: %v", id, err)
				return
			}
			if i >= n/2 {
				// Wait for the kill, so these approvals land on the survivor only.
				<-killed
			}
			if a, err := e.ClickAt(deadline(t, 10*time.Second), approve, demo.Bob, demo.ChanApproval, ev.Message.TS, handlers.ActionApprove, buttonValue(ev, handlers.ActionApprove)); err != nil || a.Status != 200 {
				t.Errorf("approve %s at %s: %v %v", id, approve, err, a)
			}
		}()
		time.Sleep(100 * time.Millisecond)
	}
	// Kill B once some packages went out (midway through the queue), after a
	// delivery was recorded, not in the milliseconds between Slack sharing a
	// file and the bot recording it (a crash there repeats that one upload:
	// delivery to Slack and the record of it cannot be one atomic step).
	waitEventFor(t, e, 0, 3*time.Minute, "the first deliveries", func() func(slackfake.Event) bool {
		got := 0
		return func(ev slackfake.Event) bool {
			if ev.Kind == slackfake.EventUpdate && strings.Contains(textOf(ev), "Package delivered") {
				got++
			}
			return got >= 3
		}
	}())
	b.kill()
	close(killed)
	t.Logf("replica B killed after %s", time.Since(start).Round(time.Second))
	wg.Wait()

	// Every request delivered: about 5 minutes at 2 calls a minute, plus a rescue.
	waitEventFor(t, e, 0, 10*time.Minute, "all deliveries", func() func(slackfake.Event) bool {
		got := 0
		return func(ev slackfake.Event) bool {
			if ev.Kind == slackfake.EventFileShared {
				got++
			}
			return got >= n
		}
	}())
	time.Sleep(3 * time.Second) // let a duplicate show itself
	t.Logf("all %d delivered after %s", n, time.Since(start).Round(time.Second))

	perAction := map[string]int{}
	for _, u := range e.Slack.Uploads() {
		if u.Completed {
			perAction[strings.TrimSuffix(strings.TrimPrefix(u.Filename, "investigation-package-"), ".zip")]++
		}
	}
	for _, id := range actions {
		if perAction[id] != 1 {
			t.Errorf("action %s delivered %d times, want exactly 1", id, perAction[id])
		}
	}
	calls := e.MDE.PackageURICalls()
	if w := maxInWindow(calls, time.Minute); w > 2 {
		t.Errorf("Defender saw %d getPackageUri calls within 60 s, want at most 2 (calls at %v)", w, calls)
	}
	if len(calls) != n {
		t.Errorf("getPackageUri called %d times for %d actions", len(calls), n)
	}
}

// maxInWindow is the most calls in any window of length w.
func maxInWindow(calls []time.Time, w time.Duration) int {
	ts := append([]time.Time(nil), calls...)
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	best := 0
	for i := range ts {
		j := i
		for j < len(ts) && ts[j].Sub(ts[i]) < w {
			j++
		}
		best = max(best, j-i)
	}
	return best
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
