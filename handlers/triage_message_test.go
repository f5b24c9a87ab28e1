package handlers

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mdebot/mdebot/evidence"
	"github.com/mdebot/mdebot/triage"
)

// The largest summary triage can return (every list at its cap, every
// string of the package at its 256 characters, full of characters that
// mrkdwn must escape) still makes a message within Slack's block limits as
// plain text: the body within two of the renderer's four 3000-character
// sections, each field within 2000 characters, the fields within one
// section of ten; and every string from the package is a plain or code part.
func TestTriageMessageWithinBlockLimits(t *testing.T) {
	long := func(c string) string { return strings.Repeat(c, 256) }
	src := triage.Source{Read: []string{"x"}, Problems: []string{long("p")}}
	sum := &triage.Summary{Files: 1 << 20, Bytes: 1 << 40, FoldersMore: 7, FailedMore: 9}
	for range triage.MaxFolders {
		sum.Folders = append(sum.Folders, triage.Folder{Name: long("<"), Files: 99999})
	}
	for range triage.MaxFailures {
		sum.Failed = append(sum.Failed, triage.Failure{Collector: long("&"), Detail: long(">"), From: long("f")})
	}
	sum.Report = triage.Source{Problems: []string{long("r")}}
	sum.Network.Source = src
	for range triage.MaxRemotes {
		sum.Network.Established = append(sum.Network.Established, triage.Remote{Address: long("a"), Ports: []string{"1"}, Connections: 99})
	}
	sum.Network.EstablishedMore = 1000
	sum.Processes = triage.Processes{Source: src, Count: 99999, OutsideMore: 5}
	for range triage.MaxOutside {
		sum.Processes.Outside = append(sum.Processes.Outside, long("`"))
	}
	sum.Services = triage.Services{Source: src, Total: 99999, Running: 99999}
	sum.ScheduledTasks = triage.Count{Source: src, N: 99999}
	sum.Autoruns = triage.Count{Source: src, N: 99999}
	sum.Prefetch = triage.Count{Source: src, N: 99999}
	sum.Administrators = triage.Members{Source: src, More: 1000}
	for range triage.MaxMembers {
		sum.Administrators.Names = append(sum.Administrators.Names, long("<"))
	}
	svc := &Service{opt: Options{Command: "/mde-package"}} // the message needs no ports
	r := &Request{ID: "0123456789abcdef", MachineName: long("m")}
	m := svc.triageMessage(r, evidence.Custody{SHA256: strings.Repeat("0", 64)}, sum)
	t.Logf("body %d characters", utf8.RuneCountInString(m.Text.Plain()))
	if n := utf8.RuneCountInString(m.Text.Plain()); n > 2*3000 {
		t.Errorf("body of %d characters, more than two sections", n)
	}
	if len(m.Fields) > 10 {
		t.Errorf("%d fields, more than one section holds", len(m.Fields))
	}
	for _, f := range m.Fields {
		if n := utf8.RuneCountInString(f.Label) + 1 + utf8.RuneCountInString(f.Value.Plain()); n > 2000 {
			t.Errorf("field %s of %d characters", f.Label, n)
		}
	}
	for _, p := range append(append(Text{}, m.Text...), m.Context...) {
		if p.Kind != PartPlain && p.Kind != PartCode {
			t.Errorf("a part of kind %d in the summary: %+v", p.Kind, p)
		}
	}
	if !strings.Contains(m.Text.Plain(), "and 32 more folders") || !strings.Contains(m.Text.Plain(), "and 49 more failures") {
		t.Errorf("the cut lists do not say how many more: %s", m.Text.Plain())
	}
}
