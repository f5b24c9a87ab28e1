// Command ack measures how fast the bot acknowledges signed slash commands:
// N signed commands from C concurrent keep-alive clients against the real bot
// (demo.Start, HTTP mode, real HTTP server on loopback) and against a bare
// net/http handler that only checks Slack's v0 HMAC (same secret, same body
// cap), in the same run, alternating rounds. It prints p50/p90/p99/max for
// each and the bot/bare p99 and CPU ratios (issue 15: p99 at most 3×, CPU
// per request at most 10×).
//
//	go run ./bench/ack [-n 20000] [-c 64] [-warmup 2000] [-rounds 10] [-variants invalid,help,get]
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mdebot/mdebot/bot/slackfake"
	"github.com/mdebot/mdebot/config"
	"github.com/mdebot/mdebot/demo"
)

// The goals of issue 15: the bot's p99 within 3× the bare handler's, its CPU
// per request (background work included) within 10×.
const (
	goalRatio    = 3
	goalCPURatio = 10
)

func main() { os.Exit(cli()) }

// cli parses the flags and runs; its result is the exit code.
func cli() int {
	n := flag.Int("n", 20000, "measured requests per target per variant (split over the rounds)")
	c := flag.Int("c", 64, "concurrent clients")
	warmup := flag.Int("warmup", 2000, "unmeasured requests per target before measuring")
	rounds := flag.Int("rounds", 10, "alternating bare/bot rounds per variant (spreads machine noise over both)")
	variants := flag.String("variants", "invalid,help,get", "comma-separated: invalid (immediate refusal, no background work), help (private reply in the background), get (unlinked user: policy, token lookup, private reply)")
	bareFlush := flag.Bool("bare-flush", false, "the bare handler also flushes before returning, as the bot does (the ack goes out chunked, in two writes): shows what that costs")
	driver := flag.String("driver", "sqlite", "the bot's store: sqlite (a file in a temp dir) or postgres (-dsn, an empty database the bot migrates)")
	dsn := flag.String("dsn", "", "with -driver postgres: the database")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run (clients, bot and bare server share the process) to this file")
	flag.Parse()
	if *n < *rounds || *c < 1 || *rounds < 1 || *warmup < 0 {
		fmt.Fprintln(os.Stderr, "ack: need -n >= -rounds >= 1, -c >= 1, -warmup >= 0")
		return 2
	}
	var vs []variant
	for _, name := range strings.Split(*variants, ",") {
		v, ok := variantsByName[strings.TrimSpace(name)]
		if !ok {
			fmt.Fprintf(os.Stderr, "ack: unknown variant %q (want invalid, help or get)\n", name)
			return 2
		}
		vs = append(vs, v)
	}
	if *cpuprofile != "" {
		stop, err := startProfile(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "ack:", err)
			return 1
		}
		defer stop()
	}
	if *driver == "postgres" && *dsn == "" {
		fmt.Fprintln(os.Stderr, "ack: -driver postgres needs -dsn")
		return 2
	}
	if *driver == "sqlite" {
		*dsn = ""
	}
	if err := run(context.Background(), store{*driver, *dsn}, *n, *c, *warmup, *rounds, *bareFlush, vs); err != nil {
		fmt.Fprintln(os.Stderr, "ack:", err)
		return 1
	}
	return 0
}

// variant is the slash command text sent, and who sends it where.
type variant struct {
	name, user, channel, text, why string
	// ack is a phrase the bot's acknowledgement must hold; reply one its
	// private background reply must hold ("" when there is none).
	ack, reply string
}

var variantsByName = map[string]variant{
	"invalid": {"invalid", demo.Alice, demo.ChanPrivate, "get not-an-action-id",
		"refused by the grammar in the handler: the ack carries the error, no background work, no API call",
		"That did not work", ""},
	"help": {"help", demo.Alice, demo.ChanPrivate, "help",
		"empty ack; the usage goes out privately (chat.postEphemeral) in the background",
		"", "Defender investigation packages"},
	"get": {"get", demo.Carol, demo.ChanPrivate, "get 7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6b01",
		"ack names the action; background: policy, the (unlinked) user's token lookup in SQLite, a private \"not linked\" reply",
		"7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6b01", "not linked"},
}

// store is the bot's database: demo's SQLite file when dsn is empty.
type store struct{ driver, dsn string }

func run(ctx context.Context, db store, n, conc, warmup, rounds int, bareFlush bool, vs []variant) error {
	fmt.Printf("command: go run ./bench/ack %s\n", strings.Join(os.Args[1:], " "))
	fmt.Printf("machine: %d CPUs (GOMAXPROCS %d), %s, %s/%s\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	e, err := demo.Start(ctx, demo.Options{
		Driver: db.driver, DSN: db.dsn,
		Log: io.Discard, // the real slog handler formats every line, as in production
		Tune: func(c *config.Config) {
			c.Log.Level, c.Log.Format = "info", "json"
			// One user sends every get: the per-user bound on requests not
			// yet ended (policy.max_pending_per_user) would refuse most of
			// them in the ack, which is not the path measured here.
			c.Policy.MaxPendingPerUser = 1 << 20
		},
	})
	if err != nil {
		return fmt.Errorf("starting the bot: %w", err)
	}
	defer e.Close()
	bare, err := startBare(e.Config.Slack.SigningSecret, bareFlush)
	if err != nil {
		return err
	}
	defer bare.Close()

	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: conc * 2, MaxIdleConnsPerHost: conc, IdleConnTimeout: time.Minute,
	}}
	targets := []*target{
		{name: bare.name, url: bare.url + "/slack/commands"},
		{name: "mdebot", url: e.BaseURL + "/slack/commands", bot: true},
	}
	fmt.Printf("requests: %d measured per target per variant in %d alternating rounds, %d warm-up, %d concurrent keep-alive clients\n\n", n, rounds, warmup, conc)

	var results []result
	for _, v := range vs {
		fmt.Printf("variant %s: %q as %s in #%s: %s\n", v.name, v.text, v.user, demo.ChannelName(v.channel), v.why)
		load := &loader{e: e, client: client, v: v, conc: conc}
		mark := e.Mark()
		for _, t := range targets {
			if _, err := load.fire(ctx, t, warmup); err != nil {
				return fmt.Errorf("warm-up %s: %w", t.name, err)
			}
		}
		if _, err := settle(ctx, e); err != nil {
			return err
		}
		lat := map[*target][]time.Duration{}
		busy := map[*target]time.Duration{}
		cpu := map[*target]time.Duration{}
		for r := range rounds {
			per := n / rounds
			if r == rounds-1 {
				per = n - per*(rounds-1)
			}
			for _, t := range targets {
				start, cpu0 := time.Now(), processCPU()
				got, err := load.fire(ctx, t, per)
				if err != nil {
					return fmt.Errorf("%s round %d: %w", t.name, r+1, err)
				}
				busy[t] += time.Since(start)
				lat[t] = append(lat[t], got...)
				// The bot's background replies must not eat into the next
				// measurement; their CPU counts for this one.
				cpu1, err := settle(ctx, e)
				if err != nil {
					return err
				}
				cpu[t] += cpu1 - cpu0
			}
		}
		for _, t := range targets {
			results = append(results, summarize(v.name, t.name, lat[t], busy[t], cpu[t]))
		}
		if v.reply != "" {
			// The work behind the acks really ran: one private reply per command to the bot.
			got, want := replies(e, mark, v), warmup+n
			fmt.Printf("  background replies received: %d of %d\n", got, want)
			if got != want {
				return fmt.Errorf("variant %s: %d background replies for %d commands", v.name, got, want)
			}
		}
	}
	fmt.Println()
	report(results)
	return nil
}

type target struct {
	name, url string
	bot       bool // the bot's acks are checked for their content
}

// replies counts the private replies of variant v after mark.
func replies(e *demo.Env, mark int, v variant) int {
	n := 0
	for _, ev := range e.Slack.Events()[mark:] {
		if ev.Kind == slackfake.EventEphemeral && ev.Message.User == v.user && strings.Contains(ev.Message.Text, v.reply) {
			n++
		}
	}
	return n
}

// settle waits until the bot's background work is done: no new Slack event
// for half a second (every reply of the help and get variants is one). It
// returns the process CPU time when the last event came, so the idle wait
// itself is not counted.
func settle(ctx context.Context, e *demo.Env) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	last, since, cpu := e.Mark(), time.Now(), processCPU()
	for time.Since(since) < 500*time.Millisecond {
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("bot background work did not settle: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
		if m := e.Mark(); m != last {
			last, since, cpu = m, time.Now(), processCPU()
		}
	}
	return cpu, nil
}

// loader fires signed slash commands of one variant.
type loader struct {
	e      *demo.Env
	client *http.Client
	v      variant
	conc   int
	seq    atomic.Int64
}

// fire sends count requests to t from l.conc clients and returns each
// request's latency: from the request going out to the ack's last byte.
func (l *loader) fire(ctx context.Context, t *target, count int) ([]time.Duration, error) {
	lat := make([]time.Duration, count)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, l.conc)
	for range l.conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= count {
					return
				}
				d, err := l.one(ctx, t)
				if err != nil {
					errs <- err
					return
				}
				lat[i] = d
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return lat, nil
}

// one sends one signed command; the form is built and signed before the clock starts.
func (l *loader) one(ctx context.Context, t *target) (time.Duration, error) {
	p, _ := demo.PersonByID(l.v.user)
	form := slackfake.CommandForm(slackfake.CommandParams{
		TeamID: l.e.Slack.TeamID(), ChannelID: l.v.channel, ChannelName: demo.ChannelName(l.v.channel),
		UserID: l.v.user, UserName: p.Name, Command: l.e.Config.Slack.Command, Text: l.v.text,
		ResponseURL: l.e.Slack.ResponseURL(fmt.Sprintf("%s-ack-%d", l.v.user, l.seq.Add(1))),
	})
	req, err := slackfake.SignedRequest(ctx, t.url, l.e.Config.Slack.SigningSecret, []byte(form.Encode()), time.Now())
	if err != nil {
		return 0, err
	}
	start := time.Now()
	resp, err := l.client.Do(req)
	if err != nil {
		return 0, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s answered %d: %s", t.name, resp.StatusCode, body)
	}
	if t.bot && !bytes.Contains(body, []byte(l.v.ack)) {
		return 0, fmt.Errorf("%s ack lacks %q: %s", t.name, l.v.ack, body)
	}
	return d, nil
}

// bareServer is the baseline: a plain net/http server that verifies the
// signature and answers 200, nothing else.
type bareServer struct {
	name, url string
	srv       *http.Server
}

func startBare(secret string, flush bool) (*bareServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /slack/commands", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		if err := verify(r.Header, body, secret, time.Now()); err != nil {
			http.Error(w, "invalid request signature", http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
		if flush {
			_ = http.NewResponseController(w).Flush()
		}
	})
	// The bot's own server settings (app.New), so only the handler differs.
	s := &bareServer{name: "bare HMAC handler", url: "http://" + ln.Addr().String(), srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
	if flush {
		s.name += " + flush"
	}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "bare server:", err)
		}
	}()
	return s, nil
}

func (s *bareServer) Close() { _ = s.srv.Close() }

// summarize turns latencies into the table's row.
func summarize(variant, target string, lat []time.Duration, busy, cpu time.Duration) result {
	slices.Sort(lat)
	return result{
		variant: variant, target: target, n: len(lat),
		p50: quantile(lat, 0.50), p90: quantile(lat, 0.90), p99: quantile(lat, 0.99), max: lat[len(lat)-1],
		rate: float64(len(lat)) / busy.Seconds(), cpu: cpu / time.Duration(len(lat)),
	}
}

// quantile of sorted samples, nearest rank.
func quantile(sorted []time.Duration, q float64) time.Duration {
	i := int(float64(len(sorted))*q+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

type result struct {
	variant, target    string
	n                  int
	p50, p90, p99, max time.Duration
	rate               float64
	cpu                time.Duration // process CPU per request, background work included
}

func report(rs []result) {
	fmt.Println("| variant | target | requests | p50 | p90 | p99 | max | req/s | CPU µs/req |")
	fmt.Println("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, r := range rs {
		fmt.Printf("| %s | %s | %d | %s | %s | %s | %s | %.0f | %.0f |\n", r.variant, r.target, r.n, ms(r.p50), ms(r.p90), ms(r.p99), ms(r.max), r.rate, float64(r.cpu)/float64(time.Microsecond))
	}
	fmt.Println()
	for i := 0; i+1 < len(rs); i += 2 {
		bare, bot := rs[i], rs[i+1]
		ratio, cpuRatio := float64(bot.p99)/float64(bare.p99), float64(bot.cpu)/float64(bare.cpu)
		fmt.Printf("%s: p99 ratio mdebot/bare = %.2f× (p50 ratio %.2f×): %s (goal: p99 within %d×); CPU per request %.1f×: %s (goal: within %d×)\n",
			bot.variant, ratio, float64(bot.p50)/float64(bare.p50), met(ratio <= goalRatio), goalRatio,
			cpuRatio, met(cpuRatio <= goalCPURatio), goalCPURatio)
	}
}

func met(ok bool) string {
	if ok {
		return "goal met"
	}
	return "goal missed"
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
