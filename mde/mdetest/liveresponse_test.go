package mdetest

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdebot/mdebot/mde"
)

const liveOK = `{"Commands":[{"type":"GetFile","params":[{"key":"Path","value":"C:\\Windows\\Temp\\x.txt"}]}],"Comment":"IR-1"}`

func livePath(id string) string { return "/api/machines/" + id + "/runliveresponse" }

// liveServer is a fake with devices m0..m(n-1), each a 40-hex id.
func liveServer(t *testing.T, o Options, n int) (*Server, []string) {
	t.Helper()
	s := New(o)
	t.Cleanup(s.Close)
	var ids []string
	for i := range n {
		id := fmt.Sprintf("%040x", i+1)
		s.AddMachine(mde.Machine{ID: id, ComputerDNSName: fmt.Sprintf("ws%02d.contoso.com", i)})
		ids = append(ids, id)
	}
	return s, ids
}

func TestRunLiveResponseStrictBody(t *testing.T) {
	tests := []struct {
		name, body, msgHas string // msgHas "" means accepted
	}{
		{"documented body", liveOK, ""},
		{"names in another order", `{"Comment":"c","Commands":[{"params":[{"value":"/tmp/x","key":"Path"}],"type":"GetFile"}]}`, ""},
		{"empty comment", `{"Commands":[{"type":"GetFile","params":[{"key":"Path","value":"/tmp/x"}]}],"Comment":""}`, ""},
		{"lower-case commands", `{"commands":[{"type":"GetFile","params":[{"key":"Path","value":"/tmp/x"}]}],"Comment":"c"}`, `"commands"`},
		{"lower-case comment", `{"Commands":[{"type":"GetFile","params":[{"key":"Path","value":"/tmp/x"}]}],"comment":"c"}`, `"comment"`},
		{"capitalised Type", `{"Commands":[{"Type":"GetFile","params":[{"key":"Path","value":"/tmp/x"}]}],"Comment":"c"}`, `"Type"`},
		{"capitalised Params", `{"Commands":[{"type":"GetFile","Params":[{"key":"Path","value":"/tmp/x"}]}],"Comment":"c"}`, `"Params"`},
		{"capitalised Key", `{"Commands":[{"type":"GetFile","params":[{"Key":"Path","value":"/tmp/x"}]}],"Comment":"c"}`, `"Key"`},
		{"lower-case path key", `{"Commands":[{"type":"GetFile","params":[{"key":"path","value":"/tmp/x"}]}],"Comment":"c"}`, `"Path"`},
		{"lower-case command type", `{"Commands":[{"type":"getfile","params":[{"key":"Path","value":"/tmp/x"}]}],"Comment":"c"}`, "Unknown command type"},
		{"no comment", `{"Commands":[{"type":"GetFile","params":[{"key":"Path","value":"/tmp/x"}]}]}`, "Comment is required"},
		{"comment not a string", `{"Commands":[{"type":"GetFile","params":[{"key":"Path","value":"/tmp/x"}]}],"Comment":5}`, "Comment is required"},
		{"no commands", `{"Comment":"c"}`, "Commands is required"},
		{"empty commands", `{"Commands":[],"Comment":"c"}`, "Commands is required"},
		{"commands not a list", `{"Commands":{"type":"GetFile"},"Comment":"c"}`, "Commands is required"},
		{"extra top-level name", `{"Commands":[{"type":"GetFile","params":[{"key":"Path","value":"/tmp/x"}]}],"Comment":"c","Path":"/tmp/x"}`, `"Path"`},
		{"two commands", `{"Commands":[{"type":"GetFile","params":[{"key":"Path","value":"/a"}]},{"type":"GetFile","params":[{"key":"Path","value":"/b"}]}],"Comment":"c"}`, "one command"},
		{"RunScript", `{"Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"x.ps1"}]}],"Comment":"c"}`, "GetFile only"},
		{"no params", `{"Commands":[{"type":"GetFile"}],"Comment":"c"}`, "params is required"},
		{"two params", `{"Commands":[{"type":"GetFile","params":[{"key":"Path","value":"/a"},{"key":"Path","value":"/b"}]}],"Comment":"c"}`, "exactly one parameter"},
		{"empty path", `{"Commands":[{"type":"GetFile","params":[{"key":"Path","value":""}]}],"Comment":"c"}`, "non-empty string"},
		{"path not a string", `{"Commands":[{"type":"GetFile","params":[{"key":"Path","value":["/a"]}]}],"Comment":"c"}`, "non-empty string"},
		{"not JSON", `Commands=GetFile`, "not a JSON object"},
		{"JSON null", `null`, "not a JSON object"},
		{"empty body", ``, "not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ids := liveServer(t, Options{}, 1)
			var eb errBody
			var a mde.MachineAction
			var out any = &a
			if tt.msgHas != "" {
				out = &eb
			}
			resp := call(t, s, "POST", livePath(ids[0]), "tok", tt.body, out)
			if tt.msgHas == "" {
				if resp.StatusCode != 201 || a.Type != mde.TypeLiveResponse || len(a.Commands) != 1 {
					t.Fatalf("status %d, action %+v", resp.StatusCode, a)
				}
			} else if resp.StatusCode != 400 || eb.Error.Code != "InvalidRequestBody" || !strings.Contains(eb.Error.Message, tt.msgHas) {
				t.Fatalf("status %d %+v, want 400 InvalidRequestBody mentioning %q", resp.StatusCode, eb.Error, tt.msgHas)
			}
			reqs := s.LiveResponseRequests()
			if len(reqs) != 1 || reqs[0].Body != tt.body || reqs[0].Token != "tok" || reqs[0].MachineID != ids[0] {
				t.Fatalf("recorded %+v", reqs)
			}
		})
	}
}

func TestLiveResponseAction(t *testing.T) {
	s, ids := liveServer(t, Options{Requestor: func(tok string) string { return tok + "@contoso.com" }}, 1)
	var a mde.MachineAction
	if resp := call(t, s, "POST", livePath(ids[0]), "alice", liveOK, &a); resp.StatusCode != 201 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	want := mde.LiveResponseCommand{Index: 0, CommandStatus: mde.CommandCreated, Errors: mde.CommandErrorList{},
		Command: mde.CommandDef{Type: "GetFile", Params: []mde.CommandParam{{Key: "Path", Value: `C:\Windows\Temp\x.txt`}}}}
	if a.Type != mde.TypeLiveResponse || a.Status != mde.StatusPending || a.Requestor != "alice@contoso.com" ||
		a.RequestorComment != "IR-1" || a.ComputerDNSName != "ws00.contoso.com" || len(a.Commands) != 1 ||
		fmt.Sprint(a.Commands[0]) != fmt.Sprint(want) {
		t.Fatalf("action %+v", a)
	}
	// The raw answer carries the documented names, errors as an empty list.
	var raw json.RawMessage
	call(t, s, "GET", "/api/machineactions/"+a.ID, "alice", "", &raw)
	for _, s := range []string{`"commands":[{"index":0,`, `"commandStatus":"Created"`, `"errors":[]`, `"command":{"type":"GetFile","params":[{"key":"Path","value":"C:\\Windows\\Temp\\x.txt"}]}`} {
		if !bytes.Contains(raw, []byte(s)) {
			t.Fatalf("answer %s lacks %s", raw, s)
		}
	}
	// Polled along the script (that GET was the first poll); the command
	// follows, with start and end times.
	got := []string{"Pending/Created/false/false"}
	for range 2 {
		var p mde.MachineAction
		call(t, s, "GET", "/api/machineactions/"+a.ID, "alice", "", &p)
		c := p.Commands[0]
		got = append(got, fmt.Sprintf("%s/%s/%v/%v", p.Status, c.CommandStatus, c.StartTime != nil, c.EndTime != nil))
	}
	if w := "Pending/Created/false/false InProgress/InProgress/true/false Succeeded/Completed/true/true"; strings.Join(got, " ") != w {
		t.Fatalf("got %v, want %s", got, w)
	}
}

func TestLiveResponseFailureScript(t *testing.T) {
	s, ids := liveServer(t, Options{}, 1)
	s.SetLiveResponseScript(Step{mde.StatusInProgress, 1}, Step{mde.StatusTimeOut, 0})
	s.SetLiveResponseErrors("Command timed out")
	var a mde.MachineAction
	call(t, s, "POST", livePath(ids[0]), "tok", liveOK, &a)
	if a.Status != mde.StatusInProgress || a.Commands[0].CommandStatus != mde.CommandInProgress {
		t.Fatalf("first step: %+v", a)
	}
	call(t, s, "GET", "/api/machineactions/"+a.ID, "tok", "", &a)
	call(t, s, "GET", "/api/machineactions/"+a.ID, "tok", "", &a)
	if a.Status != mde.StatusTimeOut || a.Commands[0].CommandStatus != mde.CommandFailed || fmt.Sprint(a.CommandErrors()) != "[Command timed out]" {
		t.Fatalf("after the script: %+v", a)
	}
}

func TestLiveResponseSessions(t *testing.T) {
	s, ids := liveServer(t, Options{MaxLiveSessions: 2}, 3)
	var first mde.MachineAction
	if resp := call(t, s, "POST", livePath(ids[0]), "tok", liveOK, &first); resp.StatusCode != 201 {
		t.Fatalf("first: %d", resp.StatusCode)
	}
	var eb errBody
	if resp := call(t, s, "POST", livePath(ids[0]), "tok", liveOK, &eb); resp.StatusCode != 400 || eb.Error.Code != "ActiveRequestAlreadyExists" {
		t.Fatalf("second on the same device: %d %+v", resp.StatusCode, eb)
	}
	// A collection on the device is another kind of action: no conflict.
	if resp := call(t, s, "POST", "/api/machines/"+ids[0]+"/collectInvestigationPackage", "tok", `{"Comment":"c"}`, nil); resp.StatusCode != 201 {
		t.Fatalf("collection beside a session: %d", resp.StatusCode)
	}
	if resp := call(t, s, "POST", livePath(ids[1]), "tok", liveOK, nil); resp.StatusCode != 201 {
		t.Fatalf("another device: %d", resp.StatusCode)
	}
	eb = errBody{}
	resp := call(t, s, "POST", livePath(ids[2]), "tok", liveOK, &eb)
	if resp.StatusCode != 429 || eb.Error.Code != "TooManyRequests" || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("third concurrent session with a limit of 2: %d %+v", resp.StatusCode, eb)
	}
	s.SetStatus(first.ID, mde.StatusSucceeded)
	if resp := call(t, s, "POST", livePath(ids[0]), "tok", liveOK, nil); resp.StatusCode != 201 {
		t.Fatalf("after the first session ended: %d", resp.StatusCode)
	}
	if resp := call(t, s, "POST", livePath(strings.Repeat("f", 40)), "tok", liveOK, &eb); resp.StatusCode != 404 {
		t.Fatalf("unknown device: %d", resp.StatusCode)
	}
}

func TestLiveResponseRateLimit(t *testing.T) {
	clk := newClock()
	s, ids := liveServer(t, Options{Now: clk.Now}, 12)
	for i := range 11 {
		resp := call(t, s, "POST", livePath(ids[i]), "tok", liveOK, nil)
		switch {
		case i < 10 && resp.StatusCode != 201:
			t.Fatalf("call %d: %d", i, resp.StatusCode)
		case i == 10 && (resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "50"):
			// at +10s; the first call (at 0) leaves the minute at +60s
			t.Fatalf("11th call in a minute: %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		clk.Add(time.Second)
	}
	if n := len(s.LiveResponseRequests()); n != 10 {
		t.Fatalf("throttled call reached the handler: %d recorded", n)
	}
	clk.Add(50 * time.Second) // the first call (at 0) has left the minute
	if resp := call(t, s, "POST", livePath(ids[11]), "tok", liveOK, nil); resp.StatusCode != 201 {
		t.Fatalf("a minute later: %d", resp.StatusCode)
	}
}

// linkValue asks for an action's result link; "" when refused.
func linkValue(t *testing.T, s *Server, id, fn string) (string, *http.Response, errBody) {
	t.Helper()
	var body struct {
		Value string
		errBody
	}
	resp := call(t, s, "GET", "/api/machineactions/"+id+"/"+fn, "tok", "", &body)
	return body.Value, resp, body.errBody
}

func get(t *testing.T, u string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

const linkCall = "GetLiveResponseResultDownloadLink(index=0)"

func TestResultLinks(t *testing.T) {
	clk := newClock()
	s, ids := liveServer(t, Options{Now: clk.Now, ResultLinkTTL: 30 * time.Minute}, 1)
	var a mde.MachineAction
	call(t, s, "POST", livePath(ids[0]), "tok", liveOK, &a)
	if v, resp, eb := linkValue(t, s, a.ID, linkCall); v != "" || resp.StatusCode != 404 || !strings.Contains(eb.Error.Message, "not completed") {
		t.Fatalf("before completion: %d %+v", resp.StatusCode, eb)
	}
	s.SetStatus(a.ID, mde.StatusSucceeded)
	content := []byte("secret evidence\r\n")
	s.SetLiveResponseResult(a.ID, content)

	v1, _, _ := linkValue(t, s, a.ID, linkCall)
	v2, _, _ := linkValue(t, s, a.ID, linkCall)
	u, err := url.Parse(v1)
	if err != nil || v1 == v2 || "http://"+u.Host != s.BlobURL() || u.Host == strings.TrimPrefix(s.URL, "http://") ||
		!strings.HasPrefix(u.Path, "/investigation/") || !strings.HasSuffix(u.Path, ".gz") {
		t.Fatalf("links %q and %q (%v), blob host %s", v1, v2, err, s.BlobURL())
	}
	q := u.Query()
	for _, k := range []string{"sv", "se", "sr", "sp", "sig"} {
		if q.Get(k) == "" {
			t.Fatalf("link %q lacks %s", v1, k)
		}
	}
	if sigs := s.IssuedResultSignatures(); len(sigs) != 2 || sigs[0] != q.Get("sig") {
		t.Fatalf("signatures %q", sigs)
	}

	resp, gz := get(t, v1)
	sum := sha256.Sum256(gz)
	if resp.StatusCode != 200 || hex.EncodeToString(sum[:]) != s.LiveResponseResultSHA256(a.ID) || resp.ContentLength != int64(len(gz)) {
		t.Fatalf("download: %d, %d bytes, sha %x, fake's %s", resp.StatusCode, len(gz), sum, s.LiveResponseResultSHA256(a.ID))
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	if plain, err := io.ReadAll(zr); err != nil || !bytes.Equal(plain, content) {
		t.Fatalf("gunzipped %q, %v", plain, err)
	}

	refusals := []struct {
		name, link, code string
		status           int
	}{
		{"tampered signature", strings.Replace(v1, "sig=", "sig=x", 1), "AuthenticationFailed", 403},
		{"another blob", strings.Replace(v1, ".gz?", "x.gz?", 1), "AuthenticationFailed", 403},
		{"longer expiry", strings.Replace(v1, "se=", "se=9", 1), "AuthenticationFailed", 403},
		{"no signature", strings.Split(v1, "?")[0], "ResourceNotFound", 404},
		{"another container", s.BlobURL() + "/other/x.gz?" + u.RawQuery, "ResourceNotFound", 404},
	}
	for _, r := range refusals {
		resp, body := get(t, r.link)
		if resp.StatusCode != r.status || resp.Header.Get("x-ms-error-code") != r.code || !bytes.Contains(body, []byte("<Code>"+r.code+"</Code>")) {
			t.Fatalf("%s: %d %q %s", r.name, resp.StatusCode, resp.Header.Get("x-ms-error-code"), body)
		}
	}

	clk.Add(30 * time.Minute)
	resp, body := get(t, v2)
	if resp.StatusCode != 403 || !bytes.Contains(body, []byte("<Code>AuthenticationFailed</Code>")) || !bytes.Contains(body, []byte("Signed expiry time")) {
		t.Fatalf("expired link: %d %s", resp.StatusCode, body)
	}
	s.ExpireNextResultLink()
	v3, _, _ := linkValue(t, s, a.ID, linkCall)
	if resp, _ := get(t, v3); resp.StatusCode != 403 {
		t.Fatalf("link made to expire: %d", resp.StatusCode)
	}
	v4, _, _ := linkValue(t, s, a.ID, linkCall)
	if resp, _ := get(t, v4); resp.StatusCode != 200 {
		t.Fatalf("the link after it: %d", resp.StatusCode)
	}
	if n := len(s.ResultLinkCalls()); n != 5 {
		t.Fatalf("ResultLinkCalls %d, want 5", n)
	}
	for _, r := range s.Requests() {
		if strings.HasPrefix(r.Path, "/investigation/") && r.Token != "" {
			t.Fatalf("recorded blob request with a token: %+v", r)
		}
	}
}

func TestResultLinkRefusals(t *testing.T) {
	s, ids := liveServer(t, Options{}, 1)
	var a mde.MachineAction
	call(t, s, "POST", livePath(ids[0]), "tok", liveOK, &a)
	s.SetStatus(a.ID, mde.StatusSucceeded)
	collection := s.AddAction(mde.MachineAction{Status: mde.StatusSucceeded, MachineID: ids[0]})
	tests := []struct {
		name, id, call string
		status         int
		msgHas         string
	}{
		{"unknown action", actionID, linkCall, 404, "not found"},
		{"not a live response", collection, linkCall, 400, "not of type LiveResponse"},
		{"no such command", a.ID, "GetLiveResponseResultDownloadLink(index=1)", 400, "no command at index 1"},
		{"function name case", a.ID, "getliveresponseresultdownloadlink(index=0)", 404, "No such route"},
		{"negative index", a.ID, "GetLiveResponseResultDownloadLink(index=-1)", 404, "No such route"},
		{"no index", a.ID, "GetLiveResponseResultDownloadLink", 404, "No such route"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, resp, eb := linkValue(t, s, tt.id, tt.call)
			if v != "" || resp.StatusCode != tt.status || !strings.Contains(eb.Error.Message, tt.msgHas) {
				t.Fatalf("%d %+v, want %d mentioning %q", resp.StatusCode, eb, tt.status, tt.msgHas)
			}
		})
	}
	if v, resp, _ := linkValue(t, s, a.ID, linkCall); v == "" {
		t.Fatalf("the valid call: %d", resp.StatusCode)
	}
}

func TestResultLinkRateLimit(t *testing.T) {
	clk := newClock()
	s, ids := liveServer(t, Options{Now: clk.Now}, 1)
	var a mde.MachineAction
	call(t, s, "POST", livePath(ids[0]), "tok", liveOK, &a)
	s.SetStatus(a.ID, mde.StatusSucceeded)
	for i := range 101 {
		_, resp, _ := linkValue(t, s, a.ID, linkCall)
		switch {
		case i < 100 && resp.StatusCode != 200:
			t.Fatalf("call %d: %d", i, resp.StatusCode)
		case i == 100 && (resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "60"):
			t.Fatalf("101st call in a minute: %d %q", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	if n := len(s.ResultLinkCalls()); n != 100 {
		t.Fatalf("ResultLinkCalls %d, want 100 (the throttled one never reached the handler)", n)
	}
}

// Answers are written while scripts move commands on: no data race.
func TestLiveResponseConcurrentPolls(t *testing.T) {
	s, ids := liveServer(t, Options{APILimits: mde.Limits{PerMinute: 10000, PerHour: 100000}}, 1)
	s.SetLiveResponseScript(Step{mde.StatusPending, 20}, Step{mde.StatusInProgress, 20}, Step{mde.StatusSucceeded, 0})
	var a mde.MachineAction
	call(t, s, "POST", livePath(ids[0]), "tok", liveOK, &a)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 10 {
				req, _ := http.NewRequest("GET", s.URL+"/api/machineactions/"+a.ID, nil)
				req.Header.Set("Authorization", "Bearer tok")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				var p mde.MachineAction
				err = json.NewDecoder(resp.Body).Decode(&p)
				resp.Body.Close()
				if err != nil || len(p.Commands) != 1 {
					t.Errorf("answer %+v without its command (%v)", p, err)
				}
			}
		})
	}
	wg.Wait()
	if got, _ := s.Action(a.ID); got.Status != mde.StatusSucceeded || got.Commands[0].CommandStatus != mde.CommandCompleted {
		t.Fatalf("after 80 polls: %s/%s", got.Status, got.Commands[0].CommandStatus)
	}
}
