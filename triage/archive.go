package triage

import (
	"archive/zip"
	"bufio"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"path"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// archive is an opened package: its files sorted by name, read through
// meters that enforce the Limits. Entry names are only ever strings here,
// never paths on disk.
type archive struct {
	lim     Limits
	src     *trackedReaderAt
	files   []entry  // regular files, sorted by name
	folders []string // top-level folders, from files and folder entries, sorted
	read    int64    // uncompressed bytes actually read, all files together
	// seen is how far each entry was read: a file read twice (Summarize
	// reads small ones twice) counts once towards read.
	seen map[*zip.File]int64
}

// entry is one file of the package.
type entry struct {
	name string // slash-separated, cleaned, valid UTF-8
	top  string // its top-level folder, "" at the root
	f    *zip.File
}

func (e entry) base() string { return path.Base(e.name) }

func (e entry) ext() string { return strings.ToLower(path.Ext(e.name)) }

// openArchive checks the package against lim and lists its files.
func openArchive(r io.ReaderAt, size int64, lim Limits) (*archive, error) {
	if r == nil || size < 0 {
		return nil, fmt.Errorf("triage: no package to read (size %d)", size)
	}
	src := &trackedReaderAt{r: r}
	dir, err := checkDirectory(src, size, lim.MaxEntries)
	if src.err != nil {
		return nil, fmt.Errorf("triage: reading the package: %w", src.err)
	}
	if err != nil {
		if _, ok := Refusal(err); ok {
			return nil, err
		}
		return nil, refuse("it is not a zip file (%v)", err)
	}
	budget := &budgetReaderAt{r: src, left: dir.bytes + 512<<10}
	zr, err := zip.NewReader(budget, size)
	if src.err != nil {
		return nil, fmt.Errorf("triage: reading the package: %w", src.err)
	}
	switch {
	case errors.Is(err, errOverBudget):
		return nil, refuse("its central directory is larger than its headers show")
	case err != nil && !errors.Is(err, zip.ErrInsecurePath): // names are checked below
		return nil, refuse("it is not a readable zip file (%s)", strings.TrimPrefix(err.Error(), "zip: "))
	}
	budget.lifted = true
	if len(zr.File) > lim.MaxEntries {
		return nil, refuse("it holds %d entries, more than the limit of %d", len(zr.File), lim.MaxEntries)
	}
	a := &archive{lim: lim, src: src, seen: map[*zip.File]int64{}}
	var total uint64
	tops := map[string]bool{}
	for _, f := range zr.File {
		name, err := entryName(f.Name)
		if err != nil {
			return nil, err
		}
		name = clip(name) // only ever shown, and no real name is this long
		if u, c := f.UncompressedSize64, f.CompressedSize64; u > ratioFloor && overRatio(u, c, lim.MaxRatio) {
			return nil, refuse("entry %s declares %s uncompressed from %s compressed, over the compression ratio limit of %d:1",
				quoteName(name), HumanSize(clampInt64(u)), HumanSize(clampInt64(c)), lim.MaxRatio)
		}
		if total += f.UncompressedSize64; total > uint64(lim.MaxUncompressed) || total < f.UncompressedSize64 {
			return nil, refuse("its entries declare more than %s uncompressed, the limit", HumanSize(lim.MaxUncompressed))
		}
		top, _, nested := strings.Cut(name, "/")
		if isDir := strings.HasSuffix(f.Name, "/") || strings.HasSuffix(f.Name, `\`); isDir {
			tops[top] = true
			continue
		}
		if !nested {
			top = ""
		} else {
			tops[top] = true
		}
		a.files = append(a.files, entry{name: name, top: top, f: f})
	}
	sort.SliceStable(a.files, func(i, j int) bool { return a.files[i].name < a.files[j].name })
	for t := range tops {
		a.folders = append(a.folders, t)
	}
	sort.Strings(a.folders)
	return a, nil
}

func overRatio(u, c uint64, ratio int64) bool {
	if c > math.MaxUint64/uint64(ratio) {
		return false
	}
	return u > c*uint64(ratio)
}

func clampInt64(u uint64) int64 { return int64(min(u, math.MaxInt64)) }

// entryName turns a stored name into the slash-separated name shown to
// people, refusing what only an attack would hold: absolute names, ".."
// components, control characters. Backslashes are separators (older .NET
// zips use them); a name that is not UTF-8 is CP437, zip's default.
func entryName(raw string) (string, error) {
	name := raw
	if !utf8.ValidString(name) {
		name, _ = charmap.CodePage437.NewDecoder().String(name)
	}
	name = strings.ReplaceAll(name, `\`, "/")
	switch {
	case strings.Trim(name, "/") == "":
		return "", refuse("an entry has no name")
	case strings.HasPrefix(name, "/") || len(name) >= 2 && name[1] == ':' && isLetter(name[0]):
		return "", refuse("entry %s has an absolute name", quoteName(name))
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "", refuse("entry %s has a control character in its name", quoteName(name))
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", refuse("entry %s has a name that climbs out of the package (..)", quoteName(name))
		}
	}
	return path.Clean(name), nil
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// quoteName quotes an untrusted name for a reason, cut to 100 characters.
func quoteName(name string) string { return fmt.Sprintf("%q", cut(name, 100)) }

// open returns e's content through a meter.
func (a *archive) open(e entry) (io.ReadCloser, error) {
	rc, err := e.f.Open()
	if err != nil {
		return nil, err
	}
	return &meter{a: a, e: e, rc: rc, seen: a.seen[e.f]}, nil
}

// meter counts the bytes actually decompressed, whatever the headers say,
// and stops at the limits: MaxUncompressed over all files and MaxRatio per
// entry refuse the package, MaxFileRead ends this file with errFileTooBig.
type meter struct {
	a    *archive
	e    entry
	rc   io.ReadCloser
	n    int64
	seen int64 // how far an earlier read of the entry went
}

func (m *meter) Read(p []byte) (int, error) {
	limit := m.a.lim.MaxFileRead
	if room := limit - m.n + 1; int64(len(p)) > room {
		p = p[:room]
	}
	k, err := m.rc.Read(p)
	before := m.n
	m.n += int64(k)
	if grown := m.n - max(before, m.seen); grown > 0 {
		m.a.read += grown
		m.a.seen[m.e.f] = m.n
	}
	if m.a.read > m.a.lim.MaxUncompressed {
		return 0, refuse("more than %s read uncompressed, the limit", HumanSize(m.a.lim.MaxUncompressed))
	}
	if m.n > ratioFloor && overRatio(uint64(m.n), m.e.f.CompressedSize64, m.a.lim.MaxRatio) {
		return 0, refuse("entry %s inflates beyond the compression ratio limit of %d:1", quoteName(m.e.name), m.a.lim.MaxRatio)
	}
	if m.n > limit {
		return k - int(m.n-limit), errFileTooBig
	}
	return k, err
}

func (m *meter) Close() error { return m.rc.Close() }

// trackedReaderAt remembers the first failure of the underlying reader, so
// that a storage error is not mistaken for a damaged package.
type trackedReaderAt struct {
	r   io.ReaderAt
	err error
}

// errBadOffset is an entry that points before the package's start: the
// package's fault, not the reader's.
var errBadOffset = errors.New("an entry points before the start of the package")

func (t *trackedReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errBadOffset
	}
	n, err := t.r.ReadAt(p, off)
	if err != nil && err != io.EOF && t.err == nil {
		t.err = err
	}
	return n, err
}

// fatal returns the error that ends the whole operation, if err is one: a
// refusal, the context's end, or a failure of the underlying reader.
// Anything else only concerns the file being read.
func (a *archive) fatal(ctx context.Context, err error) error {
	if _, ok := Refusal(err); ok {
		return err
	}
	if a.src.err != nil {
		return fmt.Errorf("triage: reading the package: %w", a.src.err)
	}
	return ctx.Err()
}

// describe says why a file could not be read, for a problem line.
func (a *archive) describe(err error) string {
	var corrupt flate.CorruptInputError
	switch {
	case errors.Is(err, errFileTooBig):
		return "larger than the read limit of " + HumanSize(a.lim.MaxFileRead)
	case errors.Is(err, errLineTooLong), errors.Is(err, bufio.ErrTooLong):
		return "has a line longer than " + HumanSize(maxLine)
	case errors.Is(err, zip.ErrChecksum):
		return "damaged (checksum mismatch)"
	case errors.Is(err, zip.ErrAlgorithm):
		return "compressed with a method this bot does not read"
	case errors.Is(err, zip.ErrFormat), errors.As(err, &corrupt), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, errBadOffset):
		return "damaged (" + strings.TrimPrefix(err.Error(), "zip: ") + ")"
	}
	return err.Error()
}
