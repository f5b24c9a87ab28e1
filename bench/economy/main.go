// Command economy measures how sparingly the bot spends Defender's
// getPackageUri budget (2 calls a minute, 120 an hour), against the fake
// Defender with those real limits and the real bot in-process (demo.Start):
//
//  1. N concurrent asks (default 20, by the 4 linked demo users) for one
//     action: exactly one getPackageUri call, every ask delivered.
//  2. M different actions (default 10) asked at once: never more than 2 calls
//     in any 60 s window, every request delivered, and each requester told
//     "queued (position N, about M s)" while waiting for the limiter.
//
// Phase 2 takes about M/2 minutes: that is the limit at work.
//
//	go run ./bench/economy [-asks 20] [-actions 10] [-timeout 15m]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mdebot/mdebot/demo"
)

var users = []string{demo.Alice, demo.Bob, demo.Carol, demo.Dave}

func main() { os.Exit(cli()) }

func cli() int {
	asks := flag.Int("asks", 20, "phase 1: concurrent asks for one action")
	actions := flag.Int("actions", 10, "phase 2: different actions asked at once")
	timeout := flag.Duration("timeout", 12*time.Minute, "phase 2 stops waiting for deliveries after this long and reports what it has")
	logPath := flag.String("log", "", "write the bot's logs (JSON, info) to this file")
	flag.Parse()
	if *asks < 1 || *actions < 1 {
		fmt.Fprintln(os.Stderr, "economy: -asks and -actions must be at least 1")
		return 2
	}
	var logw io.Writer = io.Discard
	if *logPath != "" {
		f, err := os.Create(*logPath)
		if err != nil {
			fmt.Fprintln(os.Stderr, "economy:", err)
			return 1
		}
		defer f.Close()
		logw = f
	}
	if err := run(context.Background(), *asks, *actions, *timeout, logw); err != nil {
		fmt.Fprintln(os.Stderr, "economy:", err)
		return 1
	}
	return 0
}

func run(ctx context.Context, asks, actions int, timeout time.Duration, logw io.Writer) error {
	fmt.Printf("command: go run ./bench/economy %s\n", strings.Join(os.Args[1:], " "))
	fmt.Printf("machine: %d CPUs, %s, %s/%s\n", runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	rec := &recorder{}
	e, err := demo.Start(ctx, demo.Options{Log: logw, OnSlack: rec.onSlack})
	if err != nil {
		return err
	}
	defer e.Close()
	fmt.Printf("limits: bot mde.package_uri_limit %d/min %d/h; fake Defender enforces the same\n",
		e.Config.MDE.PackageURILimit.PerMinute, e.Config.MDE.PackageURILimit.PerHour)
	for _, u := range users {
		if _, err := e.Login(ctx, u); err != nil {
			return fmt.Errorf("login %s: %w", u, err)
		}
	}
	p1, err := phaseOne(ctx, e, rec, asks)
	if err != nil {
		return err
	}
	p2, err := phaseTwo(ctx, e, rec, actions, timeout)
	if err != nil {
		return err
	}
	report(e, p1, p2)
	return nil
}

// ask is one request: who asked for which action, when, and what they were told.
type ask struct {
	user, action string
	at           time.Time
	told         seen
	calls        []call // getPackageUri calls for the action
}

// served is the call that got the link (zero if none did).
func (a *ask) served() time.Time {
	for _, c := range a.calls {
		if c.status == 200 {
			return c.at
		}
	}
	return time.Time{}
}

// askAll sends every ask at once, each from its own goroutine.
func askAll(ctx context.Context, e *demo.Env, as []*ask) error {
	var wg sync.WaitGroup
	errs := make([]error, len(as))
	for i, a := range as {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.at = time.Now()
			ack, err := e.Command(ctx, a.user, demo.ChanPrivate, a.action)
			switch {
			case err != nil:
				errs[i] = err
			case ack.Status != 200:
				errs[i] = fmt.Errorf("ask %d answered %d: %s", i, ack.Status, ack.Body)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

type phase1 struct {
	asks     []*ask
	calls    int // getPackageUri calls for the action
	elapsed  time.Duration
	perUser  map[string]int
	requests int // distinct requests delivered
}

func phaseOne(ctx context.Context, e *demo.Env, rec *recorder, n int) (phase1, error) {
	id := addAction(e, 0)
	fmt.Printf("\nphase 1: %d concurrent asks for action %s by %d users\n", n, id, len(users))
	p := phase1{perUser: map[string]int{}}
	for i := range n {
		p.asks = append(p.asks, &ask{user: users[i%len(users)], action: id})
	}
	start := time.Now()
	if err := askAll(ctx, e, p.asks); err != nil {
		return p, err
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	err := waitUntil(wctx, func() (bool, string) {
		p.requests = 0
		evs := rec.since(start)
		for _, u := range users {
			s := tally(evs, u, id)
			p.perUser[u] = len(s.delivered)
			p.requests += len(s.delivered)
		}
		return p.requests >= n, fmt.Sprintf("%d/%d delivered", p.requests, n)
	})
	if err != nil {
		return p, fmt.Errorf("phase 1: %w", err)
	}
	p.elapsed = time.Since(start)
	p.calls = len(callsFor(e, id))
	fmt.Printf("  all %d delivered in %.1f s; getPackageUri calls for the action: %d\n", p.requests, p.elapsed.Seconds(), p.calls)
	return p, nil
}

type phase2 struct {
	asks      []*ask
	start     time.Time
	elapsed   time.Duration
	delivered int
	gaveUp    error // the wait ended before every request was delivered
}

func phaseTwo(ctx context.Context, e *demo.Env, rec *recorder, n int, timeout time.Duration) (phase2, error) {
	p := phase2{}
	for i := range n {
		p.asks = append(p.asks, &ask{user: users[i%len(users)], action: addAction(e, i+1)})
	}
	fmt.Printf("\nphase 2: %d different actions asked at once (about %d min at 2 calls a minute); progress every 15 s\n", n, (n+1)/2)
	p.start = time.Now()
	if err := askAll(ctx, e, p.asks); err != nil {
		return p, err
	}
	lastPrint := time.Now()
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	p.gaveUp = waitUntil(wctx, func() (bool, string) {
		evs := rec.since(p.start)
		delivered, queued := 0, 0
		for _, a := range p.asks {
			a.told = tally(evs, a.user, a.action)
			if len(a.told.delivered) > 0 {
				delivered++
			}
			if !a.told.queuedAt.IsZero() {
				queued++
			}
		}
		status := fmt.Sprintf("t=%3.0f s: getPackageUri calls %d, delivered %d/%d, told a queue position %d",
			time.Since(p.start).Seconds(), len(e.MDE.PackageURICalls()), delivered, n, queued)
		if time.Since(lastPrint) >= 15*time.Second {
			fmt.Println("  " + status)
			lastPrint = time.Now()
		}
		p.delivered = delivered
		return delivered == n, status
	})
	p.elapsed = time.Since(p.start)
	for _, a := range p.asks {
		a.calls = callsFor(e, a.action)
	}
	if p.gaveUp != nil {
		fmt.Printf("  stopped waiting after %.0f s: %v\n", p.elapsed.Seconds(), p.gaveUp)
	} else {
		fmt.Printf("  all %d delivered in %.0f s\n", n, p.elapsed.Seconds())
	}
	return p, nil
}

// waitUntil polls done every 250 ms until it is true or ctx ends.
func waitUntil(ctx context.Context, done func() (bool, string)) error {
	for {
		ok, status := done()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (%s)", ctx.Err(), status)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// maxInWindow is the most calls in any window (t-w, t]: Defender's sliding window.
func maxInWindow(calls []time.Time, w time.Duration) int {
	calls = slices.SortedFunc(slices.Values(calls), time.Time.Compare)
	best := 0
	for i, c := range calls {
		n := 0
		for _, d := range calls[:i+1] {
			if d.After(c.Add(-w)) {
				n++
			}
		}
		best = max(best, n)
	}
	return best
}
