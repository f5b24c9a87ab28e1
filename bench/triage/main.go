// Command triage measures how soon the triage summary follows a delivery:
// the real bot in-process (demo.Start) against the fake Defender serving
// its realistic package of the given size, delivered by upload (the
// summary in the upload's thread) and by private link (the summary
// privately), several times each. The interval runs from the delivery as
// Slack sees it (the upload's summary message, or the private link
// message) to the triage summary's arrival at the fake Slack.
//
// Goal (issue 14): the summary posted within 5 s of the delivery for the
// 15 MiB package.
//
//	go run ./bench/triage [-size 15MiB] [-runs 5]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
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
)

// goal is the bound on delivery → summary.
const goal = 5 * time.Second

func main() {
	sizeFlag := flag.String("size", "15MiB", "the realistic package's exact size")
	runs := flag.Int("runs", 5, "deliveries per mode")
	flag.Parse()
	size, err := config.ParseSize(*sizeFlag)
	if err != nil || size <= 0 || *runs < 1 {
		fmt.Fprintf(os.Stderr, "triage: bad -size %q or -runs %d\n", *sizeFlag, *runs)
		os.Exit(2)
	}
	if err := run(context.Background(), size, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "triage:", err)
		os.Exit(1)
	}
}

// arrivals stamps every Slack message as the fake records it.
type arrivals struct {
	mu sync.Mutex
	at map[*slackfake.Message]time.Time
}

func (a *arrivals) add(ev slackfake.Event) {
	now := time.Now()
	if ev.Message == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.at[ev.Message] = now
}

func (a *arrivals) of(m *slackfake.Message) (time.Time, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.at[m]
	return t, ok
}

// mode is a delivery mode measured: where to ask, and how to know the
// delivery and its summary.
type mode struct {
	name      string
	channel   string
	delivery  func(slackfake.Event) bool
	summaryOf func(delivery slackfake.Event) func(slackfake.Event) bool
}

func run(ctx context.Context, size int64, runs int) error {
	fmt.Printf("command: go run ./bench/triage %s\n", strings.Join(os.Args[1:], " "))
	fmt.Printf("machine: %d CPUs, %s, %s/%s; package: realistic, %d bytes\n", runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH, size)
	arr := &arrivals{at: map[*slackfake.Message]time.Time{}}
	limits := mde.Limits{PerMinute: 600, PerHour: 6000}
	e, err := demo.Start(ctx, demo.Options{PackageSize: size, OnSlack: arr.add,
		MDE: func(o *mdetest.Options) { o.PackageURILimits = limits },
		Tune: func(c *config.Config) {
			c.MDE.PackageURILimit.PerMinute, c.MDE.PackageURILimit.PerHour = limits.PerMinute, limits.PerHour
		},
	})
	if err != nil {
		return err
	}
	defer e.Close()
	if _, err := e.Login(ctx, demo.Alice); err != nil {
		return err
	}
	modes := []mode{
		{
			name: "upload", channel: demo.ChanUpload,
			delivery: func(ev slackfake.Event) bool {
				return ev.Kind == slackfake.EventMessage && strings.Contains(ev.Message.Text, "Investigation package uploaded")
			},
			summaryOf: func(d slackfake.Event) func(slackfake.Event) bool {
				return func(ev slackfake.Event) bool {
					return ev.Kind == slackfake.EventMessage && ev.Message.ThreadTS == d.Message.ThreadTS && strings.Contains(ev.Message.Text, "Triage summary")
				}
			},
		},
		{
			name: "private link", channel: demo.ChanPrivate,
			delivery: func(ev slackfake.Event) bool {
				return ev.Kind == slackfake.EventEphemeral && ev.Message.User == demo.Alice && strings.Contains(ev.Message.Text, "Investigation package ready")
			},
			summaryOf: func(slackfake.Event) func(slackfake.Event) bool {
				return func(ev slackfake.Event) bool {
					return ev.Kind == slackfake.EventEphemeral && ev.Message.User == demo.Alice && strings.Contains(ev.Message.Text, "Triage summary")
				}
			},
		},
	}
	fmt.Println("\n| mode | runs | delivery → summary: median | max | goal |")
	fmt.Println("| --- | --- | --- | --- | --- |")
	failed := false
	for mi, m := range modes {
		var gaps []time.Duration
		for i := range runs {
			id := e.MDE.AddAction(mde.MachineAction{ID: fmt.Sprintf("5b7e4a8e-9b1d-4c3d-8e5f-%02d%010d", mi, i), MachineID: demo.MachineWS,
				Type: mde.TypeCollectInvestigationPackage, Status: mde.StatusSucceeded})
			gap, err := measure(ctx, e, arr, m, id)
			if err != nil {
				return fmt.Errorf("%s run %d: %w", m.name, i+1, err)
			}
			gaps = append(gaps, gap)
		}
		slices.Sort(gaps)
		med, worst := gaps[len(gaps)/2], gaps[len(gaps)-1]
		verdict := "met"
		if worst > goal {
			verdict, failed = "NOT met", true
		}
		fmt.Printf("| %s | %d | %s | %s | %s (%s) |\n", m.name, runs, med.Round(time.Millisecond), worst.Round(time.Millisecond), goal, verdict)
	}
	if failed {
		return fmt.Errorf("a summary came later than %s after its delivery", goal)
	}
	return nil
}

// measure asks for action id in m's channel and returns the time from its
// delivery to its triage summary, as the fake Slack received them.
func measure(ctx context.Context, e *demo.Env, arr *arrivals, m mode, id string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	mark := e.Mark()
	if a, err := e.Command(ctx, demo.Alice, m.channel, id); err != nil || a.Status != 200 {
		return 0, fmt.Errorf("command: %v %+v", err, a)
	}
	d, err := e.WaitAfter(ctx, mark, m.delivery)
	if err != nil {
		return 0, fmt.Errorf("waiting for the delivery: %w", err)
	}
	s, err := e.WaitAfter(ctx, mark, m.summaryOf(d))
	if err != nil {
		return 0, fmt.Errorf("waiting for the triage summary: %w", err)
	}
	from, ok1 := arr.of(d.Message)
	to, ok2 := arr.of(s.Message)
	if !ok1 || !ok2 {
		return 0, fmt.Errorf("a message was not stamped on arrival")
	}
	return to.Sub(from), nil
}
