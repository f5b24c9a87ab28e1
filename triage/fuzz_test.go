package triage

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/mdebot/mdebot/mde/mdetest"
)

// FuzzParsers feeds arbitrary bytes, decoded as a file of the package
// would be, to the netstat, CSV, report, reg, error-text and group parsers:
// no panic, the netstat result within its caps and rules, and the same
// answer twice.
func FuzzParsers(f *testing.F) {
	for _, seed := range []string{
		"  Proto  Local Address          Foreign Address        State           PID\r\n  TCP    10.0.0.2:50000         198.51.100.9:443       ESTABLISHED     42\r\n  TCP    [::]:135   [::]:0   LISTENING  4\r\n",
		"Proto Recv-Q Send-Q Local Address Foreign Address State\ntcp 0 0 ::1:631 ::1:4000 ESTABLISHED\n",
		"#TYPE x\r\n\"Name\",\"ExecutablePath\"\r\n\"a.exe\",\"C:\\Users\\a.exe\"\r\n\"b\",\"\"\"q\"\"\"\r\n",
		"TaskName;Status\n\\A;Ready\nTaskName;Status\n",
		"<table><tr><th>Data Point</th><th>Status</th><th>Error Code</th></tr><tr><td>x</td><td>Failed</td><td>5</td></tr></table>",
		`<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"><Row><Cell ss:Index="2"><Data>Status</Data></Cell></Row></Workbook>`,
		"HKEY_LOCAL_MACHINE\\X\r\n    A    REG_SZ    b\r\n",
		"ERROR: The system was unable to find the specified registry key or value.\r\n",
		"Alias name     Administrators\r\n-----\r\nAdministrator\r\nThe command completed successfully.\r\n",
		"ObjectClass Name    PrincipalSource\r\n----------- ----    ---------------\r\nUser        X\\a    Local\r\n",
		"\xff\xfeP\x00r\x00o\x00t\x00o\x00\r\x00\n\x00",
		"Zo\xeb \x80",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		first := parseAll(t, data)
		if again := parseAll(t, data); !reflect.DeepEqual(first, again) {
			t.Fatalf("two parses differ:\n%+v\n%+v", first, again)
		}
	})
}

type parsed struct {
	network  Network
	problems []string
	dns      int
	reg      regValues
	errOnly  bool
	members  []string
	rows     [][]string
	tableErr string
	failures []Failure
	report   string
}

func parseAll(t *testing.T, data []byte) parsed {
	var p parsed
	text, ok, err := decodeText(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("decoding from memory failed: %v", err)
	}
	if ok {
		ns, dns, reg, eo, g := newNetstatParser(), &dnsRecords{}, &regValues{}, &errorOnly{}, &groupMembers{}
		lr := newLineReader(text)
		for {
			line, ok := lr.next()
			if !ok {
				break
			}
			if !utf8.ValidString(line) {
				t.Fatalf("decoded line %q is not UTF-8", line)
			}
			ns.line(line)
			dns.line(line)
			reg.line(line)
			eo.line(line)
			g.line(line)
		}
		p.problems = ns.result(&p.network)
		p.dns, p.reg, p.errOnly, p.members = dns.n, *reg, eo.is(), g.members.sorted()
		checkNetwork(t, p.network)
	}
	if text, ok, _ := decodeText(bytes.NewReader(data)); ok {
		if tb, err := openTable(text); err != nil {
			p.tableErr = err.Error()
		} else {
			for {
				rec, err := tb.next()
				if err != nil {
					if err != io.EOF {
						p.tableErr = err.Error()
					}
					break
				}
				p.rows = append(p.rows, slices.Clone(rec))
			}
		}
	}
	rows, err := reportRows(data)
	if err == nil {
		p.failures, _, err = reportFailures(rows)
	}
	if err != nil {
		p.report = err.Error()
	}
	for _, fl := range p.failures {
		if fl.From != ReportName {
			t.Fatalf("failure %+v not from the report", fl)
		}
	}
	return p
}

func checkNetwork(t *testing.T, n Network) {
	if len(n.Established) > MaxRemotes || n.EstablishedMore < 0 || n.Loopback < 0 {
		t.Fatalf("%d remotes, %d more, %d loopback", len(n.Established), n.EstablishedMore, n.Loopback)
	}
	for i, r := range n.Established {
		if r.Address == "" || isLoopback(r.Address) || r.Connections < 1 {
			t.Fatalf("remote %+v", r)
		}
		if i > 0 && !addressLess(n.Established[i-1].Address, r.Address) {
			t.Fatalf("remotes out of order: %q then %q", n.Established[i-1].Address, r.Address)
		}
		if !distinctSorted(r.Ports, sortPorts) {
			t.Fatalf("ports %q", r.Ports)
		}
	}
	if !distinctSorted(n.Listening, sortPorts) {
		t.Fatalf("listening %q", n.Listening)
	}
}

// distinctSorted reports whether list has no repeats and is in its order.
func distinctSorted(list []string, order func([]string)) bool {
	c := slices.Clone(list)
	order(c)
	return slices.Equal(c, list) && len(slices.Compact(c)) == len(list)
}

// fuzzLimits keep a fuzzed package small to read.
var fuzzLimits = Limits{MaxEntries: 64, MaxUncompressed: 64 << 20, MaxFileRead: 1 << 20}

// FuzzZip reads arbitrary bytes as a package, seeded with the fake's
// realistic and hostile packages (the big ones as small likenesses: a
// 2 MiB bomb at about 1000:1, 80 entries against a limit of 64): no panic;
// a refusal or a summary within its caps, the same twice; Search agrees on
// the refusal and keeps its caps and order.
func FuzzZip(f *testing.F) {
	for _, kind := range []mdetest.PackageKind{mdetest.PackageRealistic, mdetest.PackageNotZip, mdetest.PackageDotDotNames, mdetest.PackageAbsoluteNames} {
		var buf bytes.Buffer
		if err := mdetest.WritePackage(&buf, kind, 0); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Add(smallBomb(f))
	f.Add(manyEntries(f, 80))
	f.Add([]byte{})
	f.Add([]byte("PK\x05\x06" + strings.Repeat("\x00", 18)))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		sum, err := Summarize(t.Context(), r, int64(len(data)), fuzzLimits)
		reason, refused := Refusal(err)
		switch {
		case err != nil && !refused:
			t.Fatalf("error that is not a refusal: %v", err)
		case refused && (reason == "" || strings.IndexFunc(reason, unicode.IsControl) >= 0):
			t.Fatalf("refusal reason %q", reason)
		}
		res, serr := Search(t.Context(), r, int64(len(data)), "in", 5, fuzzLimits)
		// Search reads more than Summarize: only it may pass MaxUncompressed.
		sreason, srefused := Refusal(serr)
		switch {
		case serr != nil && !srefused,
			refused && sreason != reason,
			!refused && srefused && !strings.Contains(sreason, "read uncompressed"):
			t.Fatalf("Summarize %v but Search %v", err, serr)
		}
		if refused {
			return
		}
		checkSummary(t, sum)
		again, err := Summarize(t.Context(), r, int64(len(data)), fuzzLimits)
		if err != nil || !reflect.DeepEqual(sum, again) {
			t.Fatalf("second summary differs (%v)", err)
		}
		if res == nil {
			return
		}
		if len(res.Matches) > 5 || res.Total < len(res.Matches) || len(res.Unread) > maxProblemList {
			t.Fatalf("search result %+v", res)
		}
		for i, m := range res.Matches {
			if m.Line < 1 || utf8.RuneCountInString(m.Text) > MaxMatchText || !strings.Contains(strings.ToLower(m.Text), "in") {
				t.Fatalf("match %+v", m)
			}
			if i > 0 && (m.Path < res.Matches[i-1].Path || m.Path == res.Matches[i-1].Path && m.Line <= res.Matches[i-1].Line) {
				t.Fatalf("matches out of order: %v after %v", m, res.Matches[i-1])
			}
		}
	})
}

func checkSummary(t *testing.T, s *Summary) {
	if len(s.Folders) > MaxFolders || len(s.Failed) > MaxFailures || len(s.Processes.Outside) > MaxOutside || len(s.Administrators.Names) > MaxMembers {
		t.Fatalf("summary over its caps: %+v", s)
	}
	checkNetwork(t, s.Network)
	for _, src := range []Source{s.Report, s.Network.Source, s.Network.DNS.Source, s.Processes.Source, s.Services.Source,
		s.ScheduledTasks.Source, s.Autoruns.Source, s.Administrators.Source, s.Prefetch.Source} {
		if len(src.Problems) > maxProblemList || !sort.StringsAreSorted(src.Read) {
			t.Fatalf("source %+v", src)
		}
		for _, name := range src.Read {
			if strings.IndexFunc(name, unicode.IsControl) >= 0 || strings.Contains("/"+name+"/", "/../") {
				t.Fatalf("entry name %q", name)
			}
		}
	}
	var values []string
	for _, r := range s.Network.Established {
		values = append(values, r.Address)
		values = append(values, r.Ports...)
	}
	for _, fl := range s.Failed {
		values = append(values, fl.Collector, fl.Detail, fl.From)
	}
	for _, fo := range s.Folders {
		values = append(values, fo.Name)
	}
	values = append(append(append(values, s.Network.Listening...), s.Processes.Outside...), s.Administrators.Names...)
	for _, v := range values {
		if utf8.RuneCountInString(v) > maxValue {
			t.Fatalf("a value of %d characters", utf8.RuneCountInString(v))
		}
	}
	if s.Services.Running > s.Services.Total {
		t.Fatalf("%d running of %d services", s.Services.Running, s.Services.Total)
	}
}

// smallBomb is one entry of 2 MiB of spaces deflated about 1000:1.
func smallBomb(f *testing.F) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, flate.BestCompression) })
	w, err := zw.Create(mdetest.BombEntry)
	if err == nil {
		_, err = w.Write(bytes.Repeat([]byte{' '}, 2<<20))
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		f.Fatal(err)
	}
	return buf.Bytes()
}

func manyEntries(f *testing.F, n int) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := range n {
		if _, err := zw.Create(fmt.Sprintf("Temp Directories/%d.txt", i)); err != nil {
			f.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		f.Fatal(err)
	}
	return buf.Bytes()
}
