// Command delivery measures the upload path: an investigation package from
// the loopback fake Defender through `mdebot serve` (a separate process,
// built from ./cmd/mdebot) into the loopback fake Slack's upload URL, versus
// curl piping the same bytes between the same two hosts, in the same run. It
// also reads the bot's peak resident memory (VmHWM) after the deliveries, one
// fresh bot process per package size.
//
// Goals (issue 15): the transfer within 1.2× a curl pipeline doing the same
// work (with the file evidence store: curl | tee FILE | curl -T -), command
// to shared within 1.5× it at 1 GiB; peak RSS at most 64 MiB at 100 MiB and
// at 1 GiB, the two within 8 MiB of each other. It also reports command →
// link issued (issue 15, goal 1: median 1.5 s, p90 2.5 s).
//
//	go run ./bench/delivery [-sizes 100MiB,1GiB] [-runs 3]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/mdebot/mdebot/config"
	"github.com/mdebot/mdebot/demo"
	"github.com/mdebot/mdebot/mde"
	"github.com/mdebot/mdebot/mde/mdetest"
)

// The goals.
const (
	goalWallRatio   = 1.2
	goalSharedRatio = 1.5
	goalPeakRSS     = 64 << 20
	goalRSSSpread   = 8 << 20
)

func main() { os.Exit(cli()) }

func cli() int {
	sizesFlag := flag.String("sizes", "100MiB,1GiB", "comma-separated package sizes (the fake Defender's zip is exactly this long)")
	runs := flag.Int("runs", 3, "deliveries per size through the bot, and as many per curl pipeline (medians reported)")
	store := flag.String("evidence", "file", "evidence.store of the bot: file (the SQLite default) or none (pass-through)")
	bin := flag.String("bin", "", "an mdebot binary to run (default: go build ./cmd/mdebot into a temp dir)")
	flag.Parse()
	var sizes []int64
	for _, s := range strings.Split(*sizesFlag, ",") {
		n, err := config.ParseSize(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "delivery: bad size %q: %v\n", s, err)
			return 2
		}
		sizes = append(sizes, n)
	}
	if *runs < 1 {
		fmt.Fprintln(os.Stderr, "delivery: -runs must be at least 1")
		return 2
	}
	if *store != "file" && *store != "none" {
		fmt.Fprintln(os.Stderr, "delivery: -evidence must be file or none")
		return 2
	}
	if err := run(context.Background(), sizes, *runs, *bin, *store); err != nil {
		fmt.Fprintln(os.Stderr, "delivery:", err)
		return 1
	}
	return 0
}

// sizeResult is everything measured at one package size.
type sizeResult struct {
	size    int64
	bot     []botRun
	curl    [][]time.Duration // per pipeline
	curlCPU [][]time.Duration
	curlErr []string // per pipeline: why it could not run at this size
	idleRSS int64    // VmRSS after start and login, before any delivery
	idleHWM int64
	peakRSS int64 // VmHWM after the deliveries
}

func run(ctx context.Context, sizes []int64, runs int, bin, store string) error {
	fmt.Printf("command: go run ./bench/delivery %s\n", strings.Join(os.Args[1:], " "))
	fmt.Printf("machine: %d CPUs, %s, %s/%s\n", runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if bin == "" {
		dir, err := os.MkdirTemp("", "mdebot-bench-bin-*")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if bin, err = buildBot(ctx, dir); err != nil {
			return err
		}
	}
	var results []sizeResult
	for i, size := range sizes {
		r, err := measureSize(ctx, bin, store, size, runs, i)
		if err != nil {
			return fmt.Errorf("%s: %w", mib(size), err)
		}
		results = append(results, r)
	}
	report(results, store)
	return nil
}

// measureSize starts fresh fakes and a fresh bot process for one size.
func measureSize(ctx context.Context, bin, store string, size int64, runs, sizeIndex int) (sizeResult, error) {
	res := sizeResult{size: size, curl: make([][]time.Duration, len(pipelines)), curlCPU: make([][]time.Duration, len(pipelines)), curlErr: make([]string, len(pipelines))}
	fmt.Printf("\n%s: building the fake package and starting mdebot serve…\n", mib(size))
	clk := newClock()
	limits := mde.Limits{PerMinute: 1000, PerHour: 10000} // not what is measured here
	e, err := demo.Start(ctx, demo.Options{
		NoApp: true, PackageSize: size, OnSlack: clk.onSlack,
		Tune: func(c *config.Config) {
			c.MDE.MaxPackageSize = max(2<<30, 2*size)
			c.MDE.PackageURILimit.PerMinute, c.MDE.PackageURILimit.PerHour = limits.PerMinute, limits.PerHour
			c.Log.Level, c.Log.Format = "info", "json"
			c.Evidence.Store = store
		},
		MDE: func(o *mdetest.Options) {
			o.PackageURILimits = limits
			entra := o.Authorize
			o.Authorize = func(token, method, path string) int {
				if token == benchToken {
					return 0
				}
				return entra(token, method, path)
			}
		},
	})
	if err != nil {
		return res, err
	}
	defer e.Close()
	bot, err := startChild(ctx, bin, e)
	if err != nil {
		return res, err
	}
	defer bot.stop()
	if _, err := e.Login(ctx, demo.Alice); err != nil {
		return res, fmt.Errorf("login: %w (bot log: %s)", err, bot.log)
	}
	if res.idleRSS, res.idleHWM, err = bot.memory(); err != nil {
		return res, err
	}
	fmt.Printf("  package %d bytes, sha256 %s…; bot pid %d, VmRSS %s after login\n",
		e.MDE.PackageBytes(), e.MDE.PackageSHA256()[:16], bot.cmd.Process.Pid, mib(res.idleRSS))

	seq := 0
	nextID := func() string {
		seq++
		return fmt.Sprintf("7f3c2a10-5b7e-4a8e-9b1d-%06x%06x", sizeIndex, seq)
	}
	for r := range runs {
		runCtx, cancel := context.WithTimeout(ctx, 10*time.Minute)
		cpu0, err := bot.cpu()
		if err != nil {
			cancel()
			return res, err
		}
		b, err := deliverThroughBot(runCtx, e, clk, nextID())
		if err != nil {
			cancel()
			return res, fmt.Errorf("run %d through the bot: %w (bot log: %s)", r+1, err, bot.log)
		}
		cpu1, err := bot.cpu()
		if err != nil {
			cancel()
			return res, err
		}
		b.cpu = cpu1 - cpu0
		res.bot = append(res.bot, b)
		line := fmt.Sprintf("  run %d: bot %s (link after %s, transfer %s, CPU %s)", r+1, secs(b.e2e), secs(b.toLink), secs(b.transfer), secs(b.cpu))
		for i, p := range pipelines {
			if res.curlErr[i] != "" {
				continue
			}
			d, cpu, err := pipeThroughCurl(runCtx, e, nextID(), p.script)
			if err != nil {
				// Reported in the table: a baseline that cannot move the bytes is a finding too.
				res.curlErr[i] = strings.Join(strings.Fields(err.Error()), " ")
				line += fmt.Sprintf(", %s failed", p.name)
				continue
			}
			res.curl[i] = append(res.curl[i], d)
			res.curlCPU[i] = append(res.curlCPU[i], cpu)
			line += fmt.Sprintf(", %s %s (CPU %s)", p.name, secs(d), secs(cpu))
		}
		cancel()
		fmt.Println(line)
	}
	if _, res.peakRSS, err = bot.memory(); err != nil {
		return res, err
	}
	return res, nil
}

func report(rs []sizeResult, store string) {
	fmt.Println("\nWall time (medians; bot = command to file shared; transfer = bot's download request at Defender to the last byte at Slack's upload URL):")
	fmt.Print("\n| size | bot: command→shared | bot: transfer only |")
	for _, p := range pipelines {
		fmt.Printf(" %s |", p.name)
	}
	fmt.Println(" bot/curl | transfer/curl |")
	fmt.Print("| --- | ---: | ---: |")
	for range pipelines {
		fmt.Print(" ---: |")
	}
	fmt.Println(" ---: | ---: |")
	var verdicts []string
	for _, r := range rs {
		e2e := median(r.bot, func(b botRun) time.Duration { return b.e2e })
		transfer := median(r.bot, func(b botRun) time.Duration { return b.transfer })
		fmt.Printf("| %s | %s | %s (%s) |", mib(r.size), secs(e2e), secs(transfer), rate(r.size, transfer))
		// The ratio is against the fastest curl pipeline: the stricter baseline.
		best := time.Duration(1<<63 - 1)
		for i, ds := range r.curl {
			if r.curlErr[i] != "" {
				fmt.Print(" failed¹ |")
				continue
			}
			d := median(ds, func(d time.Duration) time.Duration { return d })
			best = min(best, d)
			fmt.Printf(" %s (%s) |", secs(d), rate(r.size, d))
		}
		ratio, tratio := float64(e2e)/float64(best), float64(transfer)/float64(best)
		fmt.Printf(" %.2f× | %.2f× |\n", ratio, tratio)
		// Issue 15 compares with the pipeline doing the same work: with the
		// file evidence store the one that also writes a copy.
		same := 1 // curl -T -: the same work as the pass-through (evidence.store none)
		if store == "file" {
			same = len(pipelines) - 1
		}
		if r.curlErr[same] == "" {
			d := median(r.curl[same], func(d time.Duration) time.Duration { return d })
			sr, st := float64(e2e)/float64(d), float64(transfer)/float64(d)
			verdicts = append(verdicts, fmt.Sprintf("%s against %q: transfer %.2f×: %s (goal: within %.1f×); command→shared %.2f×: %s (goal at 1 GiB: within %.1f×)",
				mib(r.size), pipelines[same].name, st, verdict(st <= goalWallRatio), goalWallRatio, sr, verdict(sr <= goalSharedRatio), goalSharedRatio))
		}
		verdicts = append(verdicts, fmt.Sprintf("%s against the fastest curl: command→shared %.2f×, transfer alone %.2f×",
			mib(r.size), ratio, tratio))
	}
	fmt.Println("\nCommand → link issued (the bot has Defender's link), over the runs:")
	for _, r := range rs {
		fmt.Printf("%s: median %s, p90 %s, max %s (%d runs)\n", mib(r.size),
			secs(quantile(r.bot, 0.5)), secs(quantile(r.bot, 0.9)), secs(quantile(r.bot, 1)), len(r.bot))
	}
	for _, r := range rs {
		for i, msg := range r.curlErr {
			if msg != "" {
				fmt.Printf("\n¹ %s at %s: %s\n", pipelines[i].name, mib(r.size), msg)
			}
		}
	}
	fmt.Println("\nCPU time per delivery (medians; the bot process for the whole request; the shell and both curls):")
	fmt.Print("\n| size | bot |")
	for _, p := range pipelines {
		fmt.Printf(" %s |", p.name)
	}
	fmt.Print("\n| --- | ---: |")
	for range pipelines {
		fmt.Print(" ---: |")
	}
	fmt.Println()
	for _, r := range rs {
		fmt.Printf("| %s | %s |", mib(r.size), secs(median(r.bot, func(b botRun) time.Duration { return b.cpu })))
		for i, ds := range r.curlCPU {
			if r.curlErr[i] != "" {
				fmt.Print(" failed |")
				continue
			}
			fmt.Printf(" %s |", secs(median(ds, func(d time.Duration) time.Duration { return d })))
		}
		fmt.Println()
	}
	fmt.Println("\nBot memory (fresh `mdebot serve` per size):")
	fmt.Println("\n| size | VmRSS after login | VmHWM after login | VmHWM after the deliveries |")
	fmt.Println("| --- | ---: | ---: | ---: |")
	lo, hi := int64(1<<62), int64(0)
	for _, r := range rs {
		fmt.Printf("| %s | %s | %s | %s |\n", mib(r.size), mib(r.idleRSS), mib(r.idleHWM), mib(r.peakRSS))
		lo, hi = min(lo, r.peakRSS), max(hi, r.peakRSS)
	}
	fmt.Println()
	for _, v := range verdicts {
		fmt.Println(v)
	}
	fmt.Printf("peak RSS: highest %s: %s (goal: at most %s)\n", mib(hi), verdict(hi <= goalPeakRSS), mib(goalPeakRSS))
	if len(rs) > 1 {
		fmt.Printf("peak RSS spread between sizes: %s: %s (goal: within %s)\n", mib(hi-lo), verdict(hi-lo <= goalRSSSpread), mib(goalRSSSpread))
	}
}

func median[T any](xs []T, f func(T) time.Duration) time.Duration {
	ds := make([]time.Duration, len(xs))
	for i, x := range xs {
		ds[i] = f(x)
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// quantile is the q-th quantile (nearest rank) of the runs' time to the link.
func quantile(bs []botRun, q float64) time.Duration {
	ds := make([]time.Duration, len(bs))
	for i, b := range bs {
		ds[i] = b.toLink
	}
	slices.Sort(ds)
	i := int(q*float64(len(ds))+0.999999) - 1
	return ds[max(0, min(i, len(ds)-1))]
}

func verdict(ok bool) string {
	if ok {
		return "goal met"
	}
	return "goal missed"
}

func mib(n int64) string {
	if n >= 1<<30 && n%(1<<30) == 0 {
		return fmt.Sprintf("%d GiB", n>>30)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func rate(size int64, d time.Duration) string {
	return fmt.Sprintf("%.0f MiB/s", float64(size)/(1<<20)/d.Seconds())
}
