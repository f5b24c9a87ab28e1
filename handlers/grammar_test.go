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
		{text: "search 0123456789abcdef 185.199.108.153", want: Parsed{Verb: VerbSearch, Target: "0123456789abcdef", Term: "185.199.108.153"}},
		{text: "SEARCH 0123456789ABCDEF  UPDATER.EXE /silent  ", want: Parsed{Verb: VerbSearch, Target: "0123456789abcdef", Term: "UPDATER.EXE /silent"}},
		{text: "search " + strings.ToUpper(guid) + " zoë", want: Parsed{Verb: VerbSearch, Target: guid, Term: "zoë"}},
		{text: "search " + hex40 + " a  b", want: Parsed{Verb: VerbSearch, Target: hex40, Term: "a  b"}},
		{text: "search", wantErr: "Usage"},
		{text: "search 0123456789abcdef", wantErr: "Usage"},
		{text: "search 0123456789abcdef x", wantErr: "at least 2 characters"},
		{text: "search 0123456789abcdef " + strings.Repeat("é", 201), wantErr: "at most 200 characters"},
		{text: "search 0123456789abcdef a\u0085b", wantErr: "control characters"},
		{text: "search 0123456789abcdex term", wantErr: "neither a request ID"},
		{text: "search 0123456789abcde term", wantErr: "neither a request ID"},
		{text: "search ../../evidence term", wantErr: "neither a request ID"},

		// collect on several devices
		{text: "collect ws-01,WS-02," + hex40 + " INC-9 lateral", want: Parsed{Verb: VerbCollect, Target: "ws-01,ws-02," + hex40, Comment: "INC-9 lateral"}},
		{text: "collect ws-01, ws-02,  ws-03 note", want: Parsed{Verb: VerbCollect, Target: "ws-01,ws-02,ws-03", Comment: "note"}},
		{text: "collect ws-01,ws-01,WS-01", want: Parsed{Verb: VerbCollect, Target: "ws-01"}},
		{text: "collect ws-01,,ws-02,", want: Parsed{Verb: VerbCollect, Target: "ws-01,ws-02"}},
		{text: "collect a1,a2,a3,a4,a5,a6,a7,a8,a9,a10", want: Parsed{Verb: VerbCollect, Target: "a1,a2,a3,a4,a5,a6,a7,a8,a9,a10"}},
		{text: "collect a1,a2,a3,a4,a5,a6,a7,a8,a9,a10,a11", wantErr: "at most 10"},
		{text: "collect ws-01,bad_host", wantErr: "neither a machine ID"},
		{text: "collect ,", wantErr: "Usage"},

		// getfile
		{text: `getfile ws-0042 C:\Windows\Temp\x.ps1 INC-7 dropper`, want: Parsed{Verb: VerbGetFile, Target: "ws-0042", Path: `C:\Windows\Temp\x.ps1`, Comment: "INC-7 dropper"}},
		{text: `GETFILE WS-0042 /var/log/auth.log`, want: Parsed{Verb: VerbGetFile, Target: "ws-0042", Path: "/var/log/auth.log"}},
		{text: `getfile ws-0042 "C:\Program Files\App\log.txt" why`, want: Parsed{Verb: VerbGetFile, Target: "ws-0042", Path: `C:\Program Files\App\log.txt`, Comment: "why"}},
		{text: "getfile ws-0042 “/tmp/my file” note", want: Parsed{Verb: VerbGetFile, Target: "ws-0042", Path: "/tmp/my file", Comment: "note"}},
		// A quote closes a quoted path only before a space or the end.
		{text: `getfile ws-0042 "/tmp/a"b c" note`, want: Parsed{Verb: VerbGetFile, Target: "ws-0042", Path: `/tmp/a"b c`, Comment: "note"}},
		{text: `getfile ws-0042 "/tmp/say "hi" there"`, want: Parsed{Verb: VerbGetFile, Target: "ws-0042", Path: `/tmp/say "hi`, Comment: `there"`}},
		{text: `getfile ws-0042 "/tmp/x`, wantErr: "no closing quote"},
		{text: `getfile ws-0042 Temp\x.txt`, wantErr: "not absolute"},
		{text: `getfile ws-0042 \\srv\share\x.txt`, wantErr: "UNC"},
		{text: `getfile ws-0042 /tmp/`, wantErr: "folder"},
		{text: "getfile ws-0042 /tmp/x", wantErr: "control character"},
		{text: "getfile ws-0042 /" + strings.Repeat("é", 1024), wantErr: "at most 1024"},
		{text: "getfile ws-0042 /" + strings.Repeat("é", 1023), want: Parsed{Verb: VerbGetFile, Target: "ws-0042", Path: "/" + strings.Repeat("é", 1023)}},
		{text: "getfile ws-01,ws-02 /tmp/x", wantErr: "one device"},
		{text: "getfile ws-0042", wantErr: "Usage"},
		{text: "getfile", wantErr: "Usage"},
		{text: "getfile ws-0042 /tmp/x " + strings.Repeat("c", 501), wantErr: "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got, err := Parse(tt.text)
			if tt.wantErr != "" {
				var he *Error
				if !errors.As(err, &he) || he.Code != CodeInvalid {
					t.Fatalf("Parse(%q) error = %v, want an invalid-input *Error", tt.text, err)
				}
				if !strings.Contains(he.Message.Plain(), tt.wantErr) {
					t.Fatalf("Parse(%q) message %q lacks %q", tt.text, he.Message.Plain(), tt.wantErr)
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
	u := usage("/mde-package").Plain()
	for _, v := range []string{"get", "collect", "getfile", "status", "search", "login", "logout", "whoami", "help"} {
		if !strings.Contains(u, v) {
			t.Errorf("usage lacks %q", v)
		}
	}
}
