package e2e

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mdebot/mdebot/bot/slackfake"
	"github.com/mdebot/mdebot/demo"
	"github.com/mdebot/mdebot/evidence"
	"github.com/mdebot/mdebot/handlers"
	"github.com/mdebot/mdebot/mde"
	"github.com/mdebot/mdebot/mde/mdetest"
)

// askGetFile types a getfile as user in channel, checks that nothing reached
// Defender's live response before the confirmation, and confirms it. It
// returns the request ID.
func askGetFile(t *testing.T, e *demo.Env, user, channel, args string) string {
	t.Helper()
	mark := e.Mark()
	command(t, e, user, channel, "getfile "+args)
	confirm := waitEvent(t, e, mark, "the getfile confirmation", func(ev slackfake.Event) bool {
		return privateTo(user, "Fetch a file from")(ev) && hasButton(ev, handlers.ActionConfirm)
	})
	if n := len(e.MDE.LiveResponseRequests()); n != 0 {
		t.Fatalf("runliveresponse called %d times before the requester confirmed", n)
	}
	id := buttonValue(confirm, handlers.ActionConfirm)
	if a, err := e.Click(deadline(t, 10*time.Second), user, channel, "", handlers.ActionConfirm, id); err != nil || a.Status != 200 {
		t.Fatalf("confirm: %v %+v", err, a)
	}
	return id
}

// custodyOf reads the custody record of a request from the file evidence store.
func custodyOf(t *testing.T, e *demo.Env, id string) evidence.Custody {
	t.Helper()
	s, err := evidence.NewFile(evidence.FileOptions{Dir: e.Config.EvidenceDir()})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Custody(context.Background(), id)
	if err != nil {
		t.Fatalf("custody record of %s: %v", id, err)
	}
	return c
}

// noSignatureShown fails if any Slack event carries a live response
// result link's signature (raw or URL-escaped).
func noSignatureShown(t *testing.T, e *demo.Env) {
	t.Helper()
	sigs := e.MDE.IssuedResultSignatures()
	if len(sigs) == 0 {
		t.Fatal("Defender issued no result link")
	}
	for _, ev := range e.Slack.Events() {
		text := textOf(ev)
		for _, sig := range sigs {
			if strings.Contains(text, sig) || strings.Contains(text, url.QueryEscape(sig)) {
				t.Fatalf("a Slack message shows a result link's signature: %s", text)
			}
		}
	}
}

// getfile end to end in the approval channel: the exact runliveresponse
// body (backslashes escaped once by JSON), sent with alice's own token after
// bob's approval; the .gz uploaded as <host>-<file>.gz with the SHA-256 of
// what Defender served, never decompressed; its custody record names the
// path, the approver and the same hash; no message ever shows the result
// link.
func TestGetFileEndToEnd(t *testing.T) {
	e, _ := start(t, demo.Options{})
	login(t, e, demo.Alice)
	const path = `C:\Users\alice\AppData\Local\Temp\invoice.js`
	id := askGetFile(t, e, demo.Alice, demo.ChanApproval, "ws-0042 "+path+" INC-2043 dropper")
	mark := e.Mark()
	approval := waitEvent(t, e, mark, "the approval card", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventMessage && ev.Message.Channel == demo.ChanApproval && hasButton(ev, handlers.ActionApprove) &&
			strings.Contains(textOf(ev), "asks for a file")
	})
	if !strings.Contains(textOf(approval), path) {
		t.Errorf("the approval card does not name the file: %s", textOf(approval))
	}
	if n := len(e.MDE.LiveResponseRequests()); n != 0 {
		t.Fatalf("runliveresponse called %d times before the approval", n)
	}
	click(t, e, demo.Bob, approval, handlers.ActionApprove, id)
	up := waitEvent(t, e, mark, "the upload in the approval thread", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventFileShared && ev.Upload.ThreadTS == approval.Message.TS
	})

	calls := e.MDE.LiveResponseRequests()
	if len(calls) != 1 {
		t.Fatalf("runliveresponse called %d times, want 1", len(calls))
	}
	want := `{"Commands":[{"type":"GetFile","params":[{"key":"Path","value":"C:\\Users\\alice\\AppData\\Local\\Temp\\invoice.js"}]}],` +
		`"Comment":"mdebot: file requested in Slack by ` + demo.Alice + ` in #ir-approvals (` + demo.ChanApproval + `), request ` + id + `: INC-2043 dropper"}`
	if calls[0].Body != want {
		t.Errorf("runliveresponse body\n got %s\nwant %s", calls[0].Body, want)
	}
	if calls[0].MachineID != demo.MachineWS {
		t.Errorf("runliveresponse on %s, want %s", calls[0].MachineID, demo.MachineWS)
	}
	if info, ok := e.Entra.Introspect(calls[0].Token); !ok || info.User.Username != "alice@contoso.com" {
		t.Errorf("runliveresponse was not sent with alice's token: %+v %v", info, ok)
	}

	c := custodyOf(t, e, id)
	sum := e.MDE.LiveResponseResultSHA256(c.ActionID)
	if sum == "" || up.Upload.SHA256 != sum {
		t.Errorf("uploaded SHA-256 %s, Defender served %q", up.Upload.SHA256, sum)
	}
	if up.Upload.Filename != "ws-0042.contoso.local-invoice.js.gz" {
		t.Errorf("uploaded as %q", up.Upload.Filename)
	}
	if len(up.Upload.Bytes) < 2 || up.Upload.Bytes[0] != 0x1f || up.Upload.Bytes[1] != 0x8b {
		t.Errorf("the upload is not the gzip Defender served (first bytes %x)", up.Upload.Bytes[:min(2, len(up.Upload.Bytes))])
	}
	a, ok := e.MDE.Action(c.ActionID)
	if !ok || a.Type != mde.TypeLiveResponse || a.Requestor != "alice@contoso.com" {
		t.Errorf("Defender's action: %+v", a)
	}
	if c.SHA256 != sum || c.SourcePath != path || c.FileName != up.Upload.Filename || c.MachineID != demo.MachineWS ||
		c.Requester.UPN != "alice@contoso.com" || len(c.Approvers) != 1 || c.Approvers[0].SlackID != demo.Bob {
		t.Errorf("custody record: %+v", c)
	}
	waitEvent(t, e, mark, "the summary with the SHA-256", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventMessage && ev.Message.ThreadTS == approval.Message.TS && strings.Contains(textOf(ev), sum)
	})
	noSignatureShown(t, e)
}

// A bad path gets a clear answer in the acknowledgement and nothing reaches
// Defender (not even a device lookup).
func TestGetFileBadPathRefusedWithoutCall(t *testing.T) {
	e, _ := start(t, demo.Options{})
	login(t, e, demo.Alice)
	for _, tt := range []struct{ args, words string }{
		{`ws-0042 Windows\Temp\x.txt`, "not absolute"},
		{`ws-0042 \\fileserver\share\x.txt`, "UNC"},
		{`ws-0042 C:\Windows\Temp\`, "folder"},
		{`ws-0042 C:\Windows\Temp\*.txt`, "does not allow"},
		{"ws-0042 /tmp/a\u0007b", "control character"},
		{"ws-0042 /" + strings.Repeat("a", 1024), "at most 1024"},
		{`ws-0042 "C:\Program Files\x.txt`, "no closing quote"},
		{`ws_bad C:\x.txt`, "neither a machine ID"},
		{"ws-0042", "Usage"},
	} {
		a := command(t, e, demo.Alice, demo.ChanUpload, "getfile "+tt.args)
		if reply := a.Reply.Text + string(a.Reply.Blocks); !strings.Contains(reply, tt.words) {
			t.Errorf("getfile %q: the answer lacks %q: %s", tt.args, tt.words, reply)
		}
	}
	time.Sleep(300 * time.Millisecond) // anything started after the acknowledgement would show by now
	if rs := e.MDE.Requests(); len(rs) != 0 {
		t.Errorf("Defender was called %d times for refused commands: %+v", len(rs), rs[0])
	}
}

// A live response session already open on the device: Defender's 400
// ActiveRequestAlreadyExists is explained, and nothing is retried.
func TestGetFileSessionAlreadyOpen(t *testing.T) {
	e, _ := start(t, demo.Options{})
	login(t, e, demo.Alice)
	e.MDE.AddAction(mde.MachineAction{Type: mde.TypeLiveResponse, MachineID: demo.MachineWS, Status: mde.StatusInProgress})
	mark := e.Mark()
	askGetFile(t, e, demo.Alice, demo.ChanUpload, "ws-0042 /var/log/auth.log")
	ev := waitEvent(t, e, mark, "the failure told", privateTo(demo.Alice, "failed"))
	if !strings.Contains(textOf(ev), "live response session is already open on this device") {
		t.Errorf("the failure does not explain the open session: %s", textOf(ev))
	}
	if n := len(e.MDE.LiveResponseRequests()); n != 1 {
		t.Errorf("runliveresponse called %d times, want 1 (no retry)", n)
	}
}

// A result link that expired before the download is asked for again, once,
// and the file is delivered; the expired link is never shown.
func TestGetFileExpiredResultLinkRenewed(t *testing.T) {
	e, _ := start(t, demo.Options{})
	login(t, e, demo.Alice)
	e.MDE.ExpireNextResultLink()
	mark := e.Mark()
	id := askGetFile(t, e, demo.Alice, demo.ChanUpload, `ws-0042 "C:\Program Files\Contoso\agent.log" beacon`)
	up := waitEvent(t, e, mark, "the upload", func(ev slackfake.Event) bool { return ev.Kind == slackfake.EventFileShared })
	if n := len(e.MDE.ResultLinkCalls()); n != 2 {
		t.Errorf("GetLiveResponseResultDownloadLink called %d times, want 2 (the expired link, then a new one)", n)
	}
	c := custodyOf(t, e, id)
	if up.Upload.SHA256 != e.MDE.LiveResponseResultSHA256(c.ActionID) || c.SHA256 != up.Upload.SHA256 {
		t.Errorf("uploaded %s, stored %s, Defender served %s", up.Upload.SHA256, c.SHA256, e.MDE.LiveResponseResultSHA256(c.ActionID))
	}
	if c.SourcePath != `C:\Program Files\Contoso\agent.log` || up.Upload.Filename != "ws-0042.contoso.local-agent.log.gz" {
		t.Errorf("path %q, file %q", c.SourcePath, up.Upload.Filename)
	}
	noSignatureShown(t, e)
}

// A device that stays offline: mde.wait_timeout ends the wait with the
// action ID to resume with; once Defender completes the command, `get`
// on that action delivers the file.
func TestGetFileOfflineDeviceResumedWithGet(t *testing.T) {
	e, _ := start(t, demo.Options{Tune: func(c *configT) { c.MDE.WaitTimeout = 3 * time.Second }})
	login(t, e, demo.Alice)
	e.MDE.SetLiveResponseScript(mdetest.Step{Status: mde.StatusPending, Polls: 1 << 20})
	mark := e.Mark()
	askGetFile(t, e, demo.Alice, demo.ChanUpload, "ws-0042 /home/alice/.bash_history")
	ev := waitEvent(t, e, mark, "the wait given up", privateTo(demo.Alice, "Gave up waiting", "mde.wait_timeout"))
	calls := e.MDE.LiveResponseRequests()
	if len(calls) != 1 {
		t.Fatalf("runliveresponse called %d times", len(calls))
	}
	// The message names the action to resume with: `/mde-package get <id>`.
	m := regexp.MustCompile(`/mde-package get ([0-9a-f-]{36})`).FindStringSubmatch(textOf(ev))
	if m == nil {
		t.Fatalf("the message names no action to resume with: %s", textOf(ev))
	}
	actionID := m[1]
	for _, w := range []string{"/mde-package get " + actionID, "/mde-package status " + actionID, "offline"} {
		if !strings.Contains(textOf(ev), w) {
			t.Errorf("the message lacks %q: %s", w, textOf(ev))
		}
	}
	e.MDE.SetStatus(actionID, mde.StatusSucceeded)
	mark = e.Mark()
	command(t, e, demo.Alice, demo.ChanUpload, "get "+actionID)
	up := waitEvent(t, e, mark, "the upload", func(ev slackfake.Event) bool { return ev.Kind == slackfake.EventFileShared })
	if up.Upload.Filename != "ws-0042.contoso.local-bash_history.gz" {
		t.Errorf("uploaded as %q", up.Upload.Filename)
	}
	if up.Upload.SHA256 != e.MDE.LiveResponseResultSHA256(actionID) {
		t.Errorf("uploaded %s, Defender served %s", up.Upload.SHA256, e.MDE.LiveResponseResultSHA256(actionID))
	}
	if n := len(e.MDE.LiveResponseRequests()); n != 1 {
		t.Errorf("the resume started another session (%d runliveresponse calls)", n)
	}
}

// approval.required_for: [getfile] asks approval for getfile only; a get in
// the same channel is delivered without one.
func TestApprovalRequiredForGetFileOnly(t *testing.T) {
	e, _ := start(t, demo.Options{Tune: func(c *configT) {
		for i := range c.Policy.Channels {
			if c.Policy.Channels[i].Match == demo.ChanApproval {
				c.Policy.Channels[i].Approval.RequiredFor = []string{"getfile"}
			}
		}
	}})
	login(t, e, demo.Alice)
	id := addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6b71")
	mark := e.Mark()
	command(t, e, demo.Alice, demo.ChanApproval, "get "+id)
	waitEvent(t, e, mark, "the package uploaded without approval", func(ev slackfake.Event) bool { return ev.Kind == slackfake.EventFileShared })
	mark = e.Mark()
	askGetFile(t, e, demo.Alice, demo.ChanApproval, `ws-0042 C:\Windows\Temp\x.txt`)
	waitEvent(t, e, mark, "the getfile approval card", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventMessage && hasButton(ev, handlers.ActionApprove) && strings.Contains(textOf(ev), "asks for a file")
	})
	if n := len(e.MDE.LiveResponseRequests()); n != 0 {
		t.Errorf("runliveresponse called %d times before the approval", n)
	}
}
