package mdetest

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mdebot/mdebot/mde"
)

func filterPath(filter string) string {
	return "/api/machineactions?$filter=" + strings.ReplaceAll(url.QueryEscape(filter), "+", "%20")
}

type actionList struct {
	Value []mde.MachineAction `json:"value"`
}

func (l actionList) ids() []string {
	var out []string
	for _, a := range l.Value {
		out = append(out, a.ID+":"+a.Status)
	}
	return out
}

func TestIDFilters(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	script := []Step{{mde.StatusPending, 1}, {mde.StatusSucceeded, 0}}
	s.AddAction(mde.MachineAction{ID: "a"}, script...)
	s.AddAction(mde.MachineAction{ID: "b"}, script...)
	s.AddAction(mde.MachineAction{ID: "c"}, script...)

	tests := []struct {
		filter string
		want   []string
	}{
		// By id: each returned action counts as polled and moves on.
		{"id eq 'a' or id eq 'b'", []string{"a:Pending", "b:Pending"}},
		{"id eq 'a' or id eq 'b' or id eq 'zz'", []string{"a:Succeeded", "b:Succeeded"}},
		// Naming another property is a search, not a poll: c stays Pending.
		{"status eq 'Pending'", []string{"c:Pending"}},
		{"status eq 'Pending' and id eq 'c'", []string{"c:Pending"}},
		{"id eq 'c'", []string{"c:Pending"}},
		{"(id eq 'c')", []string{"c:Succeeded"}},
	}
	for _, tt := range tests {
		var l actionList
		if resp := call(t, s, "GET", filterPath(tt.filter), "tok", "", &l); resp.StatusCode != 200 || !slices.Equal(l.ids(), tt.want) {
			t.Fatalf("%s: %d %v, want %v", tt.filter, resp.StatusCode, l.ids(), tt.want)
		}
	}
}

func TestRefuseIDFilters(t *testing.T) {
	s := New(Options{RefuseIDFilters: true})
	defer s.Close()
	s.AddAction(mde.MachineAction{ID: "a", Status: mde.StatusPending})
	for _, f := range []string{"id eq 'a'", "status eq 'Pending' and id eq 'a'", "(id eq 'a' or id eq 'b')"} {
		var eb errBody
		if resp := call(t, s, "GET", filterPath(f), "tok", "", &eb); resp.StatusCode != 400 || !strings.Contains(eb.Error.Message, "id") {
			t.Fatalf("%s: %d %+v, want 400", f, resp.StatusCode, eb)
		}
	}
	var l actionList
	if resp := call(t, s, "GET", filterPath("status eq 'Pending'"), "tok", "", &l); resp.StatusCode != 200 || len(l.Value) != 1 {
		t.Fatalf("status filter: %d %v", resp.StatusCode, l.ids())
	}
	if resp := call(t, s, "GET", "/api/machineactions/a", "tok", "", nil); resp.StatusCode != 200 {
		t.Fatalf("GET by id: %d", resp.StatusCode)
	}
}

func TestQueryLength(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	var clauses []string
	for i := 0; len(filterPath(strings.Join(clauses, " or "))) <= len("/api/machineactions?")+2048; i++ {
		clauses = append(clauses, fmt.Sprintf("id eq '%040x'", i))
	}
	long := filterPath(strings.Join(clauses, " or "))
	fits := filterPath(strings.Join(clauses[:len(clauses)-1], " or "))
	var eb errBody
	if resp := call(t, s, "GET", long, "tok", "", &eb); resp.StatusCode != 414 || !strings.Contains(eb.Error.Message, "at most 2048") {
		t.Fatalf("%d bytes of query: %d %+v", len(long)-len("/api/machineactions?"), resp.StatusCode, eb)
	}
	if resp := call(t, s, "GET", fits, "tok", "", nil); resp.StatusCode != 200 {
		t.Fatalf("%d bytes of query: %d", len(fits)-len("/api/machineactions?"), resp.StatusCode)
	}
}

// The list endpoint has the 100/min, 1500/h budget of the other API endpoints.
func TestListActionsLimits(t *testing.T) {
	clk := newClock()
	s := New(Options{Now: clk.Now})
	defer s.Close()
	if s.opts.APILimits != (mde.Limits{PerMinute: 100, PerHour: 1500}) {
		t.Fatalf("default API limits %+v", s.opts.APILimits)
	}
	for i := range 101 {
		resp := call(t, s, "GET", filterPath("id eq 'a'"), "tok", "", nil)
		if want := map[bool]int{true: 200, false: 429}[i < 100]; resp.StatusCode != want {
			t.Fatalf("call %d: %d, want %d", i, resp.StatusCode, want)
		}
	}
	// The hour window, with a small budget to keep the test short.
	s = New(Options{Now: clk.Now, APILimits: mde.Limits{PerMinute: 100, PerHour: 5}})
	defer s.Close()
	for i := range 6 {
		resp := call(t, s, "GET", filterPath("id eq 'a'"), "tok", "", nil)
		if want := map[bool]int{true: 200, false: 429}[i < 5]; resp.StatusCode != want {
			t.Fatalf("hourly call %d: %d, want %d", i, resp.StatusCode, want)
		}
		if i == 5 && resp.Header.Get("Retry-After") != "3300" { // at 5m; the first leaves at 60m
			t.Fatalf("Retry-After %q, want 3300", resp.Header.Get("Retry-After"))
		}
		clk.Add(time.Minute)
	}
}
