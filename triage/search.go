package triage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Search bounds.
const (
	DefaultMaxMatches = 20
	MaxMatchesLimit   = 1000
	MaxMatchText      = 200 // characters of a matching line shown
	MinTermLength     = 2
	MaxTermLength     = 200
)

// SearchResult is what Search found.
type SearchResult struct {
	// Matches are the first matching lines, by path then line, at most the
	// max asked for.
	Matches []Match
	// Total counts every matching line of the package.
	Total int
	// Files counts the text files searched; Binary the files not searched
	// because they are not text (.evtx, .pf, ...).
	Files  int
	Binary int
	// Unread say, one per file, what was not searched and why: damaged,
	// or searched only up to the read limit or a line too long. Sorted, at
	// most 20.
	Unread []string
}

// Match is one matching line, shown as "Path:Line: Text".
type Match struct {
	Path string // the entry's name, folder/file
	Line int    // from 1
	// Text is the line without surrounding white space, cut to
	// MaxMatchText characters around the match ("…" marks a cut). Raw:
	// escape it to show it.
	Text string
}

func (m Match) String() string { return fmt.Sprintf("%s:%d: %s", m.Path, m.Line, m.Text) }

// ValidateTerm checks a search term: 2 to 200 characters, no control
// characters. Its errors are plain sentences for the person who typed it.
func ValidateTerm(term string) error {
	n := utf8.RuneCountInString(term)
	switch {
	case !utf8.ValidString(term):
		return errors.New("the search term is not valid UTF-8 text")
	case n < MinTermLength:
		return fmt.Errorf("the search term must be at least %d characters long", MinTermLength)
	case n > MaxTermLength:
		return fmt.Errorf("the search term must be at most %d characters long (it has %d)", MaxTermLength, n)
	case strings.TrimSpace(term) == "":
		return errors.New("the search term must not be only spaces")
	}
	if i := strings.IndexFunc(term, unicode.IsControl); i >= 0 {
		r, _ := utf8.DecodeRuneInString(term[i:])
		return fmt.Errorf("the search term must not contain control characters (it has %U)", r)
	}
	return nil
}

// Search looks for term, ignoring case, in every text and CSV file of the
// package (decoded as Summarize decodes them) and returns the first max
// matching lines (DefaultMaxMatches when max <= 0, at most
// MaxMatchesLimit) and the total. The term must pass ValidateTerm. Errors
// are as Summarize's: a *RefusedError for a package that cannot be read
// at all.
func Search(ctx context.Context, r io.ReaderAt, size int64, term string, max int, lim Limits) (*SearchResult, error) {
	if err := ValidateTerm(term); err != nil {
		return nil, err
	}
	if max <= 0 {
		max = DefaultMaxMatches
	}
	max = min(max, MaxMatchesLimit)
	a, err := openArchive(r, size, lim.withDefaults())
	if err != nil {
		return nil, err
	}
	s := &searcher{ctx: ctx, a: a, max: max, needle: []byte(foldString(term)), res: &SearchResult{}}
	for _, e := range a.files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := s.file(e); err != nil {
			return nil, err
		}
	}
	sort.Strings(s.res.Unread)
	if n := len(s.res.Unread); n > maxProblemList {
		s.res.Unread = append(s.res.Unread[:maxProblemList-1], fmt.Sprintf("and %d more files", n-maxProblemList+1))
	}
	return s.res, nil
}

type searcher struct {
	ctx    context.Context
	a      *archive
	max    int
	needle []byte
	fold   []byte // the line being searched, folded (reused)
	res    *SearchResult
}

func (s *searcher) file(e entry) error {
	if binaryExts[e.ext()] {
		s.res.Binary++
		return nil
	}
	rc, err := s.a.open(e)
	if err != nil {
		return s.unread(e, err)
	}
	defer rc.Close()
	text, ok, err := decodeText(rc)
	if err != nil {
		return s.unread(e, err)
	}
	if !ok {
		s.res.Binary++
		return nil
	}
	s.res.Files++
	lr := newLineReader(text)
	for {
		line, ok := lr.nextBytes()
		if !ok {
			break
		}
		if lr.n%4096 == 0 {
			if err := s.ctx.Err(); err != nil {
				return err
			}
		}
		if at := s.index(line); at >= 0 {
			s.res.Total++
			if len(s.res.Matches) < s.max {
				s.res.Matches = append(s.res.Matches, Match{Path: e.name, Line: lr.n, Text: excerpt(line, at)})
			}
		}
	}
	if err := lr.err(); err != nil {
		return s.unread(e, err)
	}
	return nil
}

// unread notes a file not searched to its end, unless err ends everything.
func (s *searcher) unread(e entry, err error) error {
	if fatal := s.a.fatal(s.ctx, err); fatal != nil {
		return fatal
	}
	var why string
	switch {
	case errors.Is(err, errFileTooBig):
		why = "searched only its first " + HumanSize(s.a.lim.MaxFileRead) + " (the read limit)"
	case errors.Is(err, errLineTooLong):
		why = "searched only up to a line longer than " + HumanSize(maxLine)
	default:
		why = "not searched to its end: " + s.a.describe(err)
	}
	s.res.Unread = append(s.res.Unread, e.name+": "+why)
	return nil
}

// index returns the byte offset in line where the needle starts, ignoring
// case, or -1. ASCII lines, the common case, fold in place without
// allocating.
func (s *searcher) index(line []byte) int {
	s.fold = append(s.fold[:0], line...)
	for i, c := range s.fold {
		switch {
		case c >= utf8.RuneSelf:
			// Folding may change byte lengths: find the match's rune index
			// in the folded text and map it back.
			return foldedIndex(string(line), string(s.needle))
		case 'A' <= c && c <= 'Z':
			s.fold[i] = c + 'a' - 'A'
		}
	}
	return bytes.Index(s.fold, s.needle)
}

// foldString folds s for caseless matching (simple lower-casing, one rune
// for one rune, as strings.ToLower but keeping rune counts).
func foldString(s string) string {
	return strings.Map(unicode.ToLower, s)
}

// foldedIndex is index for any text: the byte offset in line of the
// match of the folded needle.
func foldedIndex(line, needle string) int {
	folded := foldString(line)
	i := strings.Index(folded, needle)
	if i < 0 {
		return -1
	}
	runes := utf8.RuneCountInString(folded[:i])
	for off := range line {
		if runes == 0 {
			return off
		}
		runes--
	}
	return len(line)
}

// excerpt is the line trimmed, cut to MaxMatchText characters around the
// match at byte offset at.
func excerpt(line []byte, at int) string {
	lead := utf8.RuneCount(bytes.TrimLeftFunc(line[:at], unicode.IsSpace))
	r := []rune(strings.TrimSpace(string(line)))
	if len(r) <= MaxMatchText {
		return string(r)
	}
	start := max(0, min(lead-MaxMatchText/4, len(r)-MaxMatchText))
	end := min(len(r), start+MaxMatchText)
	prefix, suffix := "", ""
	if start > 0 {
		prefix, start = "…", start+1
	}
	if end < len(r) {
		suffix, end = "…", end-1
	}
	return prefix + string(r[start:end]) + suffix
}
