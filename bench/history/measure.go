package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/mdebot/mdebot/handlers"
	"github.com/mdebot/mdebot/store"
)

// op is one frequent operation, as the bot (or the audit export) does it.
type op struct {
	name string
	run  func(ctx context.Context, db *store.DB) error
}

func operations(ws *working, now time.Time) []op {
	var active []handlers.State
	for _, s := range handlers.States {
		if !s.Terminal() {
			active = append(active, s)
		}
	}
	cards := map[*store.DB]*handlers.Request{}
	return []op{
		{"sweep: ListRequests(active) + ListUntold", func(ctx context.Context, db *store.DB) error {
			rs, err := db.ListRequests(ctx, active...)
			if err != nil {
				return err
			}
			untold, err := db.ListUntold(ctx)
			if err != nil {
				return err
			}
			return expect("sweep", len(rs)+len(untold), ws.active+ws.untold)
		}},
		{"status card: UpdateRequest + Decisions", func(ctx context.Context, db *store.DB) error {
			r := cards[db]
			if r == nil {
				var err error
				if r, err = db.GetRequest(ctx, ws.card); err != nil {
					return err
				}
				cards[db] = r
			}
			r.Polls++
			r.UpdatedAt = time.Now()
			if err := db.UpdateRequest(ctx, r, handlers.Cond{State: r.State}); err != nil {
				return err
			}
			ds, err := db.Decisions(ctx, r.ID)
			if err != nil {
				return err
			}
			return expect("decisions", len(ds), 2)
		}},
		{"audit --since 1h (EachAudit, JSON)", func(ctx context.Context, db *store.DB) error {
			enc, n := json.NewEncoder(io.Discard), 0
			err := db.EachAudit(ctx, now.Add(-time.Hour), func(e handlers.AuditEvent) error { n++; return enc.Encode(e) })
			if err != nil {
				return err
			}
			return expect("audit events", n, ws.hourEvents)
		}},
		{"App Home: RecentRequests(user, 10)", func(ctx context.Context, db *store.DB) error {
			rs, err := db.RecentRequests(ctx, team, targetUser, 10)
			if err != nil {
				return err
			}
			return expect("recent", len(rs), 10)
		}},
		{"CountPending(user)", func(ctx context.Context, db *store.DB) error {
			n, err := db.CountPending(ctx, team, targetUser)
			if err != nil {
				return err
			}
			return expect("pending", n, ws.pending)
		}},
		{"retention, nothing due: PurgeRequests + PurgeAudit", func(ctx context.Context, db *store.DB) error {
			before := now.Add(-historySpan - 72*time.Hour)
			if n, err := db.PurgeRequests(ctx, before); err != nil || n != 0 {
				return fmt.Errorf("purge requests: %d, %v", n, err)
			}
			if n, err := db.PurgeAudit(ctx, before); err != nil || n != 0 {
				return fmt.Errorf("purge audit: %d, %v", n, err)
			}
			return nil
		}},
	}
}

// expect fails when an operation did not see the working set: the timing
// would not be of the operation meant.
func expect(what string, got, want int) error {
	if got != want {
		return fmt.Errorf("%s: got %d rows, want %d", what, got, want)
	}
	return nil
}

type result struct {
	name        string
	empty, full time.Duration
}

// measure warms up, then runs every operation runs times on each store,
// alternating which store goes first, and keeps the medians.
func measure(ctx context.Context, empty, full *store.DB, ops []op, runs int) ([]result, error) {
	var out []result
	for _, o := range ops {
		for range 5 {
			for _, db := range []*store.DB{empty, full} {
				if err := o.run(ctx, db); err != nil {
					return nil, fmt.Errorf("%s: %w", o.name, err)
				}
			}
		}
		times := map[*store.DB][]time.Duration{}
		for i := range runs {
			order := []*store.DB{empty, full}
			if i%2 == 1 {
				order[0], order[1] = full, empty
			}
			for _, db := range order {
				start := time.Now()
				if err := o.run(ctx, db); err != nil {
					return nil, fmt.Errorf("%s: %w", o.name, err)
				}
				times[db] = append(times[db], time.Since(start))
			}
		}
		out = append(out, result{o.name, median(times[empty]), median(times[full])})
	}
	return out, nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func printTable(res []result, runs int) {
	fmt.Printf("\nmedian of %d runs each\n\n", runs)
	fmt.Println("| operation | empty store | full store | ratio | within 2× |")
	fmt.Println("| --- | ---: | ---: | ---: | :---: |")
	for _, r := range res {
		ratio := float64(r.full) / float64(r.empty)
		ok := "yes"
		if ratio > 2 {
			ok = "**no**"
		}
		fmt.Printf("| %s | %s | %s | %.2f | %s |\n", r.name, us(r.empty), us(r.full), ratio, ok)
	}
}

func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d.Nanoseconds())/1e3) }

// timePurge times retention's first run on the full store: every history
// request (with its decisions) and every audit event older than an hour.
func timePurge(ctx context.Context, db *store.DB, now time.Time) error {
	start := time.Now()
	nr, err := db.PurgeRequests(ctx, now.Add(-24*time.Hour))
	if err != nil {
		return err
	}
	tr := time.Since(start)
	start = time.Now()
	na, err := db.PurgeAudit(ctx, now.Add(-time.Hour))
	if err != nil {
		return err
	}
	fmt.Printf("\nfirst purge of the full store: %d requests (with decisions) in %.1f s, %d audit events in %.1f s\n",
		nr, tr.Seconds(), na, time.Since(start).Seconds())
	return nil
}
