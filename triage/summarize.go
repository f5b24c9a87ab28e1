package triage

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
)

// The documented folders and files read by Summarize, compared without
// regard to case.
const (
	folderNetwork   = "Network connections"
	folderProcesses = "Processes"
	folderServices  = "Services"
	folderTasks     = "Scheduled tasks"
	folderAutoruns  = "Autoruns"
	folderGroups    = "Users and Groups"
	folderPrefetch  = "Prefetch files"
	fileNetstat     = "ActiveNetConnections.txt"
	fileDNS         = "DnsCache.txt"
)

// errorOnlyMax is the largest file checked for holding only an error text.
const errorOnlyMax = 4096

// Summarize reads the package of the given size from r and tells what it
// holds. A package that cannot be summarised at all (not a zip, over a
// limit, an unsafe entry name) gives a *RefusedError, whose Reason
// completes "could not be summarised: "; a failure of r itself or the end
// of ctx is returned as such. Within a readable package, what cannot be
// read is a problem of the fact concerned, in the Summary.
func Summarize(ctx context.Context, r io.ReaderAt, size int64, lim Limits) (*Summary, error) {
	a, err := openArchive(r, size, lim.withDefaults())
	if err != nil {
		return nil, err
	}
	s := &summarizer{ctx: ctx, a: a, sum: &Summary{}}
	s.folders()
	for _, e := range a.files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := s.file(e); err != nil {
			return nil, err
		}
	}
	s.finish()
	return s.sum, nil
}

type summarizer struct {
	ctx     context.Context
	a       *archive
	sum     *Summary
	tasks   distinct
	outside distinct
	admins  distinct // members of the Administrators group, all its files together
}

// folders counts the files and bytes of each top-level folder.
func (s *summarizer) folders() {
	byName := map[string]*Folder{}
	for _, f := range s.a.folders {
		byName[f] = &Folder{Name: f}
	}
	for _, e := range s.a.files {
		f := byName[e.top]
		if f == nil {
			f = &Folder{Name: e.top}
			byName[e.top] = f
		}
		f.Files++
		f.Bytes += clampInt64(e.f.UncompressedSize64)
		s.sum.Files++
		s.sum.Bytes += clampInt64(e.f.UncompressedSize64)
	}
	for _, f := range byName {
		s.sum.Folders = append(s.sum.Folders, *f)
	}
	sort.Slice(s.sum.Folders, func(i, j int) bool { return s.sum.Folders[i].Name < s.sum.Folders[j].Name })
	if n := len(s.sum.Folders); n > MaxFolders {
		s.sum.FoldersMore = n - MaxFolders
		s.sum.Folders = s.sum.Folders[:MaxFolders]
	}
}

// in reports whether e is in the top-level folder named folder.
func in(e entry, folder string) bool { return strings.EqualFold(e.top, folder) }

func (s *summarizer) file(e entry) error {
	if in(e, folderPrefetch) && e.ext() == ".pf" {
		s.sum.Prefetch.N++
		return nil
	}
	if binaryExts[e.ext()] {
		return nil
	}
	if e.f.UncompressedSize64 <= errorOnlyMax {
		eo := &errorOnly{}
		notText, err := s.a.readLines(e, eo.line)
		if err != nil {
			if fatal := s.a.fatal(s.ctx, err); fatal != nil {
				return fatal
			}
		} else if !notText && eo.is() {
			s.sum.Failed = append(s.sum.Failed, Failure{Collector: e.name, Detail: eo.detail(), From: e.name})
			if in(e, folderAutoruns) { // a registry key that is not there: no values
				s.sum.Autoruns.Read = append(s.sum.Autoruns.Read, e.name)
			} else if src := s.source(e); src != nil {
				src.Problems = append(src.Problems, e.name+": holds only an error text")
			}
			return nil
		}
	}
	switch {
	case e.top == "" && strings.EqualFold(e.name, ReportName):
		return s.report(e)
	case is(e, folderNetwork, fileNetstat):
		p := newNetstatParser()
		return s.lines(e, &s.sum.Network.Source, p.line, func() ([]string, bool) {
			return p.result(&s.sum.Network), p.cols != nil
		})
	case is(e, folderNetwork, fileDNS):
		d := &dnsRecords{}
		return s.lines(e, &s.sum.Network.DNS.Source, d.line, func() ([]string, bool) {
			s.sum.Network.DNS.Records += d.n
			return nil, true
		})
	case in(e, folderAutoruns):
		rv := &regValues{}
		return s.lines(e, &s.sum.Autoruns.Source, rv.line, func() ([]string, bool) {
			if !rv.understood() {
				return []string{"not reg query output"}, false
			}
			s.sum.Autoruns.N += rv.values
			return nil, true
		})
	case in(e, folderGroups):
		return s.group(e)
	case in(e, folderProcesses):
		return s.table(e, &s.sum.Processes.Source, s.processes)
	case in(e, folderServices):
		return s.table(e, &s.sum.Services.Source, s.services)
	case in(e, folderTasks):
		return s.table(e, &s.sum.ScheduledTasks.Source, s.scheduledTasks)
	}
	return nil
}

// is reports whether e is the file named file directly in folder.
func is(e entry, folder, file string) bool {
	return strings.EqualFold(e.name, folder+"/"+file)
}

// source is the fact a file of e's folder feeds, if any.
func (s *summarizer) source(e entry) *Source {
	switch {
	case is(e, folderNetwork, fileNetstat):
		return &s.sum.Network.Source
	case is(e, folderNetwork, fileDNS):
		return &s.sum.Network.DNS.Source
	case in(e, folderProcesses):
		return &s.sum.Processes.Source
	case in(e, folderServices):
		return &s.sum.Services.Source
	case in(e, folderTasks):
		return &s.sum.ScheduledTasks.Source
	case in(e, folderGroups) && isAdministrators("", e.base()):
		return &s.sum.Administrators.Source
	case e.top == "" && strings.EqualFold(e.name, ReportName):
		return &s.sum.Report
	}
	return nil
}

// lines reads e line by line into parse; then done takes what was parsed
// and returns its problems and whether it was usable (e is then listed as
// read). A file that cannot be read to its end is a problem, and done is
// not called: nothing of it counts.
func (s *summarizer) lines(e entry, src *Source, parse func(string), done func() ([]string, bool)) error {
	notText, err := s.a.readLines(e, parse)
	switch {
	case err != nil:
		return s.problem(src, e, err)
	case notText:
		src.Problems = append(src.Problems, e.name+": not a text file")
		return nil
	}
	problems, ok := done()
	for _, p := range problems {
		src.Problems = append(src.Problems, e.name+": "+p)
	}
	if ok {
		src.Read = append(src.Read, e.name)
	}
	return nil
}

// problem records why e could not be read, unless err ends everything.
func (s *summarizer) problem(src *Source, e entry, err error) error {
	if fatal := s.a.fatal(s.ctx, err); fatal != nil {
		return fatal
	}
	src.Problems = append(src.Problems, e.name+": "+s.a.describe(err))
	return nil
}

// tableRows is how a CSV fact is read: given the header, the function
// returns what to do with each row and, once the whole file is read, what
// to commit; or why the file cannot do (a missing column).
type tableRows func(*table) (row func([]string), commit func(), missing string)

// table reads e as a CSV export. Like lines, only a whole file counts.
func (s *summarizer) table(e entry, src *Source, rows tableRows) error {
	rc, err := s.a.open(e)
	if err != nil {
		return s.problem(src, e, err)
	}
	defer rc.Close()
	text, ok, err := decodeText(rc)
	if err != nil {
		return s.problem(src, e, err)
	}
	if !ok {
		src.Problems = append(src.Problems, e.name+": not a text file")
		return nil
	}
	t, err := openTable(text)
	if err != nil {
		return s.problem(src, e, err)
	}
	row, commit, missing := rows(t)
	if missing != "" {
		src.Problems = append(src.Problems, e.name+": "+missing)
		return nil
	}
	for {
		rec, err := t.next()
		if err == io.EOF {
			commit()
			src.Read = append(src.Read, e.name)
			return nil
		}
		if err != nil {
			return s.problem(src, e, err)
		}
		row(rec)
	}
}

// report reads CollectionSummaryReport.xls.
func (s *summarizer) report(e entry) error {
	rc, err := s.a.open(e)
	if err != nil {
		return s.problem(&s.sum.Report, e, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxReport+1))
	if err != nil {
		return s.problem(&s.sum.Report, e, err)
	}
	if len(data) > maxReport {
		s.sum.Report.Problems = append(s.sum.Report.Problems, fmt.Sprintf("%s: not readable: larger than %s", e.name, HumanSize(maxReport)))
		return nil
	}
	rows, err := reportRows(data)
	var fails []Failure
	var problems []string
	if err == nil {
		fails, problems, err = reportFailures(rows)
	}
	if err != nil {
		s.sum.Report.Problems = append(s.sum.Report.Problems, e.name+": not readable: "+err.Error())
		return nil
	}
	s.sum.Report.Read = append(s.sum.Report.Read, e.name)
	for _, p := range problems {
		s.sum.Report.Problems = append(s.sum.Report.Problems, e.name+": "+p)
	}
	s.sum.Failed = append(s.sum.Failed, fails...)
	return nil
}

// finish sorts and caps the lists and settles the facts read from several
// files.
func (s *summarizer) finish() {
	sum := s.sum
	if s.a.hasFolder(folderPrefetch) {
		sum.Prefetch.Read = []string{s.a.folderName(folderPrefetch)}
	}
	sum.ScheduledTasks.N = len(s.tasks.m)
	if s.tasks.over {
		sum.ScheduledTasks.Problems = append(sum.ScheduledTasks.Problems, fmt.Sprintf("more than %d distinct tasks: the count is a lower bound", maxDistinct))
	}
	out := s.outside.sorted()
	if len(out) > MaxOutside {
		sum.Processes.OutsideMore = len(out) - MaxOutside
		out = out[:MaxOutside]
	}
	sum.Processes.Outside = out
	if s.outside.over {
		sum.Processes.Problems = append(sum.Processes.Problems, fmt.Sprintf("more than %d distinct executables outside Windows and Program Files", maxDistinct))
	}
	s.administrators()
	sort.SliceStable(sum.Failed, func(i, j int) bool {
		a, b := sum.Failed[i], sum.Failed[j]
		if (a.From == ReportName) != (b.From == ReportName) {
			return a.From == ReportName
		}
		if a.From != b.From {
			return a.From < b.From
		}
		return a.Collector < b.Collector
	})
	if n := len(sum.Failed); n > MaxFailures {
		sum.FailedMore = n - MaxFailures
		sum.Failed = sum.Failed[:MaxFailures]
	}
	for _, src := range []*Source{&sum.Report, &sum.Network.Source, &sum.Network.DNS.Source, &sum.Processes.Source,
		&sum.Services.Source, &sum.ScheduledTasks.Source, &sum.Autoruns.Source, &sum.Administrators.Source, &sum.Prefetch.Source} {
		src.tidy()
	}
}

// group reads a file of Users and Groups; only the Administrators group's
// files count (found by the group's own name, else the file's).
func (s *summarizer) group(e entry) error {
	g := &groupMembers{}
	var src Source
	admin := false
	err := s.lines(e, &src, g.line, func() ([]string, bool) {
		if admin = isAdministrators(g.alias, e.base()); !admin {
			return nil, false
		}
		if g.mode == 0 {
			return []string{"no member list (a line of dashes) found"}, false
		}
		for m := range g.members.m {
			s.admins.add(m)
		}
		s.admins.over = s.admins.over || g.members.over
		return nil, true
	})
	if admin || isAdministrators("", e.base()) {
		m := &s.sum.Administrators
		m.Read = append(m.Read, src.Read...)
		m.Problems = append(m.Problems, src.Problems...)
	}
	return err
}

// administrators lists the members of the Administrators group.
func (s *summarizer) administrators() {
	m := &s.sum.Administrators
	names := s.admins.sorted()
	if len(names) > MaxMembers {
		m.More = len(names) - MaxMembers
		names = names[:MaxMembers]
	}
	m.Names = names
	if s.admins.over {
		m.Problems = append(m.Problems, fmt.Sprintf("more than %d members: the list is cut", maxDistinct))
	}
}

// administratorsNames are the Administrators group's names in the
// languages Windows ships most (lower case).
var administratorsNames = map[string]bool{
	"administrators": true, "administratoren": true, "administrateurs": true,
	"administradores": true, "administratorer": true, "amministratori": true, "beheerders": true,
}

// isAdministrators: the group's own name says so, or, without one, the
// file's name (not a mere part of it: "Hyper-V Administrators" is another
// group).
func isAdministrators(alias, base string) bool {
	if alias != "" {
		return administratorsNames[strings.ToLower(alias)]
	}
	name := strings.ToLower(base)
	if i := strings.LastIndexByte(name, '.'); i > 0 {
		name = name[:i]
	}
	return administratorsNames[name]
}

// tidy sorts a Source's lists and caps its problems.
func (src *Source) tidy() {
	sort.Strings(src.Read)
	if n := len(src.Read); n > maxProblemList {
		src.ReadMore = n - maxProblemList
		src.Read = src.Read[:maxProblemList]
	}
	sort.Strings(src.Problems)
	if n := len(src.Problems); n > maxProblemList {
		src.Problems = append(src.Problems[:maxProblemList-1], fmt.Sprintf("and %d more problems", n-maxProblemList+1))
	}
}

func (a *archive) hasFolder(name string) bool { return a.folderName(name) != "" }

// folderName is the package's own spelling of a top-level folder.
func (a *archive) folderName(name string) string {
	for _, f := range a.folders {
		if strings.EqualFold(f, name) {
			return f
		}
	}
	return ""
}
