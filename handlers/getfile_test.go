package handlers

import (
	"strings"
	"testing"

	"github.com/mdebot/mdebot/mde"
)

// A GetFile result is delivered as <host>-<file name>.gz: only letters,
// digits, dots, hyphens and underscores, no leading dot, at most 100
// characters, always ending in .gz.
func TestLiveFileName(t *testing.T) {
	tests := []struct {
		machine, id, path, want string
	}{
		{"ws-0042.contoso.local", "", `C:\Users\alice\AppData\Local\Temp\invoice.js`, "ws-0042.contoso.local-invoice.js.gz"},
		{"srv-db01", "", "/var/log/auth.log", "srv-db01-auth.log.gz"},
		{"", "1e5bc9d7e413ddd7902c2932e418702b84d0cc07", "/tmp/x", "1e5bc9d7e413ddd7902c2932e418702b84d0cc07-x.gz"},
		{"ws-1", "", `C:\Temp\my report (final).docx`, "ws-1-my_report_final_.docx.gz"},
		{"ws-1", "", "/home/alice/.bash_history", "ws-1-bash_history.gz"},
		{"ws-1", "", `C:\Temp\..\..\evil`, "ws-1-evil.gz"},
		{"ws-1", "", "/tmp/ünïcödé<script>.txt", "ws-1-n_c_d_script_.txt.gz"},
		{"ws-1", "", "/tmp/...", "ws-1-file.gz"},
		{"ws-1", "", "/tmp/" + strings.Repeat("a", 300), "ws-1-" + strings.Repeat("a", 100-len("ws-1-")-len(".gz")) + ".gz"},
	}
	for _, tt := range tests {
		got := liveFileName(&Request{MachineName: tt.machine, MachineID: tt.id, Path: tt.path})
		if got != tt.want {
			t.Errorf("liveFileName(%q, %q) = %q, want %q", tt.machine, tt.path, got, tt.want)
		}
		if len(got) > maxFileName || !strings.HasSuffix(got, ".gz") || strings.ContainsAny(got, `/\ `) {
			t.Errorf("liveFileName(%q) = %q breaks the naming rules", tt.path, got)
		}
	}
}

// approval.required_for: empty means every kind; otherwise only the kinds listed.
func TestApprovalNeededFor(t *testing.T) {
	tests := []struct {
		rule ApprovalRule
		kind Kind
		want bool
	}{
		{ApprovalRule{Required: true}, KindGet, true},
		{ApprovalRule{Required: true}, KindGetFile, true},
		{ApprovalRule{Required: false, RequiredFor: []Kind{KindGetFile}}, KindGetFile, false},
		{ApprovalRule{Required: true, RequiredFor: []Kind{KindGetFile}}, KindGetFile, true},
		{ApprovalRule{Required: true, RequiredFor: []Kind{KindGetFile}}, KindGet, false},
		{ApprovalRule{Required: true, RequiredFor: []Kind{KindGetFile}}, KindCollect, false},
		{ApprovalRule{Required: true, RequiredFor: []Kind{KindGet, KindCollect}}, KindCollect, true},
	}
	for _, tt := range tests {
		if got := tt.rule.NeededFor(tt.kind); got != tt.want {
			t.Errorf("%+v.NeededFor(%s) = %v, want %v", tt.rule, tt.kind, got, tt.want)
		}
	}
}

// A succeeded LiveResponse action is ready only once its GetFile command
// completed; a failed command ends the request with Defender's words.
func TestCommandOutcome(t *testing.T) {
	cmd := func(status string, errs ...string) []mde.LiveResponseCommand {
		return []mde.LiveResponseCommand{{CommandStatus: status, Errors: errs}}
	}
	tests := []struct {
		name     string
		commands []mde.LiveResponseCommand
		done     bool
		failure  string
	}{
		{"no commands listed", nil, true, ""},
		{"completed", cmd(mde.CommandCompleted), true, ""},
		{"created", cmd(mde.CommandCreated), false, ""},
		{"in progress", cmd(mde.CommandInProgress), false, ""},
		{"failed", cmd(mde.CommandFailed, "The system cannot find the file specified."), false, "The system cannot find the file specified."},
		{"cancelled", cmd("Cancelled"), false, "ended Cancelled"},
	}
	for _, tt := range tests {
		done, failure := commandOutcome(&mde.MachineAction{Status: mde.StatusSucceeded, Commands: tt.commands})
		if done != tt.done || (tt.failure == "") != (failure == "") || !strings.Contains(failure, tt.failure) {
			t.Errorf("%s: commandOutcome = %v, %q; want %v, %q", tt.name, done, failure, tt.done, tt.failure)
		}
	}
}

// The path of a LiveResponse action's GetFile command is what a get of that
// action delivers; an action without a valid one has nothing to deliver.
func TestGetFilePath(t *testing.T) {
	getFile := func(params ...mde.CommandParam) *mde.MachineAction {
		return &mde.MachineAction{Type: mde.TypeLiveResponse, Commands: []mde.LiveResponseCommand{{Command: mde.CommandDef{Type: mde.CommandGetFile, Params: params}}}}
	}
	a := getFile(mde.CommandParam{Key: "Path", Value: `C:\x.txt`})
	a.Commands[0].CommandStatus = mde.CommandCompleted
	if p, st, ok := getFilePath(a); !ok || p != `C:\x.txt` || st != mde.CommandCompleted {
		t.Errorf("getFilePath = %q, %q, %v", p, st, ok)
	}
	for name, a := range map[string]*mde.MachineAction{
		"no commands":   {Type: mde.TypeLiveResponse},
		"a RunScript":   {Type: mde.TypeLiveResponse, Commands: []mde.LiveResponseCommand{{Command: mde.CommandDef{Type: "RunScript"}}}},
		"a bad path":    getFile(mde.CommandParam{Key: "Path", Value: `relative\x`}),
		"no Path param": getFile(mde.CommandParam{Key: "Other", Value: `C:\x.txt`}),
	} {
		if p, _, ok := getFilePath(a); ok {
			t.Errorf("%s: getFilePath = %q, want none", name, p)
		}
	}
}
