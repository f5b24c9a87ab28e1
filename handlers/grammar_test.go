package handlers

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	const guid = "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6a7b"
	const hex40 = "0123456789abcdef0123456789abcdef01234567"
	tests := []struct {
		text    string
		want    Parsed
		wantErr string // substring of the user-facing error
	}{
		{text: "", want: Parsed{Verb: VerbHelp}},
		{text: "   ", want: Parsed{Verb: VerbHelp}},
		{text: "help", want: Parsed{Verb: VerbHelp}},
		{text: "HELP", want: Parsed{Verb: VerbHelp}},
		{text: guid, want: Parsed{Verb: VerbGet, Target: guid}},
		{text: strings.ToUpper(guid), want: Parsed{Verb: VerbGet, Target: guid}},
		{text: hex40, want: Parsed{Verb: VerbGet, Target: hex40}},
		{text: "get " + guid, want: Parsed{Verb: VerbGet, Target: guid}},
		{text: "status  " + guid, want: Parsed{Verb: VerbStatus, Target: guid}},
		{text: "login", want: Parsed{Verb: VerbLogin}},
		{text: "logout", want: Parsed{Verb: VerbLogout}},
		{text: "whoami", want: Parsed{Verb: VerbWhoami}},
		{text: "collect " + hex40, want: Parsed{Verb: VerbCollect, Target: hex40}},
		{text: "collect ws-0042.contoso.local suspicious  PowerShell, INC-1", want: Parsed{Verb: VerbCollect, Target: "ws-0042.contoso.local", Comment: "suspicious  PowerShell, INC-1"}},
		{text: "collect WS-0042", want: Parsed{Verb: VerbCollect, Target: "ws-0042"}},
		{text: "get", wantErr: "Usage"},
		{text: "get 123", wantErr: "not a machine action ID"},
		{text: "get ../../machines", wantErr: "not a machine action ID"},
		{text: "get " + guid + " extra", wantErr: "Usage"},
		{text: "status " + guid + "x", wantErr: "not a machine action ID"},
		{text: "collect", wantErr: "Usage"},
		{text: "collect -bad-", wantErr: "neither a machine ID"},
		{text: "collect host_name", wantErr: "neither a machine ID"},
		{text: "collect a/b", wantErr: "neither a machine ID"},
		{text: "collect " + strings.Repeat("a", 64), wantErr: "neither a machine ID"},
		{text: "collect host " + strings.Repeat("x", 501), wantErr: "too long"},
		{text: "login now", wantErr: "takes no arguments"},
		{text: "frobnicate", wantErr: "neither a command"},
		{text: "frobnicate the thing", wantErr: "Unknown command"},
		{text: "`rm -rf`", wantErr: "Unknown command"},
		{text: "`rm`", wantErr: "neither a command"},
		{text: "\xff\xfe", wantErr: "UTF-8"},
		{text: strings.Repeat("a ", 3000), wantErr: "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got, err := Parse(tt.text)
			if tt.wantErr != "" {
				var he *Error
				if !errors.As(err, &he) || he.Code != CodeInvalid {
					t.Fatalf("Parse(%q) error = %v, want an invalid-input *Error", tt.text, err)
				}
				if !strings.Contains(he.Message, tt.wantErr) {
					t.Fatalf("Parse(%q) message %q lacks %q", tt.text, he.Message, tt.wantErr)
				}
				if strings.Count(he.Message, "`")%2 != 0 {
					t.Fatalf("message %q has unbalanced backticks", he.Message)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.text, err)
			}
			if got != tt.want {
				t.Fatalf("Parse(%q) = %+v, want %+v", tt.text, got, tt.want)
			}
		})
	}
}

func TestUsageListsEveryVerb(t *testing.T) {
	u := usage("/mde-package")
	for _, v := range []string{"get", "collect", "status", "login", "logout", "whoami", "help"} {
		if !strings.Contains(u, v) {
			t.Errorf("usage lacks %q", v)
		}
	}
}
