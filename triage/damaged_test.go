package triage_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mdebot/mdebot/triage"
)

// zipEntry is one entry of a zip built by a test.
type zipEntry struct {
	name string
	data string
	raw  *zip.FileHeader // written raw with this header (sizes, CRC, method as given)
}

func buildZip(t testing.TB, entries ...zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		var w io.Writer
		var err error
		if e.raw != nil {
			h := *e.raw
			h.Name = e.name
			w, err = zw.CreateRaw(&h)
		} else {
			w, err = zw.Create(e.name)
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func summarize(t *testing.T, data []byte, lim triage.Limits) *triage.Summary {
	t.Helper()
	sum, err := triage.Summarize(t.Context(), bytes.NewReader(data), int64(len(data)), lim)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

const netstatText = "  Proto  Local Address          Foreign Address        State           PID\r\n" +
	"  TCP    10.0.0.2:50000         198.51.100.9:443       ESTABLISHED     42\r\n"

// TestSummarizeDamaged: what cannot be read is a problem of its fact, with
// why, and the rest of the package is still summarised.
func TestSummarizeDamaged(t *testing.T) {
	biff := "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1" + strings.Repeat("\x00", 64)
	tasks := "TaskName,Status\r\n\\A,Ready\r\n"
	for _, tt := range []struct {
		name    string
		entries []zipEntry
		lim     triage.Limits
		problem func(*triage.Summary) []string
		want    string
	}{
		{
			name: "checksum mismatch",
			entries: []zipEntry{{name: "Processes/Processes.csv", data: "Name\r\na.exe\r\n",
				raw: &zip.FileHeader{Method: zip.Store, CRC32: 1, CompressedSize64: 13, UncompressedSize64: 13}}},
			problem: func(s *triage.Summary) []string { return s.Processes.Problems },
			want:    "Processes/Processes.csv: damaged (checksum mismatch)",
		},
		{
			name:    "binary report",
			entries: []zipEntry{{name: "CollectionSummaryReport.xls", data: biff}},
			problem: func(s *triage.Summary) []string { return s.Report.Problems },
			want:    "CollectionSummaryReport.xls: not readable: a binary Excel (BIFF) workbook, which this bot does not read",
		},
		{
			name:    "missing column",
			entries: []zipEntry{{name: "Services/Services.csv", data: "Name,StartMode\r\nBFE,Auto\r\n"}},
			problem: func(s *triage.Summary) []string { return s.Services.Problems },
			want:    "Services/Services.csv: no column named State or Status",
		},
		{
			name:    "over the read limit",
			entries: []zipEntry{{name: "Network connections/ActiveNetConnections.txt", data: netstatText + strings.Repeat("  UDP    0.0.0.0:123            *:*                                    1424\r\n", 100)}},
			lim:     triage.Limits{MaxFileRead: 4096},
			problem: func(s *triage.Summary) []string { return s.Network.Problems },
			want:    "Network connections/ActiveNetConnections.txt: larger than the read limit of 4.0 KiB",
		},
		{
			name: "unknown compression method",
			entries: []zipEntry{{name: "Scheduled tasks/t.csv", data: tasks,
				raw: &zip.FileHeader{Method: 99, CRC32: crc32.ChecksumIEEE([]byte(tasks)), CompressedSize64: uint64(len(tasks)), UncompressedSize64: uint64(len(tasks))}}},
			problem: func(s *triage.Summary) []string { return s.ScheduledTasks.Problems },
			want:    "Scheduled tasks/t.csv: compressed with a method this bot does not read",
		},
		{
			name:    "not text",
			entries: []zipEntry{{name: "Processes/Processes.csv", data: "\x00\x01\x02\x03\x00\x00\x07"}},
			problem: func(s *triage.Summary) []string { return s.Processes.Problems },
			want:    "Processes/Processes.csv: not a text file",
		},
		{
			name:    "error text instead of a CSV",
			entries: []zipEntry{{name: "Processes/Processes.csv", data: "ERROR: Access denied\r\n"}},
			problem: func(s *triage.Summary) []string { return s.Processes.Problems },
			want:    "Processes/Processes.csv: holds only an error text",
		},
		{
			name:    "administrators denied",
			entries: []zipEntry{{name: "Users and Groups/Administrators.txt", data: "Access is denied.\r\n"}},
			problem: func(s *triage.Summary) []string { return s.Administrators.Problems },
			want:    "Users and Groups/Administrators.txt: holds only an error text",
		},
		{
			name:    "netstat without a table",
			entries: []zipEntry{{name: "Network connections/ActiveNetConnections.txt", data: "IPv4 Statistics\r\n"}},
			problem: func(s *triage.Summary) []string { return s.Network.Problems },
			want:    "Network connections/ActiveNetConnections.txt: no connection table (a Proto, Local Address, Foreign Address, State header) found",
		},
		{
			name:    "administrators in an unknown format",
			entries: []zipEntry{{name: "Users and Groups/Administrators.txt", data: "Administrator\r\nalice\r\n"}},
			problem: func(s *triage.Summary) []string { return s.Administrators.Problems },
			want:    "Users and Groups/Administrators.txt: no member list (a line of dashes) found",
		},
		{
			name:    "autoruns not from reg",
			entries: []zipEntry{{name: "Autoruns/Run.csv", data: "Entry,Image Path\r\nx,y\r\n"}},
			problem: func(s *triage.Summary) []string { return s.Autoruns.Problems },
			want:    "Autoruns/Run.csv: not reg query output",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			entries := append(tt.entries, zipEntry{name: "Network connections/DnsCache.txt", data: "    Record Name . . . : a.example\r\n"})
			sum := summarize(t, buildZip(t, entries...), tt.lim)
			if got := tt.problem(sum); len(got) != 1 || !strings.Contains(got[0], tt.want) {
				t.Errorf("problems %q, want %q", got, tt.want)
			}
			if sum.Network.DNS.Records != 1 {
				t.Errorf("the rest was not summarised: %d DNS records", sum.Network.DNS.Records)
			}
		})
	}
}

// TestSummarizeWindowsNames reads entries named with backslashes, as older
// .NET writes them.
func TestSummarizeWindowsNames(t *testing.T) {
	sum := summarize(t, buildZip(t,
		zipEntry{name: `Network connections\ActiveNetConnections.txt`, data: netstatText},
		zipEntry{name: `Prefetch files\Prefetch\A.EXE-1.pf`, data: "MAM\x04\x00"},
	), triage.Limits{})
	if len(sum.Network.Established) != 1 || sum.Network.Established[0].Address != "198.51.100.9" || sum.Prefetch.N != 1 {
		t.Fatalf("established %+v, prefetch %d", sum.Network.Established, sum.Prefetch.N)
	}
	if sum.Folders[0].Name != "Network connections" || sum.Folders[1].Name != "Prefetch files" {
		t.Fatalf("folders %+v", sum.Folders)
	}
}

// TestDirectoryLies: the entry count is checked on the central directory
// itself, not only on the count its end record declares.
func TestDirectoryLies(t *testing.T) {
	var entries []zipEntry
	for i := range 20 {
		entries = append(entries, zipEntry{name: fmt.Sprintf("Temp Directories/%02d.txt", i), data: "x"})
	}
	data := buildZip(t, entries...)
	eocd := bytes.LastIndex(data, []byte("PK\x05\x06"))
	for _, tt := range []struct {
		declared uint16
		reason   string
	}{
		{20, "it declares 20 entries, more than the limit of 10"},
		{4, "it holds more than 10 entries, the limit"},
	} {
		lying := bytes.Clone(data)
		binary.LittleEndian.PutUint16(lying[eocd+8:], tt.declared)
		binary.LittleEndian.PutUint16(lying[eocd+10:], tt.declared)
		_, err := triage.Summarize(t.Context(), bytes.NewReader(lying), int64(len(lying)), triage.Limits{MaxEntries: 10})
		if reason, ok := triage.Refusal(err); !ok || reason != tt.reason {
			t.Errorf("declared %d: %v, want %q", tt.declared, err, tt.reason)
		}
	}
	if _, err := triage.Summarize(t.Context(), bytes.NewReader(data), int64(len(data)), triage.Limits{MaxEntries: 20}); err != nil {
		t.Errorf("20 entries within a limit of 20: %v", err)
	}
}

// TestSummarizeLimits: the package-wide limits on the entries' headers.
// The logs are never read, so their headers alone are written (3 MiB
// declared from 1 MiB).
func TestSummarizeLimits(t *testing.T) {
	body := strings.Repeat("x", 1<<20)
	head := &zip.FileHeader{Method: zip.Deflate, CompressedSize64: 1 << 20, UncompressedSize64: 3 << 20}
	data := buildZip(t, zipEntry{name: "WdSupportLogs/a.log", data: body, raw: head}, zipEntry{name: "WdSupportLogs/b.log", data: body, raw: head})
	for _, tt := range []struct {
		lim    triage.Limits
		reason string
	}{
		{triage.Limits{MaxUncompressed: 5 << 20}, "its entries declare more than 5.0 MiB uncompressed, the limit"},
		{triage.Limits{MaxRatio: 2}, `entry "WdSupportLogs/a.log" declares 3.0 MiB uncompressed from 1.0 MiB compressed, over the compression ratio limit of 2:1`},
	} {
		_, err := triage.Summarize(t.Context(), bytes.NewReader(data), int64(len(data)), tt.lim)
		if reason, ok := triage.Refusal(err); !ok || reason != tt.reason {
			t.Errorf("%+v: %v, want %q", tt.lim, err, tt.reason)
		}
	}
	if _, err := triage.Summarize(t.Context(), bytes.NewReader(data), int64(len(data)), triage.Limits{MaxUncompressed: 6 << 20, MaxRatio: 3}); err != nil {
		t.Errorf("exactly at the limits: %v", err)
	}
	// A small file is read twice (for an error text, then as a CSV): it
	// counts once against what is actually read.
	csv := "Name,ExecutablePath\r\nupdater.exe,C:\\Users\\a\\updater.exe\r\n"
	data = buildZip(t, zipEntry{name: "Processes/Processes.csv", data: csv})
	sum, err := triage.Summarize(t.Context(), bytes.NewReader(data), int64(len(data)), triage.Limits{MaxUncompressed: int64(len(csv))})
	if err != nil || sum.Processes.Count != 1 {
		t.Errorf("a file read twice within MaxUncompressed of its size: %v", err)
	}
}

// failingReaderAt fails every read past off, as a broken store would.
type failingReaderAt struct {
	r   io.ReaderAt
	off int64
}

var errStore = errors.New("store: connection reset")

func (f failingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > f.off {
		return 0, errStore
	}
	return f.r.ReadAt(p, off)
}

// TestReaderFailure: a failing store is an error of its own, never taken
// for a damaged package.
func TestReaderFailure(t *testing.T) {
	data := buildZip(t, zipEntry{name: "Network connections/ActiveNetConnections.txt", data: netstatText})
	for _, off := range []int64{0, 40, int64(len(data)) - 30} {
		r := failingReaderAt{bytes.NewReader(data), off}
		_, err := triage.Summarize(t.Context(), r, int64(len(data)), triage.Limits{})
		if _, refused := triage.Refusal(err); refused || !errors.Is(err, errStore) {
			t.Errorf("failing from %d: Summarize %v, want the store's error", off, err)
		}
		_, err = triage.Search(t.Context(), r, int64(len(data)), "tcp", 5, triage.Limits{})
		if _, refused := triage.Refusal(err); refused || !errors.Is(err, errStore) {
			t.Errorf("failing from %d: Search %v, want the store's error", off, err)
		}
	}
}

func TestCancelled(t *testing.T) {
	data := buildZip(t, zipEntry{name: "Network connections/ActiveNetConnections.txt", data: netstatText})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := triage.Summarize(ctx, bytes.NewReader(data), int64(len(data)), triage.Limits{}); !errors.Is(err, ctx.Err()) {
		t.Errorf("Summarize: %v, want %v", err, ctx.Err())
	}
	if _, err := triage.Search(ctx, bytes.NewReader(data), int64(len(data)), "tcp", 5, triage.Limits{}); !errors.Is(err, ctx.Err()) {
		t.Errorf("Search: %v, want %v", err, ctx.Err())
	}
}

// TestSummarizeClips: strings from the package are cut to 256 characters
// and lists capped, so a hostile file cannot swell the summary.
func TestSummarizeClips(t *testing.T) {
	long := `C:\Users\` + strings.Repeat("a", 1000) + `.exe`
	entries := []zipEntry{
		{name: "Processes/Processes.csv", data: "Name,ExecutablePath\r\nx.exe," + long + "\r\n"},
		{name: "Network connections/ActiveNetConnections.txt", data: "Proto Local Address Foreign Address State\r\nTCP 10.0.0.1:1 " + strings.Repeat("h", 5000) + ":443 ESTABLISHED\r\n"},
	}
	for i := range 30 {
		entries = append(entries, zipEntry{name: fmt.Sprintf("Autoruns/%02d-%s.txt", i, strings.Repeat("b", 500)), data: "HKEY_LOCAL_MACHINE\\X\r\n    A    REG_SZ    b\r\n"})
	}
	sum := summarize(t, buildZip(t, entries...), triage.Limits{})
	clipped := func(s string) bool { return utf8.RuneCountInString(s) == 256 && strings.HasSuffix(s, "…") }
	if len(sum.Processes.Outside) != 1 || !clipped(sum.Processes.Outside[0]) || !strings.HasPrefix(sum.Processes.Outside[0], `C:\Users\aaa`) {
		t.Errorf("outside %q", sum.Processes.Outside)
	}
	if len(sum.Network.Established) != 1 || !clipped(sum.Network.Established[0].Address) {
		t.Errorf("established %+v", sum.Network.Established)
	}
	if sum.Autoruns.N != 30 || len(sum.Autoruns.Read) != 20 || sum.Autoruns.ReadMore != 10 || !clipped(sum.Autoruns.Read[0]) {
		t.Errorf("autoruns %d from %d files (+%d), first %q", sum.Autoruns.N, len(sum.Autoruns.Read), sum.Autoruns.ReadMore, sum.Autoruns.Read[0])
	}
}
