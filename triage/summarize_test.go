package triage_test

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mdebot/mdebot/mde/mdetest"
	"github.com/mdebot/mdebot/triage"
)

// packageFile writes a package of the fake Defender's kind into a file of
// dir (a new temp dir when "").
func packageFile(t testing.TB, dir string, kind mdetest.PackageKind, size int64) (*os.File, int64) {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	f, err := os.CreateTemp(dir, "package-*.zip")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if err := mdetest.WritePackage(f, kind, size); err != nil {
		t.Fatal(err)
	}
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return f, st.Size()
}

// TestSummarizeRealistic checks every fact of the fake's realistic package.
func TestSummarizeRealistic(t *testing.T) {
	f, size := packageFile(t, "", mdetest.PackageRealistic, 256<<10)
	sum, err := triage.Summarize(t.Context(), f, size, triage.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	facts := mdetest.RealisticFacts()

	folders := map[string]int{}
	files := 0
	for _, fo := range sum.Folders {
		folders[fo.Name] = fo.Files
		files += fo.Files
	}
	if !reflect.DeepEqual(folders, facts.Folders) || sum.Files != files || sum.FoldersMore != 0 {
		t.Errorf("folders %v (%d files), want %v", folders, sum.Files, facts.Folders)
	}

	// Exactly the ESTABLISHED remotes, IPv4 then IPv6, numerically.
	var got []string
	for _, r := range sum.Network.Established {
		got = append(got, r.Address)
		if r.Connections != facts.EstablishedConnections[r.Address] {
			t.Errorf("%s: %d connections, want %d", r.Address, r.Connections, facts.EstablishedConnections[r.Address])
		}
	}
	if !reflect.DeepEqual(got, facts.Established) || sum.Network.EstablishedMore != 0 {
		t.Errorf("established %q (+%d), want %q", got, sum.Network.EstablishedMore, facts.Established)
	}
	for _, not := range facts.NotEstablished {
		if slices.Contains(got, not) {
			t.Errorf("%s is listed but has no ESTABLISHED connection", not)
		}
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"loopback", sum.Network.Loopback, facts.Loopback},
		{"listening", sum.Network.Listening, facts.Listening},
		{"dns records", sum.Network.DNS.Records, facts.DNSRecords},
		{"processes", sum.Processes.Count, facts.Processes},
		{"outside", sum.Processes.Outside, facts.Outside},
		{"outside more", sum.Processes.OutsideMore, 0},
		{"outside problem", sum.Processes.OutsideProblem, ""},
		{"services", sum.Services.Total, facts.Services},
		{"running", sum.Services.Running, facts.RunningServices},
		{"tasks", sum.ScheduledTasks.N, facts.ScheduledTasks},
		{"autoruns", sum.Autoruns.N, facts.AutorunEntries},
		{"administrators", sum.Administrators.Names, facts.Administrators},
		{"prefetch", sum.Prefetch.N, facts.PrefetchFiles},
		{"report read", sum.Report.Read, []string{triage.ReportName}},
		{"netstat read", sum.Network.Read, []string{"Network connections/ActiveNetConnections.txt"}},
		{"administrators read", sum.Administrators.Read, []string{"Users and Groups/Administrators.txt"}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: %v, want %v", c.what, c.got, c.want)
		}
	}

	var fromReport, errorFiles []string
	for _, fl := range sum.Failed {
		if fl.From == triage.ReportName {
			fromReport = append(fromReport, fl.Collector)
		} else {
			errorFiles = append(errorFiles, fl.From)
			if fl.Collector != fl.From || !strings.Contains(strings.ToLower(fl.Detail), "find") {
				t.Errorf("error-only failure %+v", fl)
			}
		}
	}
	if !reflect.DeepEqual(fromReport, facts.FailedInReport) || !reflect.DeepEqual(errorFiles, facts.ErrorOnlyFiles) {
		t.Errorf("failed from the report %q, error-only files %q; want %q and %q", fromReport, errorFiles, facts.FailedInReport, facts.ErrorOnlyFiles)
	}
	if sum.Failed[0].Detail != "Failed, error code 0x80070005" {
		t.Errorf("report failure detail %q", sum.Failed[0].Detail)
	}

	for name, src := range map[string]triage.Source{
		"report": sum.Report, "network": sum.Network.Source, "dns": sum.Network.DNS.Source,
		"processes": sum.Processes.Source, "services": sum.Services.Source, "tasks": sum.ScheduledTasks.Source,
		"autoruns": sum.Autoruns.Source, "administrators": sum.Administrators.Source, "prefetch": sum.Prefetch.Source,
	} {
		if len(src.Problems) != 0 || !src.Known() {
			t.Errorf("%s: known %v, problems %q", name, src.Known(), src.Problems)
		}
	}

	again, err := triage.Summarize(t.Context(), f, size, triage.Limits{})
	if err != nil || !reflect.DeepEqual(sum, again) {
		t.Errorf("a second summary differs (err %v)", err)
	}
}

// TestSummarizeHostile: every hostile package is refused with its reason,
// by Summarize and Search, and nothing is written anywhere.
func TestSummarizeHostile(t *testing.T) {
	reasons := map[mdetest.PackageKind]string{
		mdetest.PackageNotZip:        "it is not a zip file",
		mdetest.PackageBomb:          "over the compression ratio limit of 100:1",
		mdetest.PackageManyEntries:   "it declares 20000 entries, more than the limit of 10000",
		mdetest.PackageDotDotNames:   `entry "../../../../etc/cron.d/mdebot" has a name that climbs out of the package (..)`,
		mdetest.PackageAbsoluteNames: `entry "/etc/passwd" has an absolute name`,
	}
	for _, kind := range mdetest.HostileKinds() {
		t.Run(string(kind), func(t *testing.T) {
			f, size := packageFile(t, "", kind, 0)
			work, tmp := t.TempDir(), t.TempDir()
			t.Chdir(work)
			t.Setenv("TMPDIR", tmp)

			sum, err := triage.Summarize(t.Context(), f, size, triage.Limits{})
			reason, ok := triage.Refusal(err)
			if sum != nil || !ok || !strings.Contains(reason, reasons[kind]) {
				t.Errorf("Summarize: %v, %v; want the refusal %q", sum, err, reasons[kind])
			}
			res, err := triage.Search(t.Context(), f, size, "etc", 20, triage.Limits{})
			if reason2, ok := triage.Refusal(err); res != nil || !ok || reason2 != reason {
				t.Errorf("Search: %v, %v; want the refusal %q", res, err, reason)
			}
			for _, dir := range []string{work, tmp} {
				if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
					t.Errorf("%s holds %v (err %v) after the triage", dir, entries, err)
				}
			}
		})
	}
}
