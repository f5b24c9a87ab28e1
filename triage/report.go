package triage

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"html"
	"io"
	"sort"
	"strconv"
	"strings"
)

// ReportName is the collection report at the package's top level.
const ReportName = "CollectionSummaryReport.xls"

// maxReport is the most of the report read (real ones are a few KiB).
const maxReport = 8 << 20

// maxColumns bounds the cell positions a report may ask for (ss:Index,
// colspan), so a hostile one cannot make rows of millions of cells.
const maxColumns = 256

// reportRows reads the report's table. Its format is unverified: Excel's
// HTML and XML Spreadsheet 2003 forms and delimited text are read; a real
// binary (BIFF) or .xlsx workbook is not, and says so.
func reportRows(data []byte) ([][]string, error) {
	switch {
	case bytes.HasPrefix(data, []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}):
		return nil, errors.New("a binary Excel (BIFF) workbook, which this bot does not read")
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		return nil, errors.New("an Excel .xlsx workbook, which this bot does not read")
	}
	text, ok, err := decodeText(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errors.New("neither text nor a known workbook format")
	}
	raw, err := io.ReadAll(text)
	if err != nil {
		return nil, err
	}
	s := string(raw)
	lower := strings.ToLower(s)
	switch {
	case strings.Contains(lower, "urn:schemas-microsoft-com:office:spreadsheet") && strings.Contains(lower, "<workbook") ||
		strings.Contains(lower, "<ss:workbook"):
		return spreadsheetRows(s)
	case strings.Contains(lower, "<table"):
		return htmlRows(s), nil
	}
	return delimitedRows(s)
}

// htmlRows reads the cells of every <tr> of an HTML table, text only.
// HTML saved by Excel is rarely well-formed XML, so this is a tolerant
// scan of tags, not a parser.
func htmlRows(s string) [][]string {
	var (
		rows          [][]string
		row           []string
		cell          strings.Builder
		inRow, inCell bool
		span          int
	)
	endCell := func() {
		if !inCell {
			return
		}
		row = append(row, cleanCell(html.UnescapeString(cell.String())))
		for i := 1; i < span && len(row) < maxColumns; i++ {
			row = append(row, "")
		}
		cell.Reset()
		inCell = false
	}
	endRow := func() {
		endCell()
		if inRow {
			rows = append(rows, row)
			row, inRow = nil, false
		}
	}
	for s != "" {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			i = len(s)
		}
		if inCell {
			cell.WriteString(s[:i])
		}
		s = s[i:]
		if s == "" {
			break
		}
		if strings.HasPrefix(s, "<!--") {
			j := strings.Index(s, "-->")
			if j < 0 {
				break
			}
			s = s[j+3:]
			continue
		}
		j := strings.IndexByte(s, '>')
		if j < 0 {
			break
		}
		name, attrs := tagName(s[1:j])
		s = s[j+1:]
		switch name {
		case "tr":
			endRow()
			inRow = true
		case "/tr", "table", "/table":
			endRow()
		case "td", "th":
			endCell()
			if len(row) >= maxColumns {
				continue
			}
			inRow, inCell, span = true, true, colspan(attrs)
		case "/td", "/th":
			endCell()
		case "br", "p", "/p", "div", "/div":
			if inCell {
				cell.WriteByte(' ')
			}
		case "script", "style":
			if k := strings.Index(strings.ToLower(s), "</"+name); k >= 0 {
				s = s[k:]
			} else {
				s = ""
			}
		}
	}
	endRow()
	return rows
}

// tagName splits "td class=x colspan=2" into "td" and the attributes;
// a closing tag keeps its slash ("/td").
func tagName(tag string) (string, string) {
	tag = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(tag), "/"))
	end := strings.IndexAny(tag, " \t\r\n")
	if end < 0 {
		return strings.ToLower(tag), ""
	}
	return strings.ToLower(tag[:end]), tag[end:]
}

func colspan(attrs string) int {
	l := strings.ToLower(attrs)
	i := strings.Index(l, "colspan")
	if i < 0 {
		return 1
	}
	v := strings.TrimLeft(l[i+len("colspan"):], " =\"'")
	end := 0
	for end < len(v) && end < 4 && v[end] >= '0' && v[end] <= '9' {
		end++
	}
	n, err := strconv.Atoi(v[:end])
	if err != nil || n < 1 {
		return 1
	}
	return min(n, maxColumns)
}

// cleanCell collapses a cell's white space (non-breaking spaces included).
func cleanCell(s string) string { return strings.Join(strings.Fields(s), " ") }

// spreadsheetRows reads Excel's XML Spreadsheet 2003: Row, Cell (with its
// optional ss:Index, from 1) and Data elements.
func spreadsheetRows(s string) ([][]string, error) {
	d := xml.NewDecoder(strings.NewReader(s))
	var (
		rows         [][]string
		row          []string
		text         strings.Builder
		inCell, data bool
	)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("not valid XML (%v)", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "Row":
				row = nil
			case "Cell":
				for _, a := range t.Attr {
					if a.Name.Local == "Index" {
						n, err := strconv.Atoi(a.Value)
						if err != nil || n < 1 || n > maxColumns {
							return nil, fmt.Errorf("a cell index %q out of range", a.Value)
						}
						for len(row) < n-1 {
							row = append(row, "")
						}
					}
				}
				inCell = true
				text.Reset()
			case "Data":
				data = true
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "Row":
				rows = append(rows, row)
			case "Cell":
				if inCell && len(row) < maxColumns {
					row = append(row, cleanCell(text.String()))
				}
				inCell = false
			case "Data":
				data = false
			}
		case xml.CharData:
			if data && inCell {
				text.Write(t)
			}
		}
	}
}

// delimitedRows reads the report as CSV or tab-separated text.
func delimitedRows(s string) ([][]string, error) {
	t, err := openTable(strings.NewReader(s))
	if err != nil {
		return nil, err
	}
	rows := [][]string{t.header}
	for {
		rec, err := t.next()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, err
		}
		rows = append(rows, append([]string(nil), rec...))
	}
}

// Report column names, normalized (see normHeader).
var (
	reportNameCols    = []string{"datapoint", "datapointname", "collectionitem", "collector", "name", "item", "category", "artifact"}
	reportCommandCols = []string{"command", "commandused", "commandline"}
	reportStatusCols  = []string{"executionstatus", "status", "result", "commandstatus", "collectionstatus", "state"}
	reportErrorCols   = []string{"errorcode", "error", "errorcodes", "exitcode", "hresult"}
)

// reportFailures finds the header row (the first with a status column
// and a name or command column) and returns the rows that failed: a
// failure status, or an unknown status with a non-zero error code. Rows
// whose status is not understood are problems, not guesses.
func reportFailures(rows [][]string) ([]Failure, []string, error) {
	h := -1
	var name, command, status, code int
	for i, r := range rows {
		cols := map[string]int{}
		for j, c := range r {
			if k := normHeader(c); k != "" {
				if _, dup := cols[k]; !dup {
					cols[k] = j
				}
			}
		}
		name, command = pick(cols, reportNameCols), pick(cols, reportCommandCols)
		status, code = pick(cols, reportStatusCols), pick(cols, reportErrorCols)
		if status >= 0 && (name >= 0 || command >= 0) {
			h = i
			break
		}
	}
	if h < 0 {
		return nil, nil, errors.New("no header row with a status column and a data point or command column")
	}
	if name < 0 {
		name = command
	}
	var fails []Failure
	unknown := map[string]int{}
	for _, r := range rows[h+1:] {
		n, st, c := field(r, name), field(r, status), field(r, code)
		if n == "" && st == "" && c == "" {
			continue
		}
		switch statusClass(st, c) {
		case statusFailed:
			fails = append(fails, Failure{Collector: clip(n), Detail: clip(failureDetail(st, c)), From: ReportName})
		case statusUnknown:
			unknown[cut(st, 40)]++
		}
	}
	var problems []string
	if len(unknown) > 0 {
		keys := make([]string, 0, len(unknown))
		total := 0
		for k, v := range unknown {
			keys = append(keys, strconv.Quote(k))
			total += v
		}
		sort.Strings(keys)
		if len(keys) > 5 {
			keys = append(keys[:5], "…")
		}
		problems = append(problems, fmt.Sprintf("%d rows with a status not understood: %s", total, strings.Join(keys, ", ")))
	}
	return fails, problems, nil
}

func pick(cols map[string]int, names []string) int {
	for _, n := range names {
		if i, ok := cols[n]; ok {
			return i
		}
	}
	return -1
}

type statusKind int

const (
	statusOK statusKind = iota
	statusFailed
	statusUnknown
)

var (
	okStatuses     = map[string]bool{"success": true, "succeeded": true, "successful": true, "completed": true, "complete": true, "ok": true, "done": true, "passed": true, "collected": true}
	failedStatuses = map[string]bool{"failed": true, "failure": true, "fail": true, "error": true, "errored": true, "timeout": true, "timed out": true, "timedout": true, "aborted": true, "cancelled": true, "canceled": true, "not collected": true}
)

func statusClass(status, code string) statusKind {
	s := strings.TrimRight(strings.ToLower(strings.TrimSpace(status)), ".!")
	switch {
	case okStatuses[s]:
		return statusOK
	case failedStatuses[s]:
		return statusFailed
	case !zeroCode(code):
		return statusFailed
	}
	return statusUnknown
}

func zeroCode(c string) bool {
	switch strings.ToLower(strings.TrimSpace(c)) {
	case "", "0", "0x0", "0x00000000", "-", "n/a", "na", "none", "null":
		return true
	}
	return false
}

func failureDetail(status, code string) string {
	switch {
	case zeroCode(code):
		return status
	case status == "":
		return "error code " + code
	}
	return status + ", error code " + code
}

// maxValue is the most characters of any one string of the package kept
// in a Summary or a parser's memory: a hostile file's megabyte-long cell
// costs no more than a real one.
const maxValue = 256

// clip cuts a string from the package to maxValue characters.
func clip(s string) string { return cut(s, maxValue) }

// cut shortens s to n characters, marking the cut.
func cut(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
