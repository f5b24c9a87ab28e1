package triage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"unicode/utf16"
)

func utf16le(s string, bom bool) []byte {
	var b []byte
	if bom {
		b = []byte{0xFF, 0xFE}
	}
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return b
}

func utf16be(s string) []byte {
	b := []byte{0xFE, 0xFF}
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.BigEndian.AppendUint16(b, u)
	}
	return b
}

func TestDecodeText(t *testing.T) {
	const want = "Zoë 😀\r\nline 2"
	long := strings.Repeat("x", 10000) + "é" // past the sniffed prefix
	for _, tt := range []struct {
		name string
		in   []byte
		want string // "" for not text
	}{
		{"utf-8", []byte(want), want},
		{"utf-8 with BOM", append([]byte{0xEF, 0xBB, 0xBF}, want...), want},
		{"utf-16le with BOM", utf16le(want, true), want},
		{"utf-16le without BOM", utf16le("Proto  Local Address\r\n", false), "Proto  Local Address\r\n"},
		{"utf-16be with BOM", utf16be(want), want},
		{"windows-1252", []byte("Zo\xeb \x80 \x93quoted\x94"), "Zoë € “quoted”"},
		{"utf-8 and 1252 mixed", []byte("café caf\xe9"), "café café"},
		{"1252 past the sniffed prefix", []byte(strings.Repeat("x", 10000) + "\xe9"), long},
		{"binary", []byte("MAM\x04\x00\x10\x00\x00\x01\x02"), ""},
		{"empty", nil, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			text, ok, err := decodeText(bytes.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if tt.name == "empty" {
				if !ok {
					t.Fatal("an empty file is not text")
				}
				return
			}
			if !ok {
				if tt.want != "" {
					t.Fatal("not text")
				}
				return
			}
			if tt.want == "" {
				t.Fatal("binary read as text")
			}
			got, err := io.ReadAll(text)
			if err != nil || string(got) != tt.want {
				t.Fatalf("got %q (%v), want %q", got, err, tt.want)
			}
		})
	}
}

func TestLineReaderTooLong(t *testing.T) {
	lr := newLineReader(strings.NewReader("short\n" + strings.Repeat("a", maxLine+10) + "\nafter\n"))
	var lines []string
	for {
		l, ok := lr.next()
		if !ok {
			break
		}
		lines = append(lines, l)
	}
	if !reflect.DeepEqual(lines, []string{"short"}) || !errors.Is(lr.err(), errLineTooLong) {
		t.Fatalf("lines %q, err %v; want the first line, then errLineTooLong", lines, lr.err())
	}
}

func readTable(t *testing.T, text string) (*table, [][]string, error) {
	t.Helper()
	tb, err := openTable(strings.NewReader(text))
	if err != nil {
		return nil, nil, err
	}
	var rows [][]string
	for {
		rec, err := tb.next()
		if err == io.EOF {
			return tb, rows, nil
		}
		if err != nil {
			return tb, rows, err
		}
		rows = append(rows, append([]string(nil), rec...))
	}
}

func TestTable(t *testing.T) {
	for _, tt := range []struct {
		name  string
		text  string
		cols  []string // asked, normalized
		want  int      // index found
		rows  int
		error string
	}{
		{"powershell with #TYPE", "#TYPE System.Management.ManagementObject\r\n\"Name\",\"ExecutablePath\"\r\n\"a.exe\",\"C:\\a.exe\"\r\n", []string{"executablepath"}, 1, 1, ""},
		{"tasklist spelling", "\"Image Name\",\"PID\",\"Session Name\"\n\"System\",\"4\",\"Services\"\n", processNameCols, 0, 1, ""},
		{"semicolon", "Status;Name;DisplayName\nRunning;BFE;Base Filtering Engine\nStopped;Fax;Fax\n", stateCols, 0, 2, ""},
		{"tab", "TaskName\tStatus\n\\A\tReady\n", taskNameCols, 0, 1, ""},
		{"snake case and odd case", "process_name,IMAGE_PATH\nx,y\n", processPathCols, 1, 1, ""},
		{"missing column", "Foo,Bar\n1,2\n", processNameCols, -1, 1, ""},
		{"quoted comma and newline", "Name,Path\n\"a,b\",\"line1\nline2\"\nc,d\n", []string{"path"}, 1, 2, ""},
		{"no header", "\r\n\r\n", nil, -1, 0, "no header line"},
		{"record too long", "Name\n\"" + strings.Repeat("a", maxLine+100<<10) + "\"\n", []string{"name"}, 0, 0, "line too long"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tb, rows, err := readTable(t, tt.text)
			if expectError(t, err, tt.error) {
				return
			}
			if got := tb.col(tt.cols...); got != tt.want {
				t.Errorf("col(%q) = %d, want %d (header %q)", tt.cols, got, tt.want, tb.header)
			}
			if len(rows) != tt.rows {
				t.Errorf("%d rows, want %d: %q", len(rows), tt.rows, rows)
			}
		})
	}
}

func TestReportRows(t *testing.T) {
	const htmlReport = `<html><head><style>td{color:red}</style><!-- <tr><td>hidden</td></tr> --></head><body>
<table><tr><td colspan=4><b>Collection summary</b></td></tr>
<TR><TH>Data point</TH><TH>Command</TH><TH>Execution status</TH><TH>Error code</TH></TR>
<tr><td>Processes</td><td>a &amp;&amp; b</td><td>Success</td><td></td></tr>
<tr><td>Firewall&nbsp;log</td><td>copy<br>pfirewall.log</td><td>Failed</td><td>0x80070002</td></tr>
<tr><td>SMB</td><td>x</td><td>Skipped (not supported)</td><td></td></tr>
<tr><td>Prefetch</td><td>x</td><td>Partial</td><td>5</td></tr>
</table></body></html>`
	const xmlReport = `<?xml version="1.0"?>
<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">
<Worksheet ss:Name="Summary"><Table>
<Row><Cell><Data ss:Type="String">Name</Data></Cell><Cell><Data ss:Type="String">Status</Data></Cell><Cell><Data ss:Type="String">ErrorCode</Data></Cell></Row>
<Row><Cell><Data ss:Type="String">Services</Data></Cell><Cell><Data ss:Type="String">Completed</Data></Cell></Row>
<Row><Cell><Data ss:Type="String">Autoruns</Data></Cell><Cell ss:Index="3"><Data ss:Type="Number">2</Data></Cell></Row>
</Table></Worksheet></Workbook>`
	for _, tt := range []struct {
		name     string
		data     []byte
		failed   []Failure
		problems []string
		error    string
	}{
		{
			name: "html table",
			data: []byte(htmlReport),
			failed: []Failure{
				{Collector: "Firewall log", Detail: "Failed, error code 0x80070002", From: ReportName},
				{Collector: "Prefetch", Detail: "Partial, error code 5", From: ReportName},
			},
			problems: []string{`1 rows with a status not understood: "Skipped (not supported)"`},
		},
		{
			name:   "xml spreadsheet 2003, ss:Index",
			data:   []byte(xmlReport),
			failed: []Failure{{Collector: "Autoruns", Detail: "error code 2", From: ReportName}},
		},
		{
			name:   "html in utf-16",
			data:   utf16le("<table><tr><td>Item</td><td>Status</td></tr><tr><td>Disk</td><td>timed out</td></tr></table>", true),
			failed: []Failure{{Collector: "Disk", Detail: "timed out", From: ReportName}},
		},
		{
			name:   "tab separated",
			data:   []byte("Data Point\tExecution Status\tError Code\nAutoruns\tSuccess\t0\nServices\tError\t\n"),
			failed: []Failure{{Collector: "Services", Detail: "Error", From: ReportName}},
		},
		{name: "biff", data: []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\x00\x00"), error: "binary Excel (BIFF) workbook"},
		{name: "xlsx", data: []byte("PK\x03\x04rest"), error: ".xlsx workbook"},
		{name: "binary", data: []byte("\x01\x00\x02\x00\x00\x00\x03"), error: "neither text nor a known workbook"},
		{name: "no status column", data: []byte("<table><tr><td>Name</td><td>Value</td></tr></table>"), error: "no header row with a status column"},
		{name: "bad xml", data: []byte(`<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"><Row>`), error: "not valid XML"},
		{name: "huge ss:Index", data: []byte(`<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"><Row><Cell ss:Index="99999999"/></Row></Workbook>`), error: "out of range"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := reportRows(tt.data)
			var failed []Failure
			var problems []string
			if err == nil {
				failed, problems, err = reportFailures(rows)
			}
			if expectError(t, err, tt.error) {
				return
			}
			if !reflect.DeepEqual(failed, tt.failed) {
				t.Errorf("failed %+v, want %+v", failed, tt.failed)
			}
			if !reflect.DeepEqual(problems, tt.problems) {
				t.Errorf("problems %q, want %q", problems, tt.problems)
			}
		})
	}
}

func TestHTMLColspan(t *testing.T) {
	rows := htmlRows(`<table><tr><td colspan="3">a</td><td>b</td></tr><tr><td colspan=999999>c</td></tr></table>`)
	if !reflect.DeepEqual(rows[0], []string{"a", "", "", "b"}) || len(rows[1]) != maxColumns {
		t.Fatalf("rows %q (second has %d cells)", rows[0], len(rows[1]))
	}
}

func TestExcerpt(t *testing.T) {
	long := strings.Repeat("a", 300) + "NEEDLE" + strings.Repeat("b", 300)
	for _, tt := range []struct {
		name, line, term string
		check            func(string) bool
	}{
		{"short line kept, trimmed", "   TCP 1.2.3.4:443   ", "1.2.3.4", func(s string) bool { return s == "TCP 1.2.3.4:443" }},
		{"cut around the match", long, "needle", func(s string) bool {
			r := []rune(s)
			return len(r) == MaxMatchText && strings.HasPrefix(s, "…") && strings.HasSuffix(s, "…") && strings.Contains(s, "NEEDLE")
		}},
		{"match at the start", "NEEDLE" + strings.Repeat("b", 300), "needle", func(s string) bool {
			return len([]rune(s)) == MaxMatchText && strings.HasPrefix(s, "NEEDLE") && strings.HasSuffix(s, "…")
		}},
		{"match at the end", strings.Repeat("a", 300) + "NEEDLE", "needle", func(s string) bool {
			return len([]rune(s)) == MaxMatchText && strings.HasPrefix(s, "…") && strings.HasSuffix(s, "NEEDLE")
		}},
		{"non-ASCII before the match", strings.Repeat("é", 300) + "Zoë", "ZOË", func(s string) bool {
			return len([]rune(s)) == MaxMatchText && strings.HasSuffix(s, "Zoë")
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := &searcher{needle: []byte(foldString(tt.term))}
			at := s.index([]byte(tt.line))
			if at < 0 {
				t.Fatalf("%q not found", tt.term)
			}
			if got := excerpt([]byte(tt.line), at); !tt.check(got) {
				t.Fatalf("excerpt %q (%d characters)", got, len([]rune(got)))
			}
		})
	}
}

func TestIndexFold(t *testing.T) {
	for _, tt := range []struct {
		line, term string
		want       int
	}{
		{"Hello World", "WORLD", 6},
		{"Hello World", "planet", -1},
		{"ÄÖÜ straße", "ÖÜ", 2},
		{"café CAFÉ", "café", 0},
		{"xx CAFÉ", "café", 3},
		{"KELVIN \u212a", "k", 0},
	} {
		s := &searcher{needle: []byte(foldString(tt.term))}
		if got := s.index([]byte(tt.line)); got != tt.want {
			t.Errorf("index(%q, %q) = %d, want %d", tt.line, tt.term, got, tt.want)
		}
	}
}

// expectError checks err against want, a part of the error expected ("" for
// none), and reports whether an error was expected.
func expectError(t *testing.T, err error, want string) bool {
	t.Helper()
	switch {
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Fatalf("err %v, want %q", err, want)
	case want == "" && err != nil:
		t.Fatal(err)
	}
	return want != ""
}
