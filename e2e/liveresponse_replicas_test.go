package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdebot/mdebot/bot/slackfake"
	"github.com/mdebot/mdebot/demo"
	"github.com/mdebot/mdebot/handlers"
	"github.com/mdebot/mdebot/mde"
	"github.com/mdebot/mdebot/store/storetest"
)

// Two `mdebot serve` replicas on one PostgreSQL database share the
// runliveresponse budget: twelve getfile requests on twelve devices, asked
// and confirmed on both replicas, reach Defender at most 10 in any 60 s
// (never throttled), the last ones queued with their position told, and
// every file is delivered once.
func TestLiveResponseLimitAcrossReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("waits a minute for Defender's 10/min live response budget; skipped in -short mode")
	}
	dsn := storetest.FreshPostgres(t)
	e, err := demo.Start(deadline(t, 20*time.Second), demo.Options{NoApp: true, Dir: t.TempDir(), Driver: "postgres", DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	baseA, baseB := e.BaseURL, "http://"+freePort(t)
	cfgA, cfgB := filepath.Join(e.Dir, "a.yaml"), filepath.Join(e.Dir, "b.yaml")
	if err := e.WriteConfig(cfgA); err != nil {
		t.Fatal(err)
	}
	e.Config.HTTP.Listen = strings.TrimPrefix(baseB, "http://")
	if err := e.WriteConfig(cfgB); err != nil {
		t.Fatal(err)
	}
	serve(t, e, cfgA, baseA)
	serve(t, e, cfgB, baseB)
	users := []string{demo.Alice, demo.Bob, demo.Carol, demo.Dave}
	for _, u := range users {
		login(t, e, u)
	}
	const n = 12
	for i := range n {
		e.MDE.AddMachine(mde.Machine{ID: fmt.Sprintf("aa%038d", i), ComputerDNSName: fmt.Sprintf("lr-%02d.contoso.local", i),
			OSPlatform: "Ubuntu", LastSeen: time.Now().UTC(), HealthStatus: "Active"})
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ask, confirm := baseA, baseB
			if i%2 == 1 {
				ask, confirm = baseB, baseA
			}
			user, host := users[i%len(users)], fmt.Sprintf("lr-%02d.contoso.local", i)
			mark := e.Mark()
			if a, err := e.CommandAt(deadline(t, 10*time.Second), ask, user, demo.ChanUpload, "getfile "+host+" /var/log/syslog"); err != nil || a.Status != 200 {
				t.Errorf("getfile %s at %s: %v %v", host, ask, err, a)
				return
			}
			ev, err := e.WaitAfter(deadline(t, 30*time.Second), mark, func(ev slackfake.Event) bool {
				return privateTo(user, "Fetch a file from "+host)(ev) && hasButton(ev, handlers.ActionConfirm)
			})
			if err != nil {
				t.Errorf("no confirmation for %s: %v", host, err)
				return
			}
			if a, err := e.ClickAt(deadline(t, 10*time.Second), confirm, user, demo.ChanUpload, "", handlers.ActionConfirm, buttonValue(ev, handlers.ActionConfirm)); err != nil || a.Status != 200 {
				t.Errorf("confirm %s at %s: %v %v", host, confirm, err, a)
			}
		}()
	}
	wg.Wait()
	waitEventFor(t, e, 0, 4*time.Minute, "all deliveries", func() func(slackfake.Event) bool {
		got := 0
		return func(ev slackfake.Event) bool {
			if ev.Kind == slackfake.EventFileShared {
				got++
			}
			return got >= n
		}
	}())
	time.Sleep(2 * time.Second) // let a duplicate show itself

	perFile := map[string]int{}
	for _, u := range e.Slack.Uploads() {
		if u.Completed {
			perFile[u.Filename]++
		}
	}
	for i := range n {
		if name := fmt.Sprintf("lr-%02d.contoso.local-syslog.gz", i); perFile[name] != 1 {
			t.Errorf("%s delivered %d times, want 1", name, perFile[name])
		}
	}
	var calls []time.Time
	for _, r := range e.MDE.Requests() {
		if strings.HasSuffix(r.Path, "/runliveresponse") {
			if r.Status != 201 {
				t.Errorf("runliveresponse answered %d at %s", r.Status, r.At)
			}
			calls = append(calls, r.At)
		}
	}
	if len(calls) != n {
		t.Errorf("runliveresponse called %d times for %d requests", len(calls), n)
	}
	if w := maxInWindow(calls, time.Minute); w > 10 {
		t.Errorf("Defender saw %d runliveresponse calls within 60 s, want at most 10", w)
	}
	told := false
	for _, ev := range e.Slack.Events() {
		if strings.Contains(textOf(ev), "queued (position") {
			told = true
			break
		}
	}
	if !told {
		t.Error("no request was told its place in the live response queue")
	}
}
