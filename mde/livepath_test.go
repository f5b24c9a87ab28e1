package mde_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/mdebot/mdebot/mde"
)

func TestValidateLiveResponsePath(t *testing.T) {
	tests := []struct {
		name, path string
		msgHas     string // "" means accepted
	}{
		{"windows", `C:\Windows\Temp\x.txt`, ""},
		{"windows with spaces", `C:\Program Files\App\log file.txt`, ""},
		{"windows lower-case drive, forward slashes", `d:/evidence/dump.bin`, ""},
		{"windows alternate data stream", `C:\Users\a\Downloads\x.exe:Zone.Identifier`, ""},
		{"windows unicode", `C:\Users\Zoë\Документы\отчёт.docx`, ""},
		{"windows dot-dot stays absolute", `C:\Windows\..\x.txt`, ""},
		{"posix", "/var/log/syslog", ""},
		{"posix double slash", "//etc/hosts", ""},
		{"posix odd characters", `/tmp/a&b<c>"d"|e?*.txt`, ""},
		{"exactly the maximum", "/" + strings.Repeat("a", mde.MaxLiveResponsePath-1), ""},
		{"maximum counted in characters", "/" + strings.Repeat("é", mde.MaxLiveResponsePath-1), ""},

		{"empty", "", "empty"},
		{"blank", "   ", "empty"},
		{"one over the maximum", "/" + strings.Repeat("a", mde.MaxLiveResponsePath), "at most 1024"},
		{"invalid UTF-8", "/tmp/\xff.txt", "UTF-8"},
		{"NUL", "C:\\x\x00.txt", "control character (U+0000 at character 5)"},
		{"newline", "/tmp/a\nb", "control character (U+000A"},
		{"tab", "/tmp/a\tb", "control character"},
		{"DEL", "/tmp/a\x7fb", "control character"},
		{"C1 control", "/tmp/a\u0085b", "control character (U+0085"},
		{"relative", `Windows\Temp\x.txt`, "not absolute"},
		{"root-relative without drive", `\Windows\Temp\x.txt`, "not absolute"},
		{"drive-relative", `C:x.txt`, "not absolute"},
		{"drive only", `C:`, "not absolute"},
		{"leading space", ` C:\x.txt`, "not absolute"},
		{"tilde", "~/x.txt", "not absolute"},
		{"UNC", `\\fileserver\share\x.txt`, "UNC"},
		{"device path", `\\?\C:\x.txt`, "UNC"},
		{"mixed UNC", `\/server/share/x.txt`, "UNC"},
		{"windows wildcard", `C:\Windows\Temp\*.txt`, `'*'`},
		{"windows question mark", `C:\Windows\Temp\?.txt`, `'?'`},
		{"windows pipe", `C:\Windows\Temp\a|b.txt`, `'|'`},
		{"windows quote", `C:\Windows\"x".txt`, `'"'`},
		{"windows folder", `C:\Windows\Temp\`, "names a folder"},
		{"windows root", `C:\`, "names a folder"},
		{"posix folder", "/tmp/", "names a folder"},
		{"posix root", "/", "names a folder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := mde.ValidateLiveResponsePath(tt.path)
			if tt.msgHas == "" {
				if err != nil {
					t.Fatalf("ValidateLiveResponsePath(%q) = %v, want accepted", tt.path, err)
				}
				return
			}
			var me *mde.Error
			if !errors.As(err, &me) || me.Kind != mde.KindInvalidInput || !strings.Contains(me.Message, tt.msgHas) {
				t.Fatalf("ValidateLiveResponsePath(%q) = %v, want KindInvalidInput mentioning %q", tt.path, err, tt.msgHas)
			}
			if len(tt.path) > 3 && strings.Contains(me.Message, tt.path) {
				t.Fatalf("message %q repeats the path", me.Message)
			}
		})
	}
}
