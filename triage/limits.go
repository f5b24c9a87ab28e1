package triage

import (
	"errors"
	"fmt"
)

// Defaults of Limits.
const (
	DefaultMaxEntries      = 10000
	DefaultMaxUncompressed = 4 << 30
	DefaultMaxRatio        = 100
	DefaultMaxFileRead     = 64 << 20
)

// ratioFloor is the size under which an entry is not held to MaxRatio: a
// small entry cannot hurt, and short repetitive text compresses far beyond
// 100:1 (a file of 200 KiB of dashes, say).
const ratioFloor = 1 << 20

// Limits bound what Summarize and Search read from an untrusted package.
// Zero or negative fields take the defaults. The package-wide limits refuse
// the whole package (a *RefusedError); MaxFileRead only concerns one file.
type Limits struct {
	// MaxEntries is the most entries (files and folders) a package may
	// hold (default 10000, config triage.max_entries).
	MaxEntries int
	// MaxUncompressed is the most bytes a package may hold uncompressed, as
	// its headers declare them and as actually read (default 4 GiB, config
	// triage.max_uncompressed).
	MaxUncompressed int64
	// MaxRatio is the highest compression ratio of an entry, N for N:1
	// (default 100), checked on the headers and on the bytes actually read.
	// Entries under 1 MiB uncompressed are not held to it.
	MaxRatio int64
	// MaxFileRead is the most bytes read from one file (default 64 MiB): a
	// larger file is reported as not read by Summarize and searched up to
	// that point by Search.
	MaxFileRead int64
}

func (l Limits) withDefaults() Limits {
	if l.MaxEntries <= 0 {
		l.MaxEntries = DefaultMaxEntries
	}
	if l.MaxUncompressed <= 0 {
		l.MaxUncompressed = DefaultMaxUncompressed
	}
	if l.MaxRatio <= 0 {
		l.MaxRatio = DefaultMaxRatio
	}
	if l.MaxFileRead <= 0 {
		l.MaxFileRead = DefaultMaxFileRead
	}
	return l
}

// RefusedError is a package that could not be summarised or searched at
// all: it is not a readable zip, it breaks one of the Limits, or an entry
// name is unsafe. Reason is plain text for people, e.g. "it holds 20000
// entries, more than the limit of 10000"; it may quote entry names (with
// Go quoting), which are untrusted.
type RefusedError struct {
	Reason string
}

func (e *RefusedError) Error() string { return "triage: package refused: " + e.Reason }

// Refusal returns the reason of a *RefusedError in err's chain, for a note
// such as "could not be summarised: <reason>".
func Refusal(err error) (string, bool) {
	var re *RefusedError
	if errors.As(err, &re) {
		return re.Reason, true
	}
	return "", false
}

func refuse(format string, args ...any) error {
	return &RefusedError{Reason: fmt.Sprintf(format, args...)}
}

// errFileTooBig stops the reading of one file at MaxFileRead.
var errFileTooBig = errors.New("file larger than the read limit")

// HumanSize prints a size in binary units for reasons and notes.
func HumanSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
