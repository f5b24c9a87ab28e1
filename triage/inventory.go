package triage

import "strings"

// Column names of the CSV exports, normalized (see normHeader), in order
// of preference: the spellings of Win32_* exports, tasklist, schtasks,
// PowerShell and the one public parser.
var (
	processNameCols = []string{"name", "imagename", "processname", "caption"}
	processPathCols = []string{"executablepath", "path", "imagepath", "exepath", "processpath"}
	serviceNameCols = []string{"name", "servicename", "displayname"}
	stateCols       = []string{"state", "status", "currentstate"}
	taskNameCols    = []string{"taskname", "uri", "name"}
	taskPathCols    = []string{"taskpath"}
)

// missingColumn says which column a file lacks, naming the accepted
// spellings: "no column named Name, Image Name or ProcessName".
func missingColumn(spellings string) string { return "no column named " + spellings }

func (s *summarizer) processes(t *table) (func([]string), func(), string) {
	name, exe := t.col(processNameCols...), t.col(processPathCols...)
	if name < 0 {
		return nil, nil, missingColumn("Name, Image Name or ProcessName")
	}
	var count int
	var outside distinct
	row := func(rec []string) {
		if field(rec, name) == "" || t.isHeaderAgain(rec, name) {
			return
		}
		count++
		if p := field(rec, exe); exe >= 0 && p != "" {
			if out, known := outsideSystem(p); known && out {
				outside.add(clip(p))
			}
		}
	}
	commit := func() {
		s.sum.Processes.Count += count
		for p := range outside.m {
			s.outside.add(p)
		}
		s.outside.over = s.outside.over || outside.over
		if exe < 0 {
			s.sum.Processes.OutsideProblem = "no executable path column (ExecutablePath, Path or Image Path)"
		}
	}
	return row, commit, ""
}

func (s *summarizer) services(t *table) (func([]string), func(), string) {
	name, state := t.col(serviceNameCols...), t.col(stateCols...)
	switch {
	case name < 0:
		return nil, nil, missingColumn("Name, ServiceName or DisplayName")
	case state < 0:
		return nil, nil, missingColumn("State or Status")
	}
	var total, running int
	row := func(rec []string) {
		if field(rec, name) == "" || t.isHeaderAgain(rec, name) {
			return
		}
		total++
		if st := field(rec, state); strings.EqualFold(st, "Running") || strings.EqualFold(st, "Wird ausgeführt") {
			running++
		}
	}
	commit := func() {
		s.sum.Services.Total += total
		s.sum.Services.Running += running
	}
	return row, commit, ""
}

// scheduledTasks counts distinct task names: schtasks /v lists a task once
// per trigger and repeats its header before each folder.
func (s *summarizer) scheduledTasks(t *table) (func([]string), func(), string) {
	name, folder := t.col(taskNameCols...), t.col(taskPathCols...)
	if name < 0 {
		return nil, nil, missingColumn("TaskName, Task Name, URI or Name")
	}
	var tasks distinct
	row := func(rec []string) {
		n := field(rec, name)
		if n == "" || t.isHeaderAgain(rec, name) {
			return
		}
		tasks.add(clip(field(rec, folder) + n))
	}
	commit := func() {
		for n := range tasks.m {
			s.tasks.add(n)
		}
		s.tasks.over = s.tasks.over || tasks.over
	}
	return row, commit, ""
}

// outsideSystem tells whether an executable's path is outside the Windows
// and Program Files folders; known is false for what is not an absolute
// path (a bare name says nothing of where the file is).
func outsideSystem(p string) (outside, known bool) {
	l := strings.ToLower(strings.ReplaceAll(strings.Trim(strings.TrimSpace(p), `"`), "/", `\`))
	for _, prefix := range []string{`\\?\`, `\??\`} {
		l = strings.TrimPrefix(l, prefix)
	}
	for _, inside := range []string{`\systemroot\`, `%systemroot%\`, `%windir%\`, `%programfiles%\`, `%programfiles(x86)%\`, `%programw6432%\`} {
		if strings.HasPrefix(l, inside) {
			return false, true
		}
	}
	if rest, ok := strings.CutPrefix(l, `\device\`); ok { // \Device\HarddiskVolume3\Windows\...
		if _, after, ok := strings.Cut(rest, `\`); ok {
			return !systemFolder(after), true
		}
		return true, true
	}
	switch {
	case len(l) >= 3 && isLetter(l[0]) && l[1] == ':' && l[2] == '\\':
		return !systemFolder(l[3:]), true
	case strings.HasPrefix(l, `\\`): // a network share
		return true, true
	}
	return false, false
}

// systemFolder: a path below a drive's root in Windows or Program Files.
func systemFolder(rest string) bool {
	for _, f := range []string{`windows\`, `program files\`, `program files (x86)\`} {
		if strings.HasPrefix(rest, f) {
			return true
		}
	}
	return false
}
