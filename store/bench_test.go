package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/mdebot/mdebot/handlers"
	"github.com/mdebot/mdebot/mde"
	"github.com/mdebot/mdebot/store"
)

// benchDBs runs fn on a fresh SQLite and (when configured) PostgreSQL database.
func benchDBs(b *testing.B, fn func(b *testing.B, db *store.DB)) {
	b.Run("sqlite", func(b *testing.B) {
		fn(b, openDB(b, store.DriverSQLite, "file:"+filepath.Join(b.TempDir(), "bench.db")))
	})
	b.Run("postgres", func(b *testing.B) {
		fn(b, openDB(b, store.DriverPostgres, freshPostgres(b)))
	})
}

// BenchmarkLimiterTake: one Take with a queue of 20 waiting keys and a full
// minute (every Take is refused, the common case while a queue drains).
func BenchmarkLimiterTake(b *testing.B) {
	benchDBs(b, func(b *testing.B, db *store.DB) {
		ctx := context.Background()
		now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		lim := db.Limiter(mde.BudgetPackageURI, mde.Limits{PerMinute: 2, PerHour: 120}, func() time.Time { return now })
		for i := range 22 {
			if _, err := lim.Take(ctx, fmt.Sprintf("k%d", i), fmt.Sprintf("U%d", i%5)); err != nil {
				b.Fatal(err)
			}
		}
		b.ResetTimer()
		for i := 0; b.Loop(); i++ {
			if _, err := lim.Take(ctx, fmt.Sprintf("k%d", 2+i%20), fmt.Sprintf("U%d", (2+i%20)%5)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkUpdateRequest: one optimistic update of a request.
func BenchmarkUpdateRequest(b *testing.B) {
	benchDBs(b, func(b *testing.B, db *store.DB) {
		ctx := context.Background()
		r := fullRequest("bench")
		if err := db.CreateRequest(ctx, r); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			r.Polls++
			if err := db.UpdateRequest(ctx, r, handlers.Cond{State: r.State}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkClaimReady: claiming the 5 ready requests of one action among 1,000 requests.
func BenchmarkClaimReady(b *testing.B) {
	benchDBs(b, func(b *testing.B, db *store.DB) {
		ctx := context.Background()
		for i := range 1000 {
			r := newRequest(fmt.Sprintf("r%04d", i), fmt.Sprintf("act-%d", i/5), handlers.StateReady, t0)
			if err := db.CreateRequest(ctx, r); err != nil {
				b.Fatal(err)
			}
		}
		now := t0
		for i := 0; b.Loop(); i++ {
			// Leases of 1 ms: each round reclaims the action's expired leases.
			now = now.Add(time.Second)
			got, err := db.ClaimReady(ctx, "act-7", "w", now.Add(time.Millisecond), now)
			if err != nil || len(got) != 5 {
				b.Fatalf("claimed %d, %v", len(got), err)
			}
		}
	})
}
