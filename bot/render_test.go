package bot

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mdebot/mdebot/handlers"
)

// blockJSON is the part of Block Kit JSON the limits apply to.
type blockJSON struct {
	Type     string     `json:"type"`
	Text     *textJSON  `json:"text"`
	Fields   []textJSON `json:"fields"`
	Elements []struct {
		Type     string          `json:"type"`
		RawText  json.RawMessage `json:"text"` // an object for buttons, a string for context elements
		Text     *textJSON       `json:"-"`
		ActionID string          `json:"action_id"`
		Value    string          `json:"value"`
		Style    string          `json:"style"`
		Confirm  *struct {
			Title, Text, Confirm, Deny *textJSON
		} `json:"confirm"`
	} `json:"elements"`
}

type textJSON struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

func renderJSON(t *testing.T, m handlers.Message) []blockJSON {
	t.Helper()
	b, err := json.Marshal(renderBlocks(m))
	if err != nil {
		t.Fatal(err)
	}
	var out []blockJSON
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	for i := range out {
		for j := range out[i].Elements {
			e := &out[i].Elements[j]
			var txt textJSON
			if json.Unmarshal(e.RawText, &txt) != nil {
				_ = json.Unmarshal(e.RawText, &txt.Text)
			}
			e.Text = &txt
		}
	}
	return out
}

func TestRenderApprovalMessage(t *testing.T) {
	m := handlers.Message{
		Header: "Approval needed: investigation package",
		Text:   "<@U1> asks for the package of action `abc`.",
		Fields: []handlers.Field{{Label: "Machine", Value: "host-1"}, {Label: "Status", Value: "InProgress"}},
		Next:   "Two approvers must approve.",
		Buttons: []handlers.Button{
			{Label: "Approve", ActionID: handlers.ActionApprove, Value: "req-1", Style: "primary",
				Confirm: &handlers.Confirm{Title: "Approve?", Text: "The package holds forensic data.", Confirm: "Approve", Deny: "Back"}},
			{Label: "Deny", ActionID: handlers.ActionDeny, Value: "req-1", Style: "danger"},
		},
		Context: "request req-1",
	}
	blocks := renderJSON(t, m)
	var types []string
	for _, b := range blocks {
		types = append(types, b.Type)
	}
	if got := strings.Join(types, ","); got != "section,section,section,section,actions,context" {
		t.Fatalf("block types %s", got)
	}
	if blocks[0].Text.Text != "*Approval needed: investigation package*" || blocks[0].Text.Type != "mrkdwn" {
		t.Fatalf("header %+v", blocks[0].Text)
	}
	if f := blocks[2].Fields; len(f) != 2 || f[1].Text != "*Status*\nInProgress" {
		t.Fatalf("fields %+v", f)
	}
	btns := blocks[4].Elements
	if len(btns) != 2 || btns[0].ActionID != handlers.ActionApprove || btns[0].Value != "req-1" || btns[0].Style != "primary" ||
		btns[1].Text.Text != "Deny" || btns[1].Style != "danger" || btns[1].Confirm != nil {
		t.Fatalf("buttons %+v", btns)
	}
	c := btns[0].Confirm
	if c == nil || c.Title.Text != "Approve?" || c.Text.Text != "The package holds forensic data." || c.Confirm.Text != "Approve" || c.Deny.Text != "Back" {
		t.Fatalf("confirm %+v", c)
	}
	want := "Approval needed: investigation package\n<@U1> asks for the package of action `abc`.\nMachine: host-1\nStatus: InProgress\nNext: Two approvers must approve.\nrequest req-1"
	if got := fallbackText(m); got != want {
		t.Fatalf("fallback text:\n%s\nwant:\n%s", got, want)
	}
}

// Whatever the handler writes, the blocks stay within Slack's limits.
func TestRenderWithinSlackLimits(t *testing.T) {
	long := func(n int) string { return strings.Repeat("é", n) }
	var fields []handlers.Field
	var buttons []handlers.Button
	for i := range 30 {
		fields = append(fields, handlers.Field{Label: fmt.Sprint("L", i), Value: long(2500)})
		buttons = append(buttons, handlers.Button{Label: long(100), ActionID: fmt.Sprint("a", i), Value: "v",
			Confirm: &handlers.Confirm{Title: long(150), Text: long(400), Confirm: long(40), Deny: long(40)}})
	}
	m := handlers.Message{Header: long(4000), Text: strings.Repeat(long(999)+"\n", 20), Fields: fields, Next: long(4000),
		Buttons: buttons, Context: long(5000)}
	blocks := renderJSON(t, m)
	if len(blocks) > 50 {
		t.Fatalf("%d blocks, Slack takes 50", len(blocks))
	}
	limit := func(what, s string, n int) {
		t.Helper()
		if c := utf8.RuneCountInString(s); c > n {
			t.Fatalf("%s has %d characters, Slack takes %d", what, c, n)
		}
	}
	sawConfirm := false
	for _, b := range blocks {
		if b.Text != nil {
			limit(b.Type+" text", b.Text.Text, 3000)
		}
		if len(b.Fields) > 10 {
			t.Fatalf("%d fields in a section", len(b.Fields))
		}
		for _, f := range b.Fields {
			limit("field", f.Text, 2000)
		}
		if b.Type == "actions" && len(b.Elements) > 25 {
			t.Fatalf("%d elements in an actions block", len(b.Elements))
		}
		for _, e := range b.Elements {
			if e.Text == nil {
				continue
			}
			limit(e.Type+" element text", e.Text.Text, 3000)
			if e.Type == "button" {
				limit("button label", e.Text.Text, 75)
			}
			if c := e.Confirm; c != nil {
				sawConfirm = true
				limit("confirm title", c.Title.Text, 100)
				limit("confirm text", c.Text.Text, 300)
				limit("confirm button", c.Confirm.Text, 30)
				limit("deny button", c.Deny.Text, 30)
			}
		}
	}
	if !sawConfirm {
		t.Fatal("no confirm dialog rendered")
	}
}

func TestRenderConfirmDefaults(t *testing.T) {
	blocks := renderJSON(t, handlers.Message{Buttons: []handlers.Button{
		{Label: "Collect", ActionID: handlers.ActionConfirm, Value: "r", Confirm: &handlers.Confirm{}},
	}})
	c := blocks[0].Elements[0].Confirm
	if c == nil || c.Title.Text == "" || c.Text.Text == "" || c.Confirm.Text != "Collect" || c.Deny.Text != "Cancel" {
		t.Fatalf("confirm with empty texts not completed: %+v", c)
	}
}

func TestRenderText(t *testing.T) {
	tests := []struct {
		name string
		m    handlers.Message
		want string
	}{
		{"full", handlers.Message{
			Header: "Approval needed", Text: "alice asks for a package.",
			Fields:  []handlers.Field{{Label: "Machine", Value: "host-1"}},
			Next:    "An approver clicks Approve.",
			Buttons: []handlers.Button{{Label: "Approve"}, {Label: "Deny"}},
			Context: "ref 123",
		}, "Approval needed\nalice asks for a package.\nMachine: host-1\nNext: An approver clicks Approve.\n[Approve] [Deny]\nref 123"},
		{"text only", handlers.Message{Text: "  queued (position 2, about 60 s)  "}, "queued (position 2, about 60 s)"},
		{"empty", handlers.Message{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RenderText(tt.m); got != tt.want {
				t.Fatalf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestRenderNeutralisesBroadcasts(t *testing.T) {
	m := handlers.Message{Header: "Unknown command", Text: "collect <!channel> <!here|here> <@U1> <https://x|link>"}
	for _, s := range []string{renderJSON(t, m)[1].Text.Text, fallbackText(m)} {
		if strings.Contains(s, "<!channel>") || strings.Contains(s, "<!here") {
			t.Fatalf("broadcast mention survives: %s", s)
		}
		if !strings.Contains(s, "<@U1>") || !strings.Contains(s, "<https://x|link>") {
			t.Fatalf("user mention or link damaged: %s", s)
		}
	}
}

func TestSplitText(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		n     int
		limit int
		want  []string
	}{
		{"fits", "abc", 10, 4, []string{"abc"}},
		{"cut at a line break", "aaaa\nbbbb\ncc", 10, 4, []string{"aaaa\nbbbb", "cc"}},
		{"no line break", "abcdefghij", 4, 4, []string{"abcd", "efgh", "ij"}},
		{"too many chunks", "aaaa\nbbbb\ncccc", 4, 2, []string{"aaaa", "bbb…"}},
		{"empty", "", 4, 4, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := splitText(tt.in, tt.n, tt.limit)
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}
