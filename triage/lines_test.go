package triage

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func feed(text string, fn func(string)) {
	for _, l := range strings.Split(text, "\n") {
		fn(strings.TrimRight(l, "\r"))
	}
}

func TestRegValues(t *testing.T) {
	for _, tt := range []struct {
		name       string
		text       string
		values     int
		understood bool
	}{
		{"two values", "\r\nHKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\r\n    SecurityHealth    REG_EXPAND_SZ    %windir%\\system32\\SecurityHealthSystray.exe\r\n    VMware User Process    REG_SZ    \"C:\\Program Files\\VMware\\vmtoolsd.exe\" -n vmusr\r\n", 2, true},
		{"default without data", "HKEY_CURRENT_USER\\Software\\Run\n    (Default)    REG_SZ    (value not set)\n    (Default)    REG_SZ\n", 0, true},
		{"default with data counts", "HKLM\\Software\\Run\n    (Default)    REG_SZ    c:\\x.exe\n", 1, true},
		{"empty value data", "HKEY_LOCAL_MACHINE\\X\n    Empty    REG_SZ    \n    Bin    REG_BINARY    00FF\n", 2, true},
		{"end of search line", "HKEY_LOCAL_MACHINE\\X\n    A    REG_DWORD    0x1\n\nEnd of search: 1 match(es) found.\n", 1, true},
		{"empty file", "", 0, true},
		{"something else", "Entry,Image Path\nfoo,bar\n", 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := &regValues{}
			feed(tt.text, r.line)
			if r.values != tt.values || r.understood() != tt.understood {
				t.Fatalf("values %d understood %v, want %d %v", r.values, r.understood(), tt.values, tt.understood)
			}
		})
	}
}

func TestErrorOnly(t *testing.T) {
	for _, tt := range []struct {
		text string
		is   bool
	}{
		{"ERROR: The system was unable to find the specified registry key or value.\r\n", true},
		{"\r\nThe system cannot find the path specified.\r\n\r\n", true},
		{"Access is denied.\r\nERROR: Invalid syntax.\r\n", true},
		{"HKEY_LOCAL_MACHINE\\X\r\nERROR: partial\r\n", false},
		{"No SMB inbound sessions were found.\r\n", false},
		{"", false},
	} {
		e := &errorOnly{}
		feed(tt.text, e.line)
		if e.is() != tt.is {
			t.Errorf("%q: error only %v, want %v", tt.text, e.is(), tt.is)
		}
	}
}

func TestGroupMembers(t *testing.T) {
	for _, tt := range []struct {
		name    string
		text    string
		alias   string
		members []string
		mode    int
	}{
		{
			name:    "net localgroup",
			text:    "Alias name     Administrators\r\nComment        Admins\r\n\r\nMembers\r\n\r\n-------------------------------------------------------------------------------\r\nAdministrator\r\nCONTOSO\\Domain Admins\r\nThe command completed successfully.\r\n",
			alias:   "Administrators",
			members: []string{"Administrator", `CONTOSO\Domain Admins`},
			mode:    1,
		},
		{
			name:    "german",
			text:    "Aliasname     Administratoren\nBeschreibung  x\n\nMitglieder\n\n---------------------------------\nAdministrator\nDer Befehl wurde erfolgreich ausgeführt.\n",
			alias:   "Administratoren",
			members: []string{"Administrator"},
			mode:    1,
		},
		{
			name:    "powershell table",
			text:    "\r\nObjectClass Name                      PrincipalSource\r\n----------- ----                      ---------------\r\nUser        WS-0142\\Administrator     Local\r\nGroup       CONTOSO\\Domain Admins      ActiveDirectory\r\n",
			members: []string{`CONTOSO\Domain Admins`, `WS-0142\Administrator`},
			mode:    2,
		},
		{
			name: "no rule",
			text: "Administrator\nalice\n",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := &groupMembers{}
			feed(tt.text, g.line)
			if g.alias != tt.alias || g.mode != tt.mode || !reflect.DeepEqual(g.members.sorted(), append([]string{}, tt.members...)) {
				t.Fatalf("alias %q mode %d members %q; want %q %d %q", g.alias, g.mode, g.members.sorted(), tt.alias, tt.mode, tt.members)
			}
		})
	}
}

func TestIsAdministrators(t *testing.T) {
	for _, tt := range []struct {
		alias, base string
		want        bool
	}{
		{"Administrators", "x.txt", true},
		{"Hyper-V Administrators", "Administrators.txt", false},
		{"", "Administrators.txt", true},
		{"", "administratoren", true},
		{"", "Hyper-V Administrators.txt", false},
		{"", "Users.txt", false},
	} {
		if got := isAdministrators(tt.alias, tt.base); got != tt.want {
			t.Errorf("isAdministrators(%q, %q) = %v", tt.alias, tt.base, got)
		}
	}
}

func TestOutsideSystem(t *testing.T) {
	for _, tt := range []struct {
		path           string
		outside, known bool
	}{
		{`C:\Windows\System32\svchost.exe`, false, true},
		{`c:\windows\explorer.exe`, false, true},
		{`D:\Program Files\App\app.exe`, false, true},
		{`C:\Program Files (x86)\App\app.exe`, false, true},
		{`"C:\Program Files\App\app.exe"`, false, true},
		{`\SystemRoot\System32\smss.exe`, false, true},
		{`%windir%\system32\x.exe`, false, true},
		{`\??\C:\Windows\system32\conhost.exe`, false, true},
		{`\Device\HarddiskVolume3\Windows\System32\x.exe`, false, true},
		{`\Device\HarddiskVolume3\Users\a\x.exe`, true, true},
		{`C:\ProgramData\svchost.exe`, true, true},
		{`C:\Windows.old\x.exe`, true, true},
		{`C:\Program Files Evil\x.exe`, true, true},
		{`C:\Users\alice\AppData\Local\Temp\x.exe`, true, true},
		{`\\server\share\x.exe`, true, true},
		{`C:/Users/alice/x.exe`, true, true},
		{`svchost.exe`, false, false},
		{``, false, false},
	} {
		if out, known := outsideSystem(tt.path); out != tt.outside || known != tt.known {
			t.Errorf("outsideSystem(%q) = %v %v, want %v %v", tt.path, out, known, tt.outside, tt.known)
		}
	}
}

func TestEntryName(t *testing.T) {
	for _, tt := range []struct {
		raw, want, refused string
	}{
		{"Autoruns/Run.txt", "Autoruns/Run.txt", ""},
		{`Autoruns\Run.txt`, "Autoruns/Run.txt", ""},
		{"./Processes//p.csv", "Processes/p.csv", ""},
		{"Processes/", "Processes", ""},
		{"caf\x82.txt", "café.txt", ""}, // CP437
		{"../x", "", "climbs out"},
		{`a\..\..\x`, "", "climbs out"},
		{"/etc/passwd", "", "absolute"},
		{`\Windows\x`, "", "absolute"},
		{`C:\x`, "", "absolute"},
		{"c:x", "", "absolute"},
		{"a\nb", "", "control character"},
		{"a\x00b", "", "control character"},
		{"", "", "no name"},
		{"/", "", "no name"},
	} {
		got, err := entryName(tt.raw)
		reason, refused := Refusal(err)
		switch {
		case tt.refused == "" && (err != nil || got != tt.want):
			t.Errorf("entryName(%q) = %q, %v; want %q", tt.raw, got, err, tt.want)
		case tt.refused != "" && (!refused || !strings.Contains(reason, tt.refused)):
			t.Errorf("entryName(%q) = %q, %v; want a refusal with %q", tt.raw, got, err, tt.refused)
		}
	}
}

// TestMeter checks the limits on the bytes actually read, whatever the
// headers say.
func TestMeter(t *testing.T) {
	for _, tt := range []struct {
		name       string
		lim        Limits
		compressed uint64
		before     int64 // read from the package before this file
		content    int64
		wantRead   int64
		err        string // a refusal's reason, or "too big"
	}{
		{"within", Limits{}, 1 << 20, 0, 4 << 20, 4 << 20, ""},
		{"ratio past the floor", Limits{MaxRatio: 10}, 200 << 10, 0, 4 << 20, 0, "inflates beyond the compression ratio limit of 10:1"},
		{"ratio under the floor", Limits{MaxRatio: 10}, 1, 0, ratioFloor, ratioFloor, ""},
		{"package total", Limits{MaxUncompressed: 10 << 20}, 10 << 20, 8 << 20, 4 << 20, 0, "more than 10.0 MiB read uncompressed"},
		{"file cap", Limits{MaxFileRead: 1000}, 100, 0, 5000, 1000, "too big"},
		{"file cap exactly", Limits{MaxFileRead: 1000}, 100, 0, 1000, 1000, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := &archive{lim: tt.lim.withDefaults(), read: tt.before, seen: map[*zip.File]int64{}}
			e := entry{name: "x.txt", f: &zip.File{FileHeader: zip.FileHeader{CompressedSize64: tt.compressed}}}
			m := &meter{a: a, e: e, rc: io.NopCloser(io.LimitReader(zeros{}, tt.content))}
			var got bytes.Buffer
			n, err := io.Copy(&got, m)
			reason, refused := Refusal(err)
			switch {
			case tt.err == "" && err != nil, tt.err == "too big" && !errors.Is(err, errFileTooBig):
				t.Fatalf("read %d, err %v; want %q", n, err, tt.err)
			case tt.err != "" && tt.err != "too big" && (!refused || !strings.Contains(reason, tt.err)):
				t.Fatalf("read %d, err %v; want a refusal %q", n, err, tt.err)
			}
			if tt.wantRead > 0 && n != tt.wantRead {
				t.Fatalf("read %d bytes, want %d", n, tt.wantRead)
			}
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
