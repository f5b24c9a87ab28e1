package triage_test

import (
	"strings"
	"testing"

	"github.com/mdebot/mdebot/mde/mdetest"
	"github.com/mdebot/mdebot/triage"
)

// TestSearchRealistic finds the facts' needles: in the UTF-16LE netstat
// output, in the UTF-8 CSVs and in the Windows-1252 schtasks CSV.
func TestSearchRealistic(t *testing.T) {
	f, size := packageFile(t, "", mdetest.PackageRealistic, 128<<10)
	facts := mdetest.RealisticFacts()
	for _, n := range facts.Needles {
		t.Run(n.Term, func(t *testing.T) {
			res, err := triage.Search(t.Context(), f, size, n.Term, 20, triage.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Total != n.Total || len(res.Matches) != n.Total {
				t.Fatalf("total %d, %d matches; want %d", res.Total, len(res.Matches), n.Total)
			}
			first := res.Matches[0]
			if first.Path != n.Path || first.Line != n.Line {
				t.Errorf("first match %s:%d, want %s:%d", first.Path, first.Line, n.Path, n.Line)
			}
			for i, m := range res.Matches {
				if !strings.Contains(strings.ToLower(m.Text), strings.ToLower(n.Term)) {
					t.Errorf("match %v does not hold %q", m, n.Term)
				}
				if i > 0 && (m.Path < res.Matches[i-1].Path || m.Path == res.Matches[i-1].Path && m.Line <= res.Matches[i-1].Line) {
					t.Errorf("matches out of order: %v after %v", m, res.Matches[i-1])
				}
			}
			// The binary files: 6 prefetch files, the evtx, the cab.
			if res.Binary != facts.PrefetchFiles+2 || len(res.Unread) != 0 {
				t.Errorf("binary %d, unread %q", res.Binary, res.Unread)
			}
			one, err := triage.Search(t.Context(), f, size, n.Term, 1, triage.Limits{})
			if err != nil || len(one.Matches) != 1 || one.Total != n.Total || one.Matches[0] != first {
				t.Errorf("max 1: %+v, %v", one, err)
			}
		})
	}
	res, err := triage.Search(t.Context(), f, size, "no such text anywhere", 20, triage.Limits{})
	if err != nil || res.Total != 0 || len(res.Matches) != 0 || res.Files == 0 {
		t.Errorf("absent term: %+v, %v", res, err)
	}
}

func TestMatchString(t *testing.T) {
	m := triage.Match{Path: "Network connections/ActiveNetConnections.txt", Line: 30, Text: "TCP 1.2.3.4:443 ESTABLISHED"}
	if got := m.String(); got != "Network connections/ActiveNetConnections.txt:30: TCP 1.2.3.4:443 ESTABLISHED" {
		t.Fatal(got)
	}
}

func TestValidateTerm(t *testing.T) {
	for _, tt := range []struct {
		term, err string
	}{
		{"ab", ""},
		{"185.199.108.153", ""},
		{"zoë", ""},
		{strings.Repeat("é", 200), ""},
		{"", "at least 2 characters"},
		{"a", "at least 2 characters"},
		{"é", "at least 2 characters"},
		{strings.Repeat("a", 201), "at most 200 characters long (it has 201)"},
		{"a\tb", "must not contain control characters (it has U+0009)"},
		{"ab\n", "must not contain control characters (it has U+000A)"},
		{"a\u0085b", "control characters (it has U+0085)"},
		{"   ", "must not be only spaces"},
		{"a\xffb", "not valid UTF-8"},
	} {
		err := triage.ValidateTerm(tt.term)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("ValidateTerm(%q) = %v", tt.term, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("ValidateTerm(%q) = %v, want %q", tt.term, err, tt.err)
		}
		if tt.err != "" {
			// Refused before anything is read: there is no package here.
			if _, serr := triage.Search(t.Context(), nil, 0, tt.term, 20, triage.Limits{}); serr == nil || serr.Error() != err.Error() {
				t.Errorf("Search(%q) = %v, want the term's error", tt.term, serr)
			}
		}
	}
}
