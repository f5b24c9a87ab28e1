// Command polling measures the status poller: many requests waiting on as
// many Defender actions, which finish at random times. It counts Defender's
// status calls per poll interval, the lag from an action's success to its
// request becoming ready (and to its delivery), and any throttled call.
//
// Goals (issue 15): at most one status call per poll interval per 50
// actions; the request ready within one interval of Succeeded; no call
// throttled. Defender's getPackageUri limit is raised here (bot and fake
// alike) so that deliveries measure the poller, not that limit.
//
//	go run ./bench/polling [-requests 50] [-over 5m] [-interval 5s]
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mdebot/mdebot/bot/slackfake"
	"github.com/mdebot/mdebot/config"
	"github.com/mdebot/mdebot/demo"
	"github.com/mdebot/mdebot/mde"
	"github.com/mdebot/mdebot/mde/mdetest"
	"github.com/mdebot/mdebot/store"
)

func main() { os.Exit(cli()) }

func cli() int {
	requests := flag.Int("requests", 50, "requests, each waiting on its own action")
	over := flag.Duration("over", 5*time.Minute, "the actions finish at random times within this span")
	interval := flag.Duration("interval", 5*time.Second, "mde.poll_interval")
	flag.Parse()
	if err := run(context.Background(), *requests, *over, *interval); err != nil {
		fmt.Fprintln(os.Stderr, "polling:", err)
		return 1
	}
	return 0
}

var users = []string{demo.Alice, demo.Bob, demo.Carol, demo.Dave}

func run(ctx context.Context, n int, over, interval time.Duration) error {
	fmt.Printf("command: go run ./bench/polling %s\n", strings.Join(os.Args[1:], " "))
	fmt.Printf("machine: %d CPUs, %s, %s/%s\n", runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	dir, err := os.MkdirTemp("", "mdebot-bench-polling-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	e, err := demo.Start(ctx, demo.Options{Dir: dir, PollInterval: interval,
		MDE: func(o *mdetest.Options) { o.PackageURILimits = mde.Limits{PerMinute: 1000, PerHour: 100000} },
		Tune: func(c *config.Config) {
			c.MDE.PackageURILimit = config.PackageURIRate{PerMinute: 1000, PerHour: 100000}
			c.MDE.WaitTimeout = over + time.Minute
			c.Policy.MaxPendingPerUser = n
			c.Evidence.Store = config.EvidenceNone // the poller is measured, not the store
		}})
	if err != nil {
		return err
	}
	defer e.Close()
	for _, u := range users {
		if _, err := e.Login(ctx, u); err != nil {
			return fmt.Errorf("login %s: %w", u, err)
		}
	}
	actions := make([]string, n)
	for i := range actions {
		actions[i] = e.MDE.AddAction(mde.MachineAction{ID: fmt.Sprintf("7f3c2a10-5b7e-4a8e-9b1d-%012x", 0xb0000+i),
			Type: mde.TypeCollectInvestigationPackage, MachineID: demo.MachineWS}, mdetest.Step{Status: mde.StatusInProgress, Polls: 1 << 30})
	}
	for i, id := range actions {
		if _, err := e.Command(ctx, users[i%len(users)], demo.ChanPrivate, id); err != nil {
			return err
		}
	}
	fmt.Printf("%d requests waiting on %d actions; poll interval %s; the actions finish at random within %s\n", n, n, interval, over)
	start := time.Now()
	succeeded := finish(e, actions, over)
	deadline := time.Now().Add(over + 2*time.Minute)
	for time.Now().Before(deadline) && delivered(e) < n {
		time.Sleep(time.Second)
	}
	end := time.Now()
	return report(ctx, e, dir, start, end, interval, succeeded)
}

// finish sets each action Succeeded at a random moment within over and
// returns when each did.
func finish(e *demo.Env, actions []string, over time.Duration) map[string]time.Time {
	at := map[string]time.Time{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, id := range actions {
		wg.Add(1)
		d := time.Duration(rand.Int64N(int64(over)))
		go func() {
			defer wg.Done()
			time.Sleep(d)
			mu.Lock()
			at[id] = time.Now()
			mu.Unlock()
			e.MDE.SetStatus(id, mde.StatusSucceeded)
		}()
	}
	wg.Wait()
	return at
}

// delivered counts the private deliveries so far.
func delivered(e *demo.Env) int {
	n := 0
	for _, ev := range e.Slack.Events() {
		if ev.Kind == slackfake.EventEphemeral && strings.Contains(ev.Message.Text, "Investigation package ready") {
			n++
		}
	}
	return n
}

func report(ctx context.Context, e *demo.Env, dir string, start, end time.Time, interval time.Duration, succeeded map[string]time.Time) error {
	// The waiting span: from the commands to the last action's success.
	last := start
	for _, at := range succeeded {
		if at.After(last) {
			last = at
		}
	}
	// Status calls: the poller's id filters, and single GETs (the intakes').
	buckets := map[int]int{}
	throttled, list, single := 0, 0, 0
	for _, r := range e.MDE.Requests() {
		if r.Status == 429 {
			throttled++
		}
		if r.At.Before(start) || r.At.After(last) {
			continue
		}
		switch {
		case strings.HasSuffix(r.Path, "/api/machineactions") && strings.Contains(r.RawQuery, "id"):
			list++
			buckets[int(r.At.Sub(start)/interval)]++
		case strings.Count(r.Path, "/") == 3 && strings.HasPrefix(r.Path, "/api/machineactions/"):
			single++
		}
	}
	most := 0
	for _, c := range buckets {
		most = max(most, c)
	}
	intervals := last.Sub(start).Seconds() / interval.Seconds()
	db, err := store.Open(ctx, store.DriverSQLite, "file:"+filepath.Join(dir, "mdebot.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	events, err := db.ListAudit(ctx, start)
	if err != nil {
		return err
	}
	var ready, deliveredLag []time.Duration
	for _, ev := range events {
		at, ok := succeeded[ev.ActionID]
		if !ok {
			continue
		}
		switch {
		case ev.Event == "action.succeeded":
			ready = append(ready, ev.At.Sub(at))
		case strings.HasPrefix(ev.Event, "delivery.") && ev.Outcome == "ok":
			deliveredLag = append(deliveredLag, ev.At.Sub(at))
		}
	}
	fmt.Printf("\n| measure | value | goal |\n| --- | --- | --- |\n")
	perInterval := float64(list) / intervals
	fmt.Printf("| poller's status calls while actions ran | %d in %.1f intervals: %.2f per interval | at most %d per interval (one per 50 actions) |\n",
		list, intervals, perInterval, (len(succeeded)+49)/50)
	fmt.Printf("| most poller calls in one interval-long bucket | %d | (periodic runs drift across bucket edges) |\n", most)
	fmt.Printf("| single GETs of an action in that time (intakes) | %d | |\n", single)
	fmt.Printf("| requests ready after Succeeded: median / p90 / max | %s / %s / %s (%d) | max within one interval (%s) |\n",
		pct(ready, 50), pct(ready, 90), pct(ready, 100), len(ready), interval)
	fmt.Printf("| delivered after Succeeded: median / p90 / max | %s / %s / %s (%d) | |\n", pct(deliveredLag, 50), pct(deliveredLag, 90), pct(deliveredLag, 100), len(deliveredLag))
	fmt.Printf("| throttled calls (429) | %d | 0 |\n", throttled)
	met := perInterval <= float64((len(succeeded)+49)/50)+0.05 && throttled == 0 && len(ready) == len(succeeded) && pct(ready, 100) <= interval+time.Second
	fmt.Printf("\ngoals met: %v\n", met)
	return nil
}

// pct is the p-th percentile (100: the maximum), rounded to 10 ms.
func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := min(len(s)-1, (len(s)*p+99)/100-1)
	return s[max(i, 0)].Round(10 * time.Millisecond)
}
