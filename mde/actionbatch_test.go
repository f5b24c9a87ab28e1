package mde_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mdebot/mdebot/mde"
	"github.com/mdebot/mdebot/mde/mdetest"
)

// guid is the i-th of a run of GUID action ids.
func guid(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012x", i) }

// hex40 is the i-th of a run of 40-hex action ids.
func hex40(i int) string { return fmt.Sprintf("%040x", i) }

// filterIDs returns the ids an id filter names, checking its shape.
func filterIDs(t *testing.T, rawQuery string) []string {
	t.Helper()
	q, err := url.ParseQuery(rawQuery)
	if err != nil || strings.Contains(rawQuery, "+") {
		t.Fatalf("raw query %q (%v)", rawQuery, err)
	}
	var ids []string
	for _, clause := range strings.Split(q.Get("$filter"), " or ") {
		rest, isID := strings.CutPrefix(clause, "id eq '")
		id, quoted := strings.CutSuffix(rest, "'")
		if !isID || !quoted {
			t.Fatalf("clause %q of filter %q", clause, q.Get("$filter"))
		}
		ids = append(ids, id)
	}
	return ids
}

func TestListMachineActionsByID(t *testing.T) {
	tests := []struct {
		name  string
		id    func(int) string
		n     int
		calls int // list calls: 34 GUIDs or 32 40-hex ids fit in 2048 bytes of query (one unknown id is added)
	}{
		{"one", guid, 1, 1},
		{"guids", guid, 120, 4},
		{"40-hex", hex40, 100, 4},
		{"exactly one call of guids", guid, 33, 1},
		{"one more", guid, 34, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, mdetest.Options{}, mde.Options{})
			var ask []string
			for i := range tt.n {
				id := tt.id(i)
				f.fake.AddAction(mde.MachineAction{ID: id, Status: mde.StatusInProgress, MachineID: machineID})
				ask = append(ask, id)
			}
			f.fake.AddAction(mde.MachineAction{ID: tt.id(tt.n + 1), Status: mde.StatusPending}) // not asked for
			unknown := tt.id(tt.n + 2)
			ask = append(ask, unknown, ask[0], strings.ToUpper(ask[len(ask)-1])) // an unknown id and duplicates

			got, err := f.c.ListMachineActionsByID(t.Context(), alice, ask)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.n {
				t.Fatalf("%d actions, want %d", len(got), tt.n)
			}
			for _, id := range ask[:tt.n] {
				if a, ok := got[id]; !ok || a.ID != id || a.Status != mde.StatusInProgress {
					t.Fatalf("action %s: %+v (found %v)", id, a, ok)
				}
			}
			if _, ok := got[unknown]; ok {
				t.Fatal("an unknown id is in the answer")
			}
			reqs := f.fake.Requests()
			if len(reqs) != tt.calls {
				t.Fatalf("%d requests, want %d", len(reqs), tt.calls)
			}
			seen := map[string]int{}
			for _, r := range reqs {
				ids := filterIDs(t, r.RawQuery)
				if r.Path != "/api/machineactions" || r.Status != 200 || len(r.RawQuery) > mde.MaxFilterQuery || len(ids) > mde.MaxIDsPerFilter {
					t.Fatalf("request %s?%s (%d bytes, %d ids): status %d", r.Path, r.RawQuery, len(r.RawQuery), len(ids), r.Status)
				}
				for _, id := range ids {
					seen[strings.ToLower(id)]++
				}
			}
			if len(seen) != tt.n+1 {
				t.Fatalf("filters named %d distinct ids, want %d", len(seen), tt.n+1)
			}
			for id, n := range seen {
				if n != 1 {
					t.Fatalf("id %s asked %d times", id, n)
				}
			}
		})
	}
}

// Polling by filter moves scripted actions on, as GETs of them do.
func TestListMachineActionsByIDPolls(t *testing.T) {
	f := newFixture(t, mdetest.Options{}, mde.Options{})
	script := []mdetest.Step{{Status: mde.StatusPending, Polls: 1}, {Status: mde.StatusInProgress, Polls: 1}, {Status: mde.StatusSucceeded}}
	a := f.fake.AddAction(mde.MachineAction{ID: guid(1)}, script...)
	b := f.fake.AddAction(mde.MachineAction{ID: guid(2)}, script[1:]...)
	var got []string
	for range 3 {
		m, err := f.c.ListMachineActionsByID(t.Context(), alice, []string{a, b})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, m[a].Status+"/"+m[b].Status)
	}
	want := []string{"Pending/InProgress", "InProgress/Succeeded", "Succeeded/Succeeded"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("statuses %v, want %v", got, want)
	}
}

// A 400 to the filter: per-id GETs, for this call and every later one.
func TestListMachineActionsByIDFallback(t *testing.T) {
	f := newFixture(t, mdetest.Options{RefuseIDFilters: true}, mde.Options{})
	ids := []string{guid(1), guid(2), guid(3)}
	for _, id := range ids[:2] {
		f.fake.AddAction(mde.MachineAction{ID: id, Status: mde.StatusSucceeded})
	}
	for round, wantList := range []int{1, 0} {
		before := len(f.fake.Requests())
		got, err := f.c.ListMachineActionsByID(t.Context(), alice, ids)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[ids[0]].ID != ids[0] || got[ids[1]].ID != ids[1] {
			t.Fatalf("round %d: %+v", round, got)
		}
		var list, gets int
		for _, r := range f.fake.Requests()[before:] {
			switch {
			case r.Path == "/api/machineactions" && r.Status == 400:
				list++
			case strings.HasPrefix(r.Path, "/api/machineactions/"):
				gets++
			default:
				t.Fatalf("round %d: unexpected request %+v", round, r)
			}
		}
		if list != wantList || gets != 3 {
			t.Fatalf("round %d: %d refused filters and %d GETs, want %d and 3", round, list, gets, wantList)
		}
	}
}

func TestListMachineActionsByIDErrors(t *testing.T) {
	t.Run("invalid ids make no request", func(t *testing.T) {
		f := newFixture(t, mdetest.Options{}, mde.Options{})
		for _, bad := range [][]string{
			{guid(1), "x' or id ne 'y"},
			{"7f1b8b1e-2d6f-4b8a-9a3c-0c1d2e3f4a5b) or (1 eq 1"},
			{""},
			{guid(1), "../machines"},
		} {
			got, err := f.c.ListMachineActionsByID(t.Context(), alice, bad)
			var me *mde.Error
			if !errors.As(err, &me) || me.Kind != mde.KindInvalidInput || me.Endpoint != "listMachineActions" || got != nil {
				t.Fatalf("%q: %v, %v; want KindInvalidInput", bad, got, err)
			}
		}
		if got, err := f.c.ListMachineActionsByID(t.Context(), alice, nil); err != nil || len(got) != 0 {
			t.Fatalf("no ids: %v, %v", got, err)
		}
		if n := len(f.fake.Requests()); n != 0 {
			t.Fatalf("fake saw %d requests, want 0", n)
		}
	})
	t.Run("a failing chunk keeps what came before", func(t *testing.T) {
		var lists atomic.Int32
		f := newFixture(t, mdetest.Options{Authorize: func(_, _, path string) int {
			if path == "/api/machineactions" && lists.Add(1) == 2 {
				return http.StatusForbidden
			}
			return 0
		}}, mde.Options{})
		var ids []string
		for i := range 40 {
			ids = append(ids, f.fake.AddAction(mde.MachineAction{ID: guid(i), Status: mde.StatusPending}))
		}
		got, err := f.c.ListMachineActionsByID(t.Context(), alice, ids)
		var me *mde.Error
		if !errors.As(err, &me) || me.Kind != mde.KindForbidden || len(got) != 34 {
			t.Fatalf("%d actions, %v; want the first 34 and KindForbidden", len(got), err)
		}
	})
	t.Run("a query too long for the server is not a fallback", func(t *testing.T) {
		f := newFixture(t, mdetest.Options{MaxQueryLength: 200}, mde.Options{})
		_, err := f.c.ListMachineActionsByID(t.Context(), alice, []string{guid(1), guid(2), guid(3), guid(4)})
		var me *mde.Error
		if !errors.As(err, &me) || me.HTTPStatus != http.StatusRequestURITooLong {
			t.Fatalf("err = %v, want 414", err)
		}
	})
}
