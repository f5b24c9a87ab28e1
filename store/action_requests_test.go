package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/mdebot/mdebot/handlers"
	"github.com/mdebot/mdebot/store"
)

// ActionRequests lists one team's requests of one action in one state,
// newest first, at most n; other teams, actions and states stay out.
func TestActionRequests(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		old := newRequest("d-old", "act-1", handlers.StateDelivered, t0)
		mid := newRequest("d-mid", "act-1", handlers.StateDelivered, t0.Add(time.Minute))
		newest := newRequest("d-new", "act-1", handlers.StateDelivered, t0.Add(2*time.Minute))
		failed := newRequest("f-1", "act-1", handlers.StateFailed, t0.Add(3*time.Minute))
		other := newRequest("d-other", "act-2", handlers.StateDelivered, t0.Add(4*time.Minute))
		team2 := newRequest("d-team2", "act-1", handlers.StateDelivered, t0.Add(5*time.Minute))
		team2.Team = "T02"
		mustCreate(t, db, mid, old, failed, newest, other, team2)
		tests := []struct {
			team, action string
			st           handlers.State
			n            int
			want         []string
		}{
			{"T01", "act-1", handlers.StateDelivered, 10, []string{"d-new", "d-mid", "d-old"}},
			{"T01", "act-1", handlers.StateDelivered, 2, []string{"d-new", "d-mid"}},
			{"T01", "act-1", handlers.StateFailed, 10, []string{"f-1"}},
			{"T02", "act-1", handlers.StateDelivered, 10, []string{"d-team2"}},
			{"T01", "act-3", handlers.StateDelivered, 10, nil},
		}
		for _, tt := range tests {
			got, err := db.ActionRequests(ctx, tt.team, tt.action, tt.st, tt.n)
			if err != nil {
				t.Fatalf("ActionRequests(%s, %s, %s, %d): %v", tt.team, tt.action, tt.st, tt.n, err)
			}
			var ids []string
			for _, r := range got {
				ids = append(ids, r.ID)
			}
			if len(ids) != len(tt.want) {
				t.Errorf("ActionRequests(%s, %s, %s, %d) = %v, want %v", tt.team, tt.action, tt.st, tt.n, ids, tt.want)
				continue
			}
			for i := range ids {
				if ids[i] != tt.want[i] {
					t.Errorf("ActionRequests(%s, %s, %s, %d) = %v, want %v", tt.team, tt.action, tt.st, tt.n, ids, tt.want)
					break
				}
			}
		}
		for _, bad := range []struct {
			team, action string
			n            int
		}{{"", "act-1", 1}, {"T01", "", 1}, {"T01", "act-1", 0}, {"T01", "act-1", 101}} {
			if _, err := db.ActionRequests(ctx, bad.team, bad.action, handlers.StateDelivered, bad.n); err == nil {
				t.Errorf("ActionRequests(%q, %q, %d) accepted", bad.team, bad.action, bad.n)
			}
		}
	})
}
