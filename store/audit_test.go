package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mdebot/mdebot/handlers"
	"github.com/mdebot/mdebot/store"
)

func TestListAuditSince(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
		full := handlers.AuditEvent{At: at(1), RequestID: "r1", Team: "T1", Channel: "C1", Actor: "U1",
			Event: "delivery.upload", Outcome: "ok", ActionID: "act", MachineID: "m", SHA256: "abc",
			Bytes: 1234, Detail: "uploaded pkg.zip"}
		// Appended out of time order: listing sorts by At.
		for _, e := range []handlers.AuditEvent{
			{At: at(2), Event: "request.delivered"},
			full,
			{At: at(0), Event: "request.created"},
			{At: at(1), Event: "approval.approved"},
		} {
			if err := db.AppendAudit(ctx, e); err != nil {
				t.Fatalf("AppendAudit(%s): %v", e.Event, err)
			}
		}
		tests := []struct {
			name  string
			since time.Time
			want  []string
		}{
			{"everything", time.Time{}, []string{"request.created", "delivery.upload", "approval.approved", "request.delivered"}},
			{"at since is included", at(1), []string{"delivery.upload", "approval.approved", "request.delivered"}},
			{"after the last", at(3), nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				es, err := db.ListAudit(ctx, tt.since)
				if err != nil {
					t.Fatalf("ListAudit: %v", err)
				}
				var got []string
				for _, e := range es {
					got = append(got, e.Event)
				}
				if len(got) != len(tt.want) {
					t.Fatalf("ListAudit(%v) = %v, want %v", tt.since, got, tt.want)
				}
				for i := range got {
					if got[i] != tt.want[i] {
						t.Fatalf("ListAudit(%v) = %v, want %v", tt.since, got, tt.want)
					}
				}
			})
		}

		es, _ := db.ListAudit(ctx, time.Time{})
		ids := map[int64]bool{}
		for _, e := range es {
			if e.ID <= 0 || ids[e.ID] {
				t.Errorf("event %s has ID %d (want positive and unique)", e.Event, e.ID)
			}
			ids[e.ID] = true
			if e.At.Location() != time.UTC {
				t.Errorf("event %s At %v not UTC", e.Event, e.At)
			}
		}
		got := es[1]
		want := full
		want.ID, want.At = got.ID, time.UnixMilli(full.At.UnixMilli()).UTC()
		if got != want {
			t.Errorf("event round trip:\n got %+v\nwant %+v", got, want)
		}
		if err := db.AppendAudit(ctx, handlers.AuditEvent{At: t0}); err == nil {
			t.Error("AppendAudit without Event succeeded")
		}
	})
}

func TestAuditURLQueryRedacted(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := handlers.AuditEvent{At: t0, Event: "delivery.link",
			Outcome: "failed: GET https://h.example/p.zip?sig=SECRET1",
			Detail:  "link https://h.example/p.zip?sv=1&sig=SECRET2 and http://127.0.0.1:9/x?token=SECRET3#frag"}
		if err := db.AppendAudit(ctx, e); err != nil {
			t.Fatalf("AppendAudit: %v", err)
		}
		es, err := db.ListAudit(ctx, time.Time{})
		if err != nil || len(es) != 1 {
			t.Fatalf("ListAudit = %v, %v", es, err)
		}
		if want := "failed: GET https://h.example/p.zip?REDACTED"; es[0].Outcome != want {
			t.Errorf("Outcome = %q, want %q", es[0].Outcome, want)
		}
		if want := "link https://h.example/p.zip?REDACTED and http://127.0.0.1:9/x?REDACTED#frag"; es[0].Detail != want {
			t.Errorf("Detail = %q, want %q", es[0].Detail, want)
		}
	})
}

// EachAudit walks a window larger than one page, with many events sharing a
// millisecond across page boundaries, in (At, ID) order, each exactly once;
// an error from the callback stops the walk.
func TestEachAuditPages(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		const n = 2600
		// All in one millisecond: the keyset must order by ID within one At.
		insertAuditSeries(t, db, t0, n, 0)
		insertAuditSeries(t, db, t0.Add(-time.Hour), 3, 0) // before since
		var got []handlers.AuditEvent
		err := db.EachAudit(ctx, t0.Add(-time.Minute), func(e handlers.AuditEvent) error {
			got = append(got, e)
			return nil
		})
		if err != nil {
			t.Fatalf("EachAudit: %v", err)
		}
		if len(got) != n {
			t.Fatalf("EachAudit gave %d events, want %d", len(got), n)
		}
		for i := 1; i < len(got); i++ {
			if got[i].ID <= got[i-1].ID {
				t.Fatalf("event %d (ID %d) after ID %d: not in (At, ID) order or repeated", i, got[i].ID, got[i-1].ID)
			}
		}
		stop := errors.New("enough")
		calls := 0
		err = db.EachAudit(ctx, time.Time{}, func(handlers.AuditEvent) error {
			calls++
			if calls == 1500 {
				return stop
			}
			return nil
		})
		if !errors.Is(err, stop) || calls != 1500 {
			t.Errorf("EachAudit after the callback failed: %v after %d calls, want the callback's error after 1500", err, calls)
		}
	})
}
