package mde_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/mdebot/mdebot/mde"
)

func TestValidate(t *testing.T) {
	hex40 := "1e5bc9d7e413ddd7902c2932e418702b84d0cc07"
	long := strings.Repeat("a", 63)
	tests := []struct {
		name string
		fn   func(string) error
		in   string
		ok   bool
	}{
		{"action guid", mde.ValidateActionID, "7f1b8b1e-2d6f-4b8a-9a3c-0c1d2e3f4a5b", true},
		{"action guid upper", mde.ValidateActionID, "7F1B8B1E-2D6F-4B8A-9A3C-0C1D2E3F4A5B", true},
		{"action hex40", mde.ValidateActionID, hex40, true},
		{"action braces", mde.ValidateActionID, "{7f1b8b1e-2d6f-4b8a-9a3c-0c1d2e3f4a5b}", false},
		{"action traversal", mde.ValidateActionID, "../machines", false},
		{"action short", mde.ValidateActionID, "7f1b8b1e", false},
		{"action empty", mde.ValidateActionID, "", false},
		{"action newline", mde.ValidateActionID, hex40 + "\n", false},
		{"machine hex40", mde.ValidateMachineID, hex40, true},
		{"machine guid", mde.ValidateMachineID, "7f1b8b1e-2d6f-4b8a-9a3c-0c1d2e3f4a5b", false},
		{"machine 41", mde.ValidateMachineID, hex40 + "0", false},
		{"machine non-hex", mde.ValidateMachineID, strings.Repeat("g", 40), false},
		{"host short", mde.ValidateHostname, "ws01", true},
		{"host fqdn", mde.ValidateHostname, "ws-01.corp.contoso.com", true},
		{"host digits", mde.ValidateHostname, "123.example", true},
		{"host 63 label", mde.ValidateHostname, long + ".com", true},
		{"host 64 label", mde.ValidateHostname, long + "a.com", false},
		{"host 253", mde.ValidateHostname, strings.Repeat(long+".", 3) + strings.Repeat("b", 61), true},
		{"host 254", mde.ValidateHostname, strings.Repeat(long+".", 3) + strings.Repeat("b", 62), false},
		{"host leading hyphen", mde.ValidateHostname, "-ws01", false},
		{"host trailing hyphen", mde.ValidateHostname, "ws01-.corp", false},
		{"host underscore", mde.ValidateHostname, "ws_01", false},
		{"host empty label", mde.ValidateHostname, "ws01..corp", false},
		{"host quote", mde.ValidateHostname, "ws01' or '1'='1", false},
		{"host empty", mde.ValidateHostname, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.fn(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("%q: err = %v, want ok=%v", tt.in, err, tt.ok)
			}
			var me *mde.Error
			if err != nil && (!errors.As(err, &me) || me.Kind != mde.KindInvalidInput || me.Message == "") {
				t.Fatalf("%q: error %#v is not a KindInvalidInput with a message", tt.in, err)
			}
		})
	}
}
