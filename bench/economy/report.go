package main

import (
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/mdebot/mdebot/demo"
)

// waitedAfter: a request whose link came this long after the ask waited for
// the limiter (one served at once is fetched within about 2 s: the gather
// delay and job polling), so it must have been told its position before.
const waitedAfter = 10 * time.Second

func report(e *demo.Env, p1 phase1, p2 phase2) {
	fmt.Println("\nPhase 1: concurrent asks for one action")
	fmt.Println("\n| asks | users | requests delivered | per user | getPackageUri calls | wall |")
	fmt.Println("| ---: | ---: | ---: | --- | ---: | ---: |")
	per := ""
	for _, u := range users {
		p, _ := demo.PersonByID(u)
		per += fmt.Sprintf("%s %d ", p.Name, p1.perUser[u])
	}
	fmt.Printf("| %d | %d | %d | %s| %d | %.1f s |\n", len(p1.asks), len(users), p1.requests, per, p1.calls, p1.elapsed.Seconds())

	fmt.Println("\nPhase 2: different actions asked at once (times from the asks; ETA error = served call minus (told at + ETA))")
	fmt.Println("\n| # | action | requester | told queued | position | ETA told | calls | first call | served call | ETA error | delivered |")
	fmt.Println("| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	waited, told, toldInTime := 0, 0, 0
	var positions []int
	var worstSlip time.Duration
	for i, a := range p2.asks {
		p, _ := demo.PersonByID(a.user)
		var first time.Time
		if len(a.calls) > 0 {
			first = a.calls[0].at
		}
		served := a.served()
		queued, pos, eta, slip := "-", "-", "-", "-"
		if !a.told.queuedAt.IsZero() {
			told++
			queued = since(p2.start, a.told.queuedAt)
			pos, eta = fmt.Sprint(a.told.position), fmt.Sprintf("%.0f s", a.told.eta.Seconds())
			positions = append(positions, a.told.position)
			if !served.IsZero() {
				d := served.Sub(a.told.queuedAt.Add(a.told.eta))
				slip = fmt.Sprintf("%+.1f s", d.Seconds())
				worstSlip = max(worstSlip, d.Abs())
			}
		}
		// Never served (the wait gave up) counts as waiting too.
		if served.IsZero() || served.Sub(a.at) > waitedAfter {
			waited++
			if !a.told.queuedAt.IsZero() && (served.IsZero() || a.told.queuedAt.Before(served)) {
				toldInTime++
			}
		}
		fmt.Printf("| %d | …%s | %s | %s | %s | %s | %d | %s | %s | %s | %s |\n", i+1, a.action[len(a.action)-6:], p.Name,
			queued, pos, eta, len(a.calls), since(p2.start, first), since(p2.start, served), slip, since(p2.start, firstDelivery(a.told)))
	}

	calls := packageCalls(e)
	fmt.Println("\nEvery getPackageUri call (times from the phase 2 asks):")
	fmt.Println()
	throttled := 0
	for _, c := range calls {
		note := ""
		if c.status == http.StatusTooManyRequests {
			throttled++
			note = " ← throttled by Defender"
		}
		fmt.Printf("  %9s  …%s  HTTP %d%s\n", since(p2.start, c.at), c.action[len(c.action)-6:], c.status, note)
	}
	worst := maxInWindow(times(calls, false), time.Minute)
	admitted := maxInWindow(times(calls, true), time.Minute)
	fmt.Printf("\ngetPackageUri calls: %d in all for %d actions (%d throttled with 429); most in any 60 s window: %d (%d counting only the calls Defender admitted)\n",
		len(calls), len(p2.asks)+1, throttled, worst, admitted)
	fmt.Printf("phase 2 wall: %.0f s; requests whose link came more than %s after the ask: %d, told their position before it: %d (told at all: %d of %d)\n",
		p2.elapsed.Seconds(), waitedAfter, waited, toldInTime, told, len(p2.asks))

	slices.Sort(positions)
	fmt.Printf("first positions told: %v (distinct: %v); largest ETA error: %.1f s\n",
		positions, len(slices.Compact(slices.Clone(positions))) == len(positions), worstSlip.Seconds())

	fmt.Println()
	fmt.Printf("%d concurrent asks for one action -> %d getPackageUri call(s), %d/%d delivered: %s (goal: exactly 1)\n",
		len(p1.asks), p1.calls, p1.requests, len(p1.asks), verdict(p1.calls == 1 && p1.requests == len(p1.asks)))
	fmt.Printf("%d different actions -> at most %d calls in any 60 s window: %s (goal: never more than 2)\n",
		len(p2.asks), worst, verdict(worst <= 2))
	fmt.Printf("every request delivered: %d/%d: %s\n", p2.delivered, len(p2.asks), verdict(p2.delivered == len(p2.asks)))
	fmt.Printf("each queued requester told their position while queued: %d/%d: %s\n", toldInTime, waited, verdict(toldInTime == waited))
}

func firstDelivery(s seen) time.Time {
	var t time.Time
	for _, at := range s.delivered {
		if t.IsZero() || at.Before(t) {
			t = at
		}
	}
	return t
}

func since(start, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return fmt.Sprintf("%+.1f s", t.Sub(start).Seconds())
}

func verdict(ok bool) string {
	if ok {
		return "goal met"
	}
	return "goal missed"
}
