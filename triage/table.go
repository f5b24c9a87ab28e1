package triage

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// table is a CSV export whose columns are found by header name, never by
// position: nobody has pinned the columns of the package's CSV files.
type table struct {
	cr     *csv.Reader
	limit  *recordLimiter
	header []string
	cols   map[string]int // normalized header name -> first column with it
}

var errNoHeader = errors.New("no header line")

// openTable reads the header of a CSV export: leading blank lines and
// PowerShell's "#TYPE ..." line are skipped; the separator is the one of
// comma, semicolon and tab that splits the header into the most columns.
func openTable(text io.Reader) (*table, error) {
	br := bufio.NewReaderSize(text, 64<<10)
	var head string
	for skipped := 0; ; skipped++ {
		line, err := readLine(br)
		if err != nil && (err != io.EOF || line == "") {
			if err == io.EOF {
				return nil, errNoHeader
			}
			return nil, err
		}
		line = strings.TrimPrefix(strings.TrimRight(line, "\r\n"), "\ufeff")
		if strings.TrimSpace(line) != "" && !strings.HasPrefix(line, "#TYPE") {
			head = line
			break
		}
		if skipped >= 20 {
			return nil, errNoHeader
		}
	}
	sep, header := ',', []string(nil)
	for _, c := range []rune{',', ';', '\t'} {
		if f := splitCSV(head, c); len(f) > len(header) {
			sep, header = c, f
		}
	}
	if len(header) == 0 {
		return nil, errNoHeader
	}
	t := &table{header: header, cols: map[string]int{}, limit: &recordLimiter{r: br, max: maxLine + 64<<10}}
	for i, h := range header {
		if k := normHeader(h); k != "" {
			if _, dup := t.cols[k]; !dup {
				t.cols[k] = i
			}
		}
	}
	t.cr = csv.NewReader(t.limit)
	t.cr.Comma = sep
	t.cr.FieldsPerRecord = -1
	t.cr.LazyQuotes = true
	t.cr.ReuseRecord = true
	return t, nil
}

// readLine reads one line of at most maxLine bytes.
func readLine(br *bufio.Reader) (string, error) {
	var b []byte
	for {
		chunk, err := br.ReadSlice('\n')
		b = append(b, chunk...)
		if len(b) > maxLine {
			return "", errLineTooLong
		}
		if err != bufio.ErrBufferFull {
			return string(b), err
		}
	}
}

func splitCSV(line string, sep rune) []string {
	cr := csv.NewReader(strings.NewReader(line))
	cr.Comma = sep
	cr.LazyQuotes = true
	cr.FieldsPerRecord = -1
	f, err := cr.Read()
	if err != nil {
		return nil
	}
	return f
}

// normHeader folds the spellings of a column name together: "Image Name",
// "ImageName" and "image_name" are all "imagename".
func normHeader(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(h)) {
		switch r {
		case ' ', '_', '-', '.', '"', '\ufeff':
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// col returns the index of the first of names (normalized) the header
// has, or -1.
func (t *table) col(names ...string) int {
	for _, n := range names {
		if i, ok := t.cols[n]; ok {
			return i
		}
	}
	return -1
}

// next returns the next record (valid until the following call), or io.EOF.
func (t *table) next() ([]string, error) {
	t.limit.n = 0
	rec, err := t.cr.Read()
	var pe *csv.ParseError
	switch {
	case err == nil, errors.Is(err, io.EOF):
		return rec, err
	case errors.Is(err, errLineTooLong):
		return nil, errLineTooLong
	case errors.As(err, &pe):
		return nil, fmt.Errorf("not valid CSV (%v)", pe.Err)
	}
	return nil, err
}

// field is rec[i] trimmed, "" when the record has no such column.
func field(rec []string, i int) string {
	if i < 0 || i >= len(rec) {
		return ""
	}
	return strings.TrimSpace(rec[i])
}

// isHeaderAgain reports whether rec repeats the header in column i, as
// schtasks /v does before each task folder.
func (t *table) isHeaderAgain(rec []string, i int) bool {
	return i >= 0 && i < len(t.header) && field(rec, i) == strings.TrimSpace(t.header[i])
}

// recordLimiter ends a record that grows past max bytes (counted since the
// last record, so it includes csv's read-ahead of a few KiB).
type recordLimiter struct {
	r   io.Reader
	n   int64
	max int64
}

func (l *recordLimiter) Read(p []byte) (int, error) {
	k, err := l.r.Read(p)
	l.n += int64(k)
	if l.n > l.max {
		return k, errLineTooLong
	}
	return k, err
}
