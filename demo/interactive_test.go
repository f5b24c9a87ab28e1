package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdebot/mdebot/bot/slackfake"
	"github.com/mdebot/mdebot/mde/mdetest"
)

// syncBuffer is a bytes.Buffer the bot's goroutines and the test can share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// runSession feeds lines to the interactive demo and returns its output.
func runSession(t *testing.T, lines ...string) (out string, env *Env) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var buf syncBuffer
	err := interactive(ctx, strings.NewReader(strings.Join(lines, "\n")+"\n"), &buf, func(e *Env) { env = e })
	out = buf.String()
	if err != nil {
		t.Fatalf("interactive: %v\noutput:\n%s", err, out)
	}
	if env == nil {
		t.Fatalf("the environment never started\noutput:\n%s", out)
	}
	return out, env
}

// indexOf is where want first appears in out at or after from; it fails the test if nowhere.
func indexOf(t *testing.T, out, want string, from int) int {
	t.Helper()
	i := strings.Index(out[from:], want)
	if i < 0 {
		t.Fatalf("output lacks %q after offset %d\noutput:\n%s", want, from, out)
	}
	return from + i
}

var newActionLine = regexp.MustCompile(`Defender: new CollectInvestigationPackage action ([0-9a-f-]{36}) on ws-0042\.contoso\.local: Pending`)

// TestInteractiveSession is the scripted session: alice links her
// account, asks for a collection she advances by hand and sees it uploaded;
// in the approval channel carol's approval is refused and bob's delivers.
func TestInteractiveSession(t *testing.T) {
	out, env := runSession(t,
		"# a scripted session",
		"login as alice",
		"action new",
		"/mde-package $action",
		"action $action next",
		"action $action next",
		"wait 60",
		"in #ir-approvals",
		"/mde-package $action",
		"click Approve as carol",
		"click Approve as bob",
		"wait 60",
		"actions",
		"requests",
		"quit",
	)
	m := newActionLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no new action line\noutput:\n%s", out)
	}
	id, sha := m[1], env.MDE.PackageSHA256()
	upload := "mdebot uploaded investigation-package-" + id + ".zip (262144 bytes, SHA-256 " + sha + ")"

	at := indexOf(t, out, `the bot's page says: "Account linked"`, 0)
	// The bot's work may print before the acknowledgement's reply.
	at = indexOf(t, out, "alice@#inc-2041-ransomware> /mde-package $action\n", at)
	indexOf(t, out, "[#inc-2041-ransomware] mdebot → alice only (in the acknowledgement):\n    *Looking up action `"+id+"`…*", at)
	at = indexOf(t, out, "Defender: action "+id+" is now InProgress", at)
	at = indexOf(t, out, "Defender: action "+id+" is now Succeeded", at)
	at = indexOf(t, out, "[#inc-2041-ransomware ↳ thread ", at)
	at = indexOf(t, out, upload, at)
	at = indexOf(t, out, "-- the bot has nothing left to do by itself", at)
	// The bot's work may print before the acknowledgement's reply.
	at = indexOf(t, out, "alice@#ir-approvals> /mde-package $action\n", at)
	indexOf(t, out, "[#ir-approvals] mdebot → alice only (in the acknowledgement):\n    *Looking up action `"+id+"`…*", at)
	at = indexOf(t, out, "*Approval needed: @alice asks for an investigation package*", at)
	at = indexOf(t, out, "    [Approve] [Deny]\n", at)
	at = indexOf(t, out, "[#ir-approvals] carol clicks [Approve]", at)
	at = indexOf(t, out, "[#ir-approvals] mdebot → carol only:\n    *Nothing changed*\n    You cannot approve this request: you are not one of its approvers (@soc-leads).", at)
	at = indexOf(t, out, "[#ir-approvals] bob clicks [Approve]", at)
	at = indexOf(t, out, "Approved by @bob.", at)
	at = indexOf(t, out, "[#ir-approvals ↳ thread ", at)
	at = indexOf(t, out, upload, at)
	at = indexOf(t, out, "-- the bot has nothing left to do by itself", at)
	at = indexOf(t, out, id+"  Succeeded   CollectInvestigationPackage on ws-0042.contoso.local, requested by alice@contoso.com  ($action)", at)
	at = indexOf(t, out, "The bot's requests (2):", at)
	indexOf(t, out, "== bye; stopping the bot", at)

	if got := strings.Count(out, upload); got != 2 {
		t.Errorf("%d upload lines, want 2\noutput:\n%s", got, out)
	}
	if strings.Contains(out, "error:") {
		t.Errorf("the happy session printed an error\noutput:\n%s", out)
	}
	for _, tok := range env.MDE.IssuedPackageTokens() {
		if strings.Contains(out, tok) {
			t.Errorf("the output shows a package link's credential")
		}
	}
	// The session asks twice for one collection: the second is copied from
	// the evidence store, so Defender hands out one link.
	if len(env.MDE.IssuedPackageTokens()) != 1 {
		t.Errorf("Defender issued %d package links, want 1", len(env.MDE.IssuedPackageTokens()))
	}
}

// TestInteractiveMistakes: bad commands and arguments get one clear line
// each and the session goes on.
func TestInteractiveMistakes(t *testing.T) {
	tests := []struct {
		line, want string
	}{
		{"frobnicate", `error: unknown command "frobnicate" (help lists the commands)`},
		{"as", "error: usage: as <name>, e.g. as bob"},
		{"as zed", `error: unknown person "zed": the workspace has alice, bob, carol and dave`},
		{"in #nowhere", `error: unknown channel "#nowhere" (channels lists them)`},
		{"in", "error: usage: in <#channel>, e.g. in #ir-approvals"},
		{"/other-command x", "error: unknown slash command /other-command: this bot's is /mde-package"},
		{"/mde-package $action", "error: $action is not set yet: action new makes one"},
		{"click", "error: usage: click <Label> [as <name>], e.g. click Approve as bob"},
		{"click Approve", "error: no [Approve] button that alice can see (alice sees no buttons)"},
		{"click Approve as nobody", `error: unknown person "nobody"`},
		{"login now", "error: usage: login [as <name>]"},
		{"action", "error: usage: action new [<steps>] | action <id> next | action <id> <Status>"},
		{"action new Pending:2,Done", `error: step "Done": unknown status "Done": use Pending, InProgress, Succeeded, Failed, TimeOut, Cancelled`},
		{"action new Pending:x,Succeeded", `error: step "Pending:x": polls must be a whole number from 0 to 3600`},
		{"action new Pending:2,,Succeeded", "error: empty step in"},
		{"action 0000 next", `error: no action "0000" in Defender (actions lists them)`},
		{"action $action next", "error: $action is not set yet"},
		{"actions please", "error: actions takes no arguments"},
		{"wait forever", "error: usage: wait [seconds], from 1 to 600"},
		{"wait 1 2", "error: usage: wait [seconds]"},
		{"action new InProgress:1,Succeeded", "Defender: new CollectInvestigationPackage action"},
		{"action $action Exploded", `error: unknown status "Exploded"`},
		{"action $action failed", "is now Failed"},
		{"/mde-package", "[#inc-2041-ransomware] mdebot → alice only:\n    *mdebot: Defender investigation packages, as you*"},
		{"as bob", "bob@#inc-2041-ransomware> "},
	}
	lines := make([]string, 0, len(tests)+1)
	for _, tt := range tests {
		lines = append(lines, tt.line)
	}
	out, _ := runSession(t, append(lines, "people")...)
	at := 0
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			at = indexOf(t, out, tt.want, indexOf(t, out, "> "+tt.line+"\n", at))
		})
	}
	indexOf(t, out, "* bob ", at) // the session went on to the end
}

// TestInteractiveBinary runs the real binary with a session on a pipe.
func TestInteractiveBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the mdebot binary; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "mdebot")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/mdebot/mdebot/cmd/mdebot").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "demo", "--interactive")
	cmd.Stdin = strings.NewReader("help\npeople\nquit\n") // exec feeds it through a pipe
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("mdebot demo --interactive: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	out := stdout.String()
	at := indexOf(t, out, "alice@#inc-2041-ransomware> help\nCommands, one a line", 0)
	at = indexOf(t, out, "alice@#inc-2041-ransomware> people\nPeople (* is you):\n  * alice  U0ALICE01", at)
	indexOf(t, out, "alice@#inc-2041-ransomware> quit\n== bye; stopping the bot\n", at)
	if stderr.Len() > 0 {
		t.Errorf("stderr: %s", stderr.String())
	}
}

func TestParseSteps(t *testing.T) {
	tests := []struct {
		src     string
		want    []mdetest.Step
		wantErr string
	}{
		{src: "Pending:2,InProgress:2,Succeeded", want: []mdetest.Step{{Status: "Pending", Polls: 2}, {Status: "InProgress", Polls: 2}, {Status: "Succeeded", Polls: 1}}},
		{src: "pending, inprogress:0 ,FAILED", want: []mdetest.Step{{Status: "Pending", Polls: 1}, {Status: "InProgress", Polls: 0}, {Status: "Failed", Polls: 1}}},
		{src: "TimeOut", want: []mdetest.Step{{Status: "TimeOut", Polls: 1}}},
		{src: "Pending:-1,Succeeded", wantErr: "polls must be a whole number"},
		{src: "Pending:3601,Succeeded", wantErr: "polls must be a whole number"},
		{src: "Waiting:1", wantErr: `unknown status "Waiting"`},
		{src: "Pending,", wantErr: "empty step"},
		{src: ":2", wantErr: "empty step"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			got, err := parseSteps(tt.src)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseSteps(%q) = %v, %v; want error containing %q", tt.src, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseSteps(%q): %v", tt.src, err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("parseSteps(%q) = %v, want %v", tt.src, got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("step %d = %v, want %v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func buttonsJSON(t *testing.T, labels ...string) json.RawMessage {
	t.Helper()
	var els []map[string]any
	for _, l := range labels {
		els = append(els, map[string]any{"type": "button", "action_id": "act_" + strings.ToLower(l), "value": "v-" + l,
			"text": map[string]any{"type": "plain_text", "text": l}})
	}
	b, err := json.Marshal([]map[string]any{
		{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": "hello"}},
		{"type": "actions", "block_id": "b1", "elements": els},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFindButton: a button is pressed where its clicker can see it, the
// newest first, in its current state.
func TestFindButton(t *testing.T) {
	msg := func(kind slackfake.EventKind, channel, ts, user, dm string, blocks json.RawMessage) slackfake.Event {
		return slackfake.Event{Kind: kind, Message: &slackfake.Message{Channel: channel, TS: ts, User: user, DMUser: dm, Blocks: blocks}}
	}
	card := buttonsJSON(t, "Approve", "Deny")
	evs := []slackfake.Event{
		msg(slackfake.EventMessage, ChanApproval, "1.1", "", "", card),
		msg(slackfake.EventEphemeral, ChanApproval, "1.2", Alice, "", buttonsJSON(t, "Confirm", "Cancel")),
		msg(slackfake.EventMessage, ChanUpload, "1.3", "", "", card),
		msg(slackfake.EventUpdate, ChanUpload, "1.3", "", "", json.RawMessage(`[{"type":"section","text":{"type":"mrkdwn","text":"approved"}}]`)),
		msg(slackfake.EventMessage, "D0BOB", "1.4", "", Bob, buttonsJSON(t, "Retry")),
		{Kind: slackfake.EventResponse, Response: &slackfake.ResponsePost{ID: Carol + "-" + ChanLink + "-7", Blocks: buttonsJSON(t, "Retry")}},
		{Kind: slackfake.EventCall, Call: &slackfake.Call{Method: "users.info"}},
	}
	acks := []ackSurface{{mark: 7, surface: surface{channel: ChanRandom, viewer: Dave, blocks: buttonsJSON(t, "Retry")}}}
	all := surfaces(evs, acks)
	tests := []struct {
		user, label       string
		found             bool
		channel, ts, want string // want is the action id
	}{
		{Alice, "approve", true, ChanApproval, "1.1", "act_approve"}, // the edited card lost its buttons
		{Alice, "Confirm", true, ChanApproval, "1.2", "act_confirm"},
		{Bob, "Confirm", false, "", "", ""}, // alice's ephemeral
		{Bob, "Retry", true, "D0BOB", "1.4", "act_retry"},
		{Carol, "Retry", true, ChanLink, "", "act_retry"},  // her response_url post
		{Dave, "Retry", true, ChanRandom, "", "act_retry"}, // his acknowledgement
		{Alice, "Retry", false, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(who(tt.user)+" "+tt.label, func(t *testing.T) {
			b, ok := findButton(all, tt.user, tt.label)
			if ok != tt.found {
				t.Fatalf("found = %v, want %v (%+v)", ok, tt.found, b)
			}
			if !ok {
				return
			}
			if b.channel != tt.channel || b.ts != tt.ts || b.actionID != tt.want || b.value != "v-"+b.label || b.blockID != "b1" {
				t.Errorf("got %+v, want channel %s ts %s action %s", b, tt.channel, tt.ts, tt.want)
			}
		})
	}
	if got := strings.Join(visibleLabels(all, Alice), " "); got != "[Confirm] [Cancel] [Approve] [Deny]" {
		t.Errorf("alice sees %s", got)
	}
}

// TestConsole: output that arrives while the prompt waits goes on its own
// lines and the prompt comes back; piped input is echoed after the prompt.
func TestConsole(t *testing.T) {
	var b bytes.Buffer
	c := newConsole(&b, true)
	c.showPrompt("alice@#x> ")
	_, _ = c.Write([]byte("bot says hi\n"))
	c.took("people")
	_, _ = c.Write([]byte("the list\n"))
	c.showPrompt("alice@#x> ")
	c.ended()
	want := "alice@#x> \nbot says hi\nalice@#x> people\nthe list\nalice@#x> \n"
	if b.String() != want {
		t.Errorf("console wrote %q, want %q", b.String(), want)
	}
	if isTerminal(strings.NewReader("")) {
		t.Error("a strings.Reader counted as a terminal")
	}
	f, err := os.CreateTemp(t.TempDir(), "in")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) {
		t.Error("a file counted as a terminal")
	}
}
