package handlers

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/mdebot/mdebot/evidence"
	"github.com/mdebot/mdebot/triage"
)

// What the triage summary shows of each list, and how much of each string
// from the package (already cut to 256 characters by triage): enough to
// act on, and within Slack's block limits (a text section of 3000
// characters, a field of 2000) whatever the package holds. Every string
// from the package is a Plain or Code part: the renderer escapes it.
const (
	showFolders  = 25
	showFailures = 10
	showNames    = 20
	folderChars  = 48
	nameChars    = 80
	detailChars  = 100
	pathChars    = 120
	addressChars = 64
	problemChars = 150
)

// triageHeader names the summary and the device.
func triageHeader(r *Request) Text {
	switch {
	case r.MachineName != "":
		return T("Triage summary of " + r.MachineName)
	case r.MachineID != "":
		return T("Triage summary of ", Code(r.MachineID))
	}
	return T("Triage summary")
}

// triageContext says where the summary comes from and how to look further.
func (s *Service) triageContext(r *Request, c evidence.Custody) Text {
	return Tf("Request %s · read in place from the stored package (SHA-256 %s), nothing extracted · search it with %s",
		Code(r.ID), Code(c.SHA256), Code(s.opt.Command+" search "+r.ID+" <term>"))
}

// refusedTriageMessage is the note for a package that could not be
// summarised; it was delivered all the same.
func (s *Service) refusedTriageMessage(r *Request, c evidence.Custody, reason string) Message {
	return Message{
		Header:  triageHeader(r),
		Text:    T("The package was delivered as usual but could not be summarised: " + cutText(reason, 300) + "."),
		Context: s.triageContext(r, c),
	}
}

// triageMessage presents a summary: the folders, the collectors that
// failed and what ran from odd places as text, the counts as fields.
func (s *Service) triageMessage(r *Request, c evidence.Custody, sum *triage.Summary) Message {
	return Message{
		Header: triageHeader(r),
		Text:   Lines(foldersLine(sum), failuresLine(sum), outsideLine(sum.Processes)),
		Fields: []Field{
			{Label: "Established connections (foreign addresses)", Value: fact(sum.Network.Source, establishedText(sum.Network))},
			{Label: "Processes", Value: fact(sum.Processes.Source, processesText(sum.Processes))},
			{Label: "Running services", Value: fact(sum.Services.Source, Tf("%d of %d", sum.Services.Running, sum.Services.Total))},
			{Label: "Scheduled tasks", Value: fact(sum.ScheduledTasks.Source, Tf("%d", sum.ScheduledTasks.N))},
			{Label: "Autorun entries", Value: fact(sum.Autoruns.Source, Tf("%d", sum.Autoruns.N))},
			{Label: "Local Administrators", Value: fact(sum.Administrators.Source, membersText(sum.Administrators))},
			{Label: "Prefetch files", Value: fact(sum.Prefetch.Source, Tf("%d", sum.Prefetch.N))},
		},
		Context: s.triageContext(r, c),
	}
}

// fact shows a value read from the package, or why there is none: the
// package lacks it, or it could not be read (the first problem). A value
// read only in part says so.
func fact(src triage.Source, value Text) Text {
	switch {
	case src.Missing():
		return T("not in the package")
	case !src.Known():
		return T("could not be read: " + cutText(src.Problems[0], problemChars))
	case len(src.Problems) > 0:
		return T(value, " (partly read: "+cutText(src.Problems[0], problemChars)+")")
	}
	return value
}

func foldersLine(sum *triage.Summary) Text {
	t := Tf("%d files, %s uncompressed. Folders: ", sum.Files, triage.HumanSize(sum.Bytes))
	if len(sum.Folders) == 0 {
		return append(t, Plain("none."))
	}
	for i, f := range sum.Folders {
		if i == showFolders {
			break
		}
		if i > 0 {
			t = append(t, Plain(", "))
		}
		name := cutText(f.Name, folderChars)
		if f.Name == "" {
			name = "top level"
		}
		t = append(t, Plain(fmt.Sprintf("%s (%d)", name, f.Files)))
	}
	return append(t, Plain(more(max(len(sum.Folders)-showFolders, 0)+sum.FoldersMore, "folders")+"."))
}

func failuresLine(sum *triage.Summary) Text {
	t := T("Collectors that failed: ")
	if len(sum.Failed) == 0 {
		t = append(t, Plain("none"))
	}
	for i, f := range sum.Failed {
		if i == showFailures {
			break
		}
		if i > 0 {
			t = append(t, Plain("; "))
		}
		t = append(t, Plain(cutText(f.Collector, nameChars)+" ("+cutText(f.Detail, detailChars)+")"))
	}
	t = append(t, Plain(more(max(len(sum.Failed)-showFailures, 0)+sum.FailedMore, "failures")))
	switch {
	case sum.Report.Missing():
		t = append(t, Plain(" (the package has no "+triage.ReportName+")"))
	case !sum.Report.Known():
		t = append(t, Plain(" ("+triage.ReportName+" could not be read: "+cutText(sum.Report.Problems[0], problemChars)+")"))
	}
	return append(t, Plain("."))
}

func outsideLine(p triage.Processes) Text {
	if !p.Known() || len(p.Outside) == 0 {
		return nil
	}
	t := T("Running from outside the Windows and Program Files folders: ")
	for i, path := range p.Outside {
		if i > 0 {
			t = append(t, Plain(", "))
		}
		t = append(t, Code(cutText(path, pathChars)))
	}
	return append(t, Plain(more(p.OutsideMore, "executables")+"."))
}

// establishedText lists the distinct foreign addresses of ESTABLISHED
// connections, each a code span, with its number of connections when
// more than one.
func establishedText(n triage.Network) Text {
	if len(n.Established) == 0 {
		return T("none")
	}
	var t Text
	for i, r := range n.Established {
		if i > 0 {
			t = append(t, Plain(", "))
		}
		t = append(t, Code(cutText(r.Address, addressChars)))
		if r.Connections > 1 {
			t = append(t, Plain(fmt.Sprintf(" ×%d", r.Connections)))
		}
	}
	return append(t, Plain(more(n.EstablishedMore, "addresses")))
}

func processesText(p triage.Processes) Text {
	t := Tf("%d", p.Count)
	if n := len(p.Outside) + p.OutsideMore; n > 0 {
		t = append(t, Plain(fmt.Sprintf(", %d outside Windows and Program Files", n)))
	}
	return t
}

func membersText(m triage.Members) Text {
	if len(m.Names) == 0 {
		return T("none")
	}
	names := make([]string, 0, min(len(m.Names), showNames))
	for i, n := range m.Names {
		if i == showNames {
			break
		}
		names = append(names, cutText(n, nameChars))
	}
	return T(fmt.Sprintf("%d: %s%s", len(m.Names)+m.More, strings.Join(names, ", "), more(max(len(m.Names)-showNames, 0)+m.More, "members")))
}

// more is " and N more <what>", or "" when n is not positive.
func more(n int, what string) string {
	if n <= 0 {
		return ""
	}
	return fmt.Sprintf(" and %d more %s", n, what)
}

// cutText shortens s to n characters, marking the cut.
func cutText(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// plainMessage is a message as plain words, one line per part and field:
// what the custody record keeps of a summary.
func plainMessage(m Message) string {
	lines := []string{m.Header.Plain(), m.Text.Plain()}
	for _, f := range m.Fields {
		lines = append(lines, f.Label+": "+f.Value.Plain())
	}
	lines = append(lines, m.Context.Plain())
	var out []string
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// triageDigest is the summary as data for a SIEM (the triage.summary audit
// event's detail, compact JSON). A fact the package lacks or that could not
// be read is null, with the reason among problems; lists are the summary's
// (capped), with the count of the others.
type triageDigest struct {
	Files           int            `json:"files"`
	Bytes           int64          `json:"bytes"`
	Folders         map[string]int `json:"folders"`
	FoldersMore     int            `json:"folders_more,omitempty"`
	Failed          []string       `json:"failed"`
	FailedMore      int            `json:"failed_more,omitempty"`
	Established     []string       `json:"established"`
	EstablishedMore int            `json:"established_more,omitempty"`
	Processes       *int           `json:"processes"`
	Outside         []string       `json:"outside,omitempty"`
	Services        *int           `json:"services"`
	RunningServices *int           `json:"running_services"`
	ScheduledTasks  *int           `json:"scheduled_tasks"`
	Autoruns        *int           `json:"autoruns"`
	Administrators  []string       `json:"administrators"`
	Prefetch        *int           `json:"prefetch"`
	Problems        []string       `json:"problems,omitempty"`
}

func summaryDigest(sum *triage.Summary) string {
	d := triageDigest{Files: sum.Files, Bytes: sum.Bytes, Folders: map[string]int{}, FoldersMore: sum.FoldersMore,
		Failed: []string{}, FailedMore: sum.FailedMore, EstablishedMore: sum.Network.EstablishedMore, Outside: sum.Processes.Outside}
	for _, f := range sum.Folders {
		d.Folders[f.Name] = f.Files
	}
	for _, f := range sum.Failed {
		d.Failed = append(d.Failed, f.Collector+": "+f.Detail)
	}
	for _, src := range []triage.Source{sum.Report, sum.Network.Source, sum.Processes.Source, sum.Services.Source,
		sum.ScheduledTasks.Source, sum.Autoruns.Source, sum.Administrators.Source, sum.Prefetch.Source} {
		d.Problems = append(d.Problems, src.Problems...)
	}
	known := func(src triage.Source, n int) *int {
		if !src.Known() {
			return nil
		}
		return &n
	}
	if sum.Network.Known() {
		d.Established = []string{}
		for _, r := range sum.Network.Established {
			d.Established = append(d.Established, r.Address)
		}
	}
	d.Processes = known(sum.Processes.Source, sum.Processes.Count)
	d.Services = known(sum.Services.Source, sum.Services.Total)
	d.RunningServices = known(sum.Services.Source, sum.Services.Running)
	d.ScheduledTasks = known(sum.ScheduledTasks.Source, sum.ScheduledTasks.N)
	d.Autoruns = known(sum.Autoruns.Source, sum.Autoruns.N)
	d.Prefetch = known(sum.Prefetch.Source, sum.Prefetch.N)
	if sum.Administrators.Known() {
		d.Administrators = append([]string{}, sum.Administrators.Names...)
	}
	return digestJSON(d)
}

// refusedDigest is the detail for a package that could not be summarised.
func refusedDigest(reason string) string {
	return digestJSON(struct {
		Refused string `json:"refused"`
	}{reason})
}

func digestJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil { // plain strings and numbers: cannot happen
		return fmt.Sprintf("{\"error\":%q}", err.Error())
	}
	return string(b)
}
