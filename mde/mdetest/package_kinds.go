package mdetest

import (
	"fmt"
	"io"
	"sync"
)

// PackageKind is which package a link serves.
type PackageKind string

// Package kinds. The realistic one is the default: Options.PackageSize
// sets its exact size (its Security.evtx filler makes it up). The others
// are hostile, for the triage's refusals.
const (
	// PackageRealistic is the documented folders and files with the facts of
	// RealisticFacts.
	PackageRealistic PackageKind = "realistic"
	// PackageTextHeavy is the realistic package plus deflated text logs in
	// WdSupportLogs making it about the size asked for (32 MiB of text per
	// log file): the worst case for a search.
	PackageTextHeavy PackageKind = "text-heavy"
	// PackageNotZip is a proxy's HTML error page, not a zip.
	PackageNotZip PackageKind = "not-zip"
	// PackageBomb has one entry, Network connections/ActiveNetConnections.txt,
	// declaring 8 GiB of spaces deflated about 1000:1 into 8 MiB (see BombSize).
	PackageBomb PackageKind = "bomb"
	// PackageManyEntries has 20000 small entries (see ManyEntries).
	PackageManyEntries PackageKind = "many-entries"
	// PackageDotDotNames has entries whose names climb out with "../".
	PackageDotDotNames PackageKind = "dotdot-names"
	// PackageAbsoluteNames has entries with absolute names (/etc/..., C:\...).
	PackageAbsoluteNames PackageKind = "absolute-names"
)

// PackageKinds lists every kind.
func PackageKinds() []PackageKind {
	return []PackageKind{PackageRealistic, PackageTextHeavy, PackageNotZip, PackageBomb,
		PackageManyEntries, PackageDotDotNames, PackageAbsoluteNames}
}

// HostileKinds lists the kinds a triage must refuse.
func HostileKinds() []PackageKind {
	return []PackageKind{PackageNotZip, PackageBomb, PackageManyEntries, PackageDotDotNames, PackageAbsoluteNames}
}

// WritePackage writes a package of the kind to w, streaming: nothing of
// its size is held in memory. size is the exact size of a realistic
// package (at least its minimum of some KiB) and the approximate size of a
// text-heavy one; the hostile kinds have their own.
func WritePackage(w io.Writer, kind PackageKind, size int64) error {
	switch kind {
	case PackageRealistic:
		var probe countWriter
		if err := writeZip(&probe, 0); err != nil {
			return err
		}
		return writeZip(w, max(size-probe.n, 0))
	case PackageTextHeavy:
		return writeTextHeavy(w, size)
	case PackageNotZip:
		return writeNotZip(w)
	case PackageBomb:
		return writeBomb(w)
	case PackageManyEntries:
		return writeManyEntries(w)
	case PackageDotDotNames:
		return writeNamed(w, dotDotNames)
	case PackageAbsoluteNames:
		return writeNamed(w, absoluteNames)
	}
	return fmt.Errorf("mdetest: unknown package kind %q", kind)
}

// packageKinds holds the packages other than the default, built on first
// use, and which action and link serve which.
type packageKinds struct {
	mu       sync.Mutex
	files    map[PackageKind]packageFile
	byAction map[string]PackageKind
	byToken  map[string]PackageKind
}

// SetPackage makes the links of an action (issued from now on) serve a
// package of the kind; PackageRealistic is the default package of
// Options.PackageSize, a text-heavy one is about 1 MiB. The package is
// built into a temp file the first time a kind is asked for.
func (s *Server) SetPackage(actionID string, kind PackageKind) error {
	if _, err := s.kindFile(kind); err != nil {
		return err
	}
	k := &s.kinds
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.byAction == nil {
		k.byAction = map[string]PackageKind{}
	}
	k.byAction[actionID] = kind
	return nil
}

// PackageOf returns the size and hex SHA-256 of the package an action's
// links serve.
func (s *Server) PackageOf(actionID string) (int64, string) {
	k := &s.kinds
	k.mu.Lock()
	kind := k.byAction[actionID]
	k.mu.Unlock()
	p, _ := s.kindFile(kind)
	return p.size, p.sha256
}

// bindLink remembers which package a link token serves.
func (s *Server) bindLink(token, actionID string) {
	k := &s.kinds
	k.mu.Lock()
	defer k.mu.Unlock()
	if kind, ok := k.byAction[actionID]; ok {
		if k.byToken == nil {
			k.byToken = map[string]PackageKind{}
		}
		k.byToken[token] = kind
	}
}

// packageFor is the package a link token serves.
func (s *Server) packageFor(token string) packageFile {
	k := &s.kinds
	k.mu.Lock()
	kind := k.byToken[token]
	k.mu.Unlock()
	p, _ := s.kindFile(kind) // built when the kind was set
	return p
}

// kindFile returns the file of a kind, building it on first use.
func (s *Server) kindFile(kind PackageKind) (packageFile, error) {
	if kind == "" || kind == PackageRealistic {
		return s.pkg, nil
	}
	k := &s.kinds
	k.mu.Lock()
	defer k.mu.Unlock()
	if p, ok := k.files[kind]; ok {
		return p, nil
	}
	p, err := writeTemp(func(w io.Writer) error { return WritePackage(w, kind, 1<<20) })
	if err != nil {
		return packageFile{}, err
	}
	if k.files == nil {
		k.files = map[PackageKind]packageFile{}
	}
	k.files[kind] = p
	return p, nil
}

// remove deletes the kinds' files.
func (k *packageKinds) remove() {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, p := range k.files {
		p.remove()
	}
}
