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
		Header: handlers.T("Approval needed: investigation package"),
		Text:   handlers.Tf("%s asks for the package of action %s.", handlers.User("U1"), handlers.Code("abc")),
		Fields: []handlers.Field{{Label: "Machine", Value: handlers.T("host-1")}, {Label: "Status", Value: handlers.T("InProgress")}},
		Next:   handlers.T("Two approvers must approve."),
		Buttons: []handlers.Button{
			{Label: "Approve", ActionID: handlers.ActionApprove, Value: "req-1", Style: "primary",
				Confirm: &handlers.Confirm{Title: "Approve?", Text: "The package holds forensic data.", Confirm: "Approve", Deny: "Back"}},
			{Label: "Deny", ActionID: handlers.ActionDeny, Value: "req-1", Style: "danger"},
		},
		Context: handlers.T("request req-1"),
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
		fields = append(fields, handlers.Field{Label: fmt.Sprint("L", i), Value: handlers.T(long(2500))})
		buttons = append(buttons, handlers.Button{Label: long(100), ActionID: fmt.Sprint("a", i), Value: "v",
			Confirm: &handlers.Confirm{Title: long(150), Text: long(400), Confirm: long(40), Deny: long(40)}})
	}
	m := handlers.Message{Header: handlers.T(long(4000)), Text: handlers.T(strings.Repeat(long(999)+"\n", 20)), Fields: fields, Next: handlers.T(long(4000)),
		Buttons: buttons, Context: handlers.T(long(5000))}
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
			Header: handlers.T("Approval needed"), Text: handlers.Tf("%s asks for a package: %s.", handlers.User("U0ALICE"), handlers.Link("https://example.com/p", "the link")),
			Fields:  []handlers.Field{{Label: "Machine", Value: handlers.T("host-1")}},
			Next:    handlers.T("An approver clicks Approve."),
			Buttons: []handlers.Button{{Label: "Approve"}, {Label: "Deny"}},
			Context: handlers.T("ref 123"),
		}, "Approval needed\n@U0ALICE asks for a package: the link <https://example.com/p>.\nMachine: host-1\nNext: An approver clicks Approve.\n[Approve] [Deny]\nref 123"},
		{"text only", handlers.Message{Text: handlers.T("  queued (position 2, about 60 s)  ")}, "queued (position 2, about 60 s)"},
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

// Untrusted words are shown as themselves: no broadcast, no mention, no
// link can be smuggled in through a plain part; mentions and links exist
// only as typed parts, built from checked IDs and URLs.
func TestRenderEscapesUntrustedText(t *testing.T) {
	hostile := "<!channel> <!here|here> <!subteam^S0SOC|soc> <@U0BOB> <#C0INC> <https://evil.example|WDATP_Investigation_Package.zip> a & b"
	m := handlers.Message{
		Header: handlers.T("Comment: " + hostile),
		Text:   handlers.Tf("%s asked: %s; %s", handlers.User("U1"), hostile, handlers.Link("https://x.example/p?a=1|2>3", "link")),
		Fields: []handlers.Field{{Label: "Comment <!channel>", Value: handlers.T(hostile)}, {Label: "Code", Value: handlers.T(handlers.Code("`<!here>`"))}},
		Next:   handlers.T(hostile), Context: handlers.T(hostile),
		Buttons: []handlers.Button{{Label: "Deny", ActionID: handlers.ActionDeny, Value: "r", Confirm: &handlers.Confirm{Text: hostile}}},
	}
	raw, err := json.Marshal(renderBlocks(m))
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(string(raw))
	for _, s := range []string{blocks, fallbackText(m)} {
		for _, bad := range []string{"<!channel>", "<!here", "<!subteam", "<@U0BOB>", "<#C0INC>", "<https://evil", "`<!here>`"} {
			if strings.Contains(s, bad) {
				t.Errorf("%q survives in %s", bad, s)
			}
		}
		for _, good := range []string{"&lt;!channel&gt;", "a &amp; b", "<@U1>", "<https://x.example/p?a=1%7C2%3E3|link>"} {
			if !strings.Contains(s, good) {
				t.Errorf("%q missing from %s", good, s)
			}
		}
	}
}

// Mentions are built only from IDs that are IDs.
func TestRenderMentions(t *testing.T) {
	tests := []struct {
		part handlers.Part
		want string
	}{
		{handlers.User("U0ALICE01"), "<@U0ALICE01>"},
		{handlers.User("W0ENTERPRISE"), "<@W0ENTERPRISE>"},
		{handlers.Group("S0SOCLEAD"), "<!subteam^S0SOCLEAD>"},
		{handlers.Mention("S0SOCLEAD"), "<!subteam^S0SOCLEAD>"},
		{handlers.Channel("C0INC"), "<#C0INC>"},
		{handlers.User("U1> <!channel"), "@U1&gt; &lt;!channel"},
		{handlers.Group("S1|x"), "@S1|x"},
		{handlers.Channel("here"), "#here"},
		{handlers.Link("javascript:alert(1)", "click"), "click"},
		{handlers.Link("https://h.example/a b", ""), "<https://h.example/a%20b|https://h.example/a b>"},
		{handlers.Code(""), ""},
	}
	for _, tt := range tests {
		if got := mrkdwnOf(handlers.T(tt.part)); got != tt.want {
			t.Errorf("%+v rendered %q, want %q", tt.part, got, tt.want)
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
