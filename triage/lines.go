package triage

import (
	"regexp"
	"sort"
	"strings"
)

// regValues counts the values listed by reg query, the Autoruns files'
// format:
//
//	HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Run
//	    SecurityHealth    REG_EXPAND_SZ    %windir%\system32\SecurityHealthSystray.exe
type regValues struct {
	values, keys, other int
}

var regValueLine = regexp.MustCompile(`^\s+(\S.*?)\s{2,}(REG_[A-Z0-9_]+)(?:\s{2,}(.*))?$`)

func (r *regValues) line(line string) {
	t := strings.TrimSpace(line)
	switch {
	case t == "":
	case strings.HasPrefix(strings.ToUpper(t), "HKEY_") || strings.HasPrefix(strings.ToUpper(t), "HKLM\\") || strings.HasPrefix(strings.ToUpper(t), "HKCU\\"):
		r.keys++
	default:
		m := regValueLine.FindStringSubmatch(line)
		if m == nil {
			r.other++
			return
		}
		data := strings.TrimSpace(m[3])
		if strings.EqualFold(m[1], "(Default)") && (data == "" || strings.EqualFold(data, "(value not set)")) {
			return
		}
		r.values++
	}
}

// understood reports whether the file looked like reg query output at all
// (an empty file is: a key without values).
func (r *regValues) understood() bool { return r.keys > 0 || r.values > 0 || r.other == 0 }

// errorOnly tells whether a file holds nothing but an error text, as
// collectors write when what they look for is missing or they failed.
type errorOnly struct {
	text  []string
	other bool
}

// errorTexts start the lines of such files (lower case).
var errorTexts = []string{
	"error:",
	"the system cannot find the path specified",
	"the system cannot find the file specified",
	"the system was unable to find the specified registry key or value",
	"access is denied",
}

func (e *errorOnly) line(line string) {
	t := strings.TrimSpace(line)
	if t == "" || e.other {
		return
	}
	low := strings.ToLower(t)
	for _, p := range errorTexts {
		if strings.HasPrefix(low, p) {
			if len(e.text) < 3 {
				e.text = append(e.text, t)
			}
			return
		}
	}
	e.other = true
}

func (e *errorOnly) is() bool { return !e.other && len(e.text) > 0 }

func (e *errorOnly) detail() string { return cut(strings.Join(e.text, " "), 200) }

// groupMembers reads one local group's listing, from net localgroup:
//
//	Alias name     Administrators
//	...
//	-------------------------------------------------------------------------------
//	Administrator
//	The command completed successfully.
//
// or from a PowerShell table (Get-LocalGroupMember), whose dashed rule
// under the header gives the columns and whose Name column is taken.
type groupMembers struct {
	alias   string
	prev    string // the last non-blank line, the table header when a rule follows
	mode    int    // 0 before the rule, 1 a list, 2 a table
	nameAt  [2]int // the Name column's rune span in table mode
	members distinct
}

// aliasLabels start the line naming the group (lower case).
var aliasLabels = []string{"alias name", "aliasname", "nom d'alias", "nombre de alias"}

// doneTexts end net's output (lower case).
var doneTexts = []string{"the command completed", "der befehl wurde", "la commande s'est", "el comando se"}

func (g *groupMembers) line(line string) {
	t := strings.TrimSpace(line)
	if t == "" {
		return
	}
	low := strings.ToLower(t)
	switch g.mode {
	case 0:
		for _, l := range aliasLabels {
			if strings.HasPrefix(low, l) && g.alias == "" {
				g.alias = strings.TrimSpace(t[len(l):])
			}
		}
		if strings.Trim(t, "- ") == "" && strings.Count(t, "-") >= 3 {
			g.rule(line)
		}
		g.prev = line
	case 1:
		for _, d := range doneTexts {
			if strings.HasPrefix(low, d) {
				return
			}
		}
		g.add(t)
	case 2:
		r := []rune(line)
		if g.nameAt[0] < len(r) {
			g.add(strings.TrimSpace(string(r[g.nameAt[0]:min(g.nameAt[1], len(r))])))
		}
	}
}

// rule switches to the list after net's single rule, or to a table when
// the rule has one run of dashes per column and the header a Name column.
func (g *groupMembers) rule(line string) {
	r := []rune(line)
	var runs [][2]int
	for i := 0; i < len(r); {
		if r[i] != '-' {
			i++
			continue
		}
		j := i
		for j < len(r) && r[j] == '-' {
			j++
		}
		runs = append(runs, [2]int{i, j})
		i = j
	}
	if len(runs) <= 1 {
		g.mode = 1
		return
	}
	head := []rune(g.prev)
	for k, run := range runs {
		if run[0] >= len(head) {
			break
		}
		end := len(r) + 1<<20 // the last column runs to the end of the line
		if k+1 < len(runs) {
			end = runs[k+1][0]
		}
		if strings.EqualFold(strings.TrimSpace(string(head[run[0]:min(end, len(head))])), "Name") {
			g.mode, g.nameAt = 2, [2]int{run[0], end}
			return
		}
	}
}

func (g *groupMembers) add(m string) {
	if m != "" {
		g.members.add(clip(m))
	}
}

// distinct is a set of at most maxDistinct strings; over records that
// more were offered.
type distinct struct {
	m    map[string]bool
	over bool
}

func (d *distinct) add(s string) {
	if d.m == nil {
		d.m = map[string]bool{}
	}
	if d.m[s] {
		return
	}
	if len(d.m) >= maxDistinct {
		d.over = true
		return
	}
	d.m[s] = true
}

func (d *distinct) sorted() []string {
	out := make([]string, 0, len(d.m))
	for s := range d.m {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}
