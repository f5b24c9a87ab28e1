package mde_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mdebot/mdebot/mde"
	"github.com/mdebot/mdebot/mde/mdetest"
)

// liveFixture is a fixture with one known device.
func liveFixture(t *testing.T, fo mdetest.Options) *fixture {
	t.Helper()
	f := newFixture(t, fo, mde.Options{})
	f.fake.AddMachine(mde.Machine{ID: machineID, ComputerDNSName: "ws01.contoso.com"})
	return f
}

// The exact bytes sent: encoding/json escaping, case-sensitive names.
func TestRunLiveResponseGetFileBody(t *testing.T) {
	tests := []struct {
		path, comment, want string
	}{
		{`C:\Windows\Temp\x y.txt`, "IR-9",
			`{"Commands":[{"type":"GetFile","params":[{"key":"Path","value":"C:\\Windows\\Temp\\x y.txt"}]}],"Comment":"IR-9"}`},
		{`/tmp/a&b<c>"d".txt`, `say "hi" \o/`,
			`{"Commands":[{"type":"GetFile","params":[{"key":"Path","value":"/tmp/a&b<c>\"d\".txt"}]}],"Comment":"say \"hi\" \\o/"}`},
		{`D:\Zoë\отчёт.docx`, "",
			`{"Commands":[{"type":"GetFile","params":[{"key":"Path","value":"D:\\Zoë\\отчёт.docx"}]}],"Comment":"File requested with mdebot (live response GetFile)"}`},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			f := liveFixture(t, mdetest.Options{})
			a, err := f.c.RunLiveResponseGetFile(t.Context(), alice, machineID, tt.path, tt.comment)
			if err != nil {
				t.Fatal(err)
			}
			reqs := f.fake.LiveResponseRequests()
			if len(reqs) != 1 || reqs[0].Body != tt.want || reqs[0].Token != token || reqs[0].MachineID != machineID {
				t.Fatalf("requests %+v\nwant body %s with token %q", reqs, tt.want, token)
			}
			if a.Type != mde.TypeLiveResponse || a.Status != mde.StatusPending || a.MachineID != machineID || len(a.Commands) != 1 {
				t.Fatalf("action %+v", a)
			}
			c := a.Commands[0]
			if c.Index != 0 || c.CommandStatus != mde.CommandCreated || c.Command.Type != mde.CommandGetFile ||
				!slices.Equal(c.Command.Params, []mde.CommandParam{{Key: "Path", Value: tt.path}}) || len(c.Errors) != 0 {
				t.Fatalf("command %+v", c)
			}
		})
	}
}

// gunzip returns the decompressed bytes of gz.
func gunzip(t *testing.T, gz []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// fetchResult opens a result link and reads it all.
func fetchResult(t *testing.T, f *fixture, u mde.ResultURL) ([]byte, *mde.Package) {
	t.Helper()
	p, err := f.c.OpenPackage(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	b, err := io.ReadAll(p)
	if err != nil {
		t.Fatal(err)
	}
	return b, p
}

// A session from start to the downloaded file, as the requester.
func TestLiveResponseLifecycle(t *testing.T) {
	f := liveFixture(t, mdetest.Options{})
	a, err := f.c.RunLiveResponseGetFile(t.Context(), alice, machineID, `C:\Windows\Temp\evil.ps1`, "IR-9")
	if err != nil {
		t.Fatal(err)
	}
	content := []byte(strings.Repeat("Invoke-Evil -Now\r\n", 5000))
	if !f.fake.SetLiveResponseResult(a.ID, content) {
		t.Fatal("SetLiveResponseResult: unknown action")
	}
	_, err = f.c.GetLiveResponseResultDownloadLink(t.Context(), alice, a.ID, 0)
	var me *mde.Error
	if !errors.As(err, &me) || me.Kind != mde.KindNotReady {
		t.Fatalf("link before completion: %v, want KindNotReady", err)
	}
	var got [][2]string
	for range 3 {
		p, err := f.c.GetMachineAction(t.Context(), alice, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, [2]string{p.Status, p.Commands[0].CommandStatus})
	}
	want := [][2]string{{"Pending", "Created"}, {"InProgress", "InProgress"}, {"Succeeded", "Completed"}}
	if !slices.Equal(got, want) {
		t.Fatalf("statuses %v, want %v", got, want)
	}
	u, err := f.c.GetLiveResponseResultDownloadLink(t.Context(), alice, a.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	sigs := f.fake.IssuedResultSignatures()
	if len(sigs) != 1 || !strings.HasPrefix(u.Reveal(), f.fake.BlobURL()+"/") {
		t.Fatalf("link %s, blob host %s, signatures %d", u, f.fake.BlobURL(), len(sigs))
	}
	if shown := fmt.Sprint(u, " ", u.String()); strings.Contains(shown, url.QueryEscape(sigs[0])) || strings.Contains(shown, sigs[0]) {
		t.Fatalf("printed link %q shows the signature", shown)
	}
	gz, p := fetchResult(t, f, u)
	if p.Sum() != f.fake.LiveResponseResultSHA256(a.ID) || p.N() != int64(len(gz)) || p.Size() != int64(len(gz)) {
		t.Fatalf("sum %s size %d n %d; fake's sha %s, %d bytes", p.Sum(), p.Size(), p.N(), f.fake.LiveResponseResultSHA256(a.ID), len(gz))
	}
	if !bytes.Equal(gunzip(t, gz), content) {
		t.Fatal("downloaded file differs from the device's")
	}
	for _, r := range f.fake.Requests() {
		switch {
		case strings.HasPrefix(r.Path, "/investigation/") && r.Token != "":
			t.Fatalf("blob download carried a bearer token: %+v", r)
		case strings.HasPrefix(r.Path, "/api/") && r.Token != token:
			t.Fatalf("API request %s %s carried token %q, want the requester's", r.Method, r.Path, r.Token)
		}
	}
	if n := len(f.fake.ResultLinkCalls()); n != 2 {
		t.Fatalf("link calls %d, want 2 (not ready, then served)", n)
	}
}

func TestLiveResponseErrors(t *testing.T) {
	forbid := func(_, method, path string) int {
		if method == http.MethodPost {
			return 403
		}
		return 0
	}
	tests := []struct {
		name   string
		fo     mdetest.Options
		setup  func(f *fixture)
		call   func(f *fixture) error
		kind   mde.ErrorKind
		msgHas []string
	}{
		{
			name: "second session on the device",
			setup: func(f *fixture) {
				if _, err := f.c.RunLiveResponseGetFile(t.Context(), alice, machineID, "/tmp/a", "x"); err != nil {
					t.Fatal(err)
				}
			},
			call: func(f *fixture) error {
				_, err := f.c.RunLiveResponseGetFile(t.Context(), alice, machineID, "/tmp/b", "x")
				return err
			},
			kind: mde.KindSessionOpen, msgHas: []string{"live response session is already open", "Defender says"},
		},
		{
			name: "403 names the live response permission", fo: mdetest.Options{Authorize: forbid},
			call: func(f *fixture) error {
				_, err := f.c.RunLiveResponseGetFile(t.Context(), alice, machineID, "/tmp/a", "x")
				return err
			},
			kind: mde.KindForbidden, msgHas: []string{"live response", "device group", "Machine.LiveResponse"},
		},
		{
			name: "unknown device",
			call: func(f *fixture) error {
				_, err := f.c.RunLiveResponseGetFile(t.Context(), alice, strings.Repeat("0", 40), "/tmp/a", "x")
				return err
			},
			kind: mde.KindNotFound,
		},
		{
			name:  "result link of another action type",
			setup: func(f *fixture) { f.fake.AddAction(mde.MachineAction{ID: actionID, Status: mde.StatusSucceeded}) },
			call: func(f *fixture) error {
				_, err := f.c.GetLiveResponseResultDownloadLink(t.Context(), alice, actionID, 0)
				return err
			},
			kind: mde.KindBadRequest, msgHas: []string{"not of type LiveResponse"},
		},
		{
			name: "result link refused by the host list",
			setup: func(f *fixture) {
				f.fake.AddAction(mde.MachineAction{ID: actionID, Type: mde.TypeLiveResponse, Status: mde.StatusSucceeded,
					Commands: []mde.LiveResponseCommand{{CommandStatus: mde.CommandCompleted}}})
				c, err := mde.New(mde.Options{BaseURL: f.fake.URL, DownloadHosts: []string{"*.blob.core.windows.net"}})
				if err != nil {
					t.Fatal(err)
				}
				f.c = c
			},
			call: func(f *fixture) error {
				_, err := f.c.GetLiveResponseResultDownloadLink(t.Context(), alice, actionID, 0)
				return err
			},
			kind: mde.KindRefusedURL, msgHas: []string{"127.0.0.1", "not in the allowed download hosts"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := liveFixture(t, tt.fo)
			if tt.setup != nil {
				tt.setup(f)
			}
			err := tt.call(f)
			var me *mde.Error
			if !errors.As(err, &me) || me.Kind != tt.kind {
				t.Fatalf("err = %v, want kind %s", err, tt.kind)
			}
			for _, s := range tt.msgHas {
				if !strings.Contains(me.Message, s) {
					t.Errorf("message %q lacks %q", me.Message, s)
				}
			}
			for _, sig := range f.fake.IssuedResultSignatures() {
				if strings.Contains(err.Error(), sig) || strings.Contains(err.Error(), url.QueryEscape(sig)) {
					t.Fatalf("error %v reveals a link signature", err)
				}
			}
		})
	}
}

// runliveresponse is never repeated by the client: a 429 comes back with
// its Retry-After, and the fake saw exactly one call more than its budget.
func TestLiveResponseRateLimited(t *testing.T) {
	clk := newClock()
	f := newFixture(t, mdetest.Options{Now: clk.Now}, mde.Options{})
	for i := range 11 {
		id := fmt.Sprintf("%040x", i+1)
		f.fake.AddMachine(mde.Machine{ID: id})
		_, err := f.c.RunLiveResponseGetFile(t.Context(), alice, id, "/tmp/x", "")
		var me *mde.Error
		switch {
		case i < 10 && err != nil:
			t.Fatalf("call %d: %v", i, err)
		case i == 10 && (!errors.As(err, &me) || me.Kind != mde.KindRateLimited || me.RetryAfter != time.Minute):
			t.Fatalf("11th call in a minute: %v, want KindRateLimited after 1m", err)
		}
	}
	if n := len(f.fake.Requests()); n != 11 {
		t.Fatalf("fake saw %d requests, want 11 (no repeats)", n)
	}
	clk.Add(time.Minute)
	if _, err := f.c.RunLiveResponseGetFile(t.Context(), alice, fmt.Sprintf("%040x", 11), "/tmp/x", ""); err != nil {
		t.Fatalf("a minute later: %v", err)
	}
}

func TestLiveResponseFailed(t *testing.T) {
	f := liveFixture(t, mdetest.Options{})
	f.fake.SetLiveResponseScript(mdetest.Step{Status: mde.StatusPending, Polls: 1}, mdetest.Step{Status: mde.StatusFailed})
	f.fake.SetLiveResponseErrors("File is larger than 3 GB", "second error")
	a, err := f.c.RunLiveResponseGetFile(t.Context(), alice, machineID, `C:\pagefile.sys`, "")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if a, err = f.c.GetMachineAction(t.Context(), alice, a.ID); err != nil {
			t.Fatal(err)
		}
	}
	if !a.Terminal() || a.Status != mde.StatusFailed || a.Commands[0].CommandStatus != mde.CommandFailed ||
		!slices.Equal(a.CommandErrors(), []string{"File is larger than 3 GB", "second error"}) {
		t.Fatalf("action %+v, errors %q", a, a.CommandErrors())
	}
	if _, err := f.c.GetLiveResponseResultDownloadLink(t.Context(), alice, a.ID, 0); err == nil {
		t.Fatal("a failed command has a result link")
	}
}

func TestLiveResponseInvalidInputMakesNoRequest(t *testing.T) {
	f := liveFixture(t, mdetest.Options{})
	calls := map[string]func() error{
		"machine traversal": func() error {
			_, err := f.c.RunLiveResponseGetFile(t.Context(), alice, "../machines", "/tmp/x", "")
			return err
		},
		"relative path": func() error {
			_, err := f.c.RunLiveResponseGetFile(t.Context(), alice, machineID, `Temp\x`, "")
			return err
		},
		"NUL in path": func() error {
			_, err := f.c.RunLiveResponseGetFile(t.Context(), alice, machineID, "/tmp/x\x00y", "")
			return err
		},
		"link for a bad id": func() error {
			_, err := f.c.GetLiveResponseResultDownloadLink(t.Context(), alice, actionID+"/x", 0)
			return err
		},
		"negative index": func() error {
			_, err := f.c.GetLiveResponseResultDownloadLink(t.Context(), alice, actionID, -1)
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			var me *mde.Error
			if err := call(); !errors.As(err, &me) || me.Kind != mde.KindInvalidInput || me.Message == "" || me.Endpoint == "input" {
				t.Fatalf("err = %v, want KindInvalidInput with a message and the endpoint", err)
			}
		})
	}
	if n := len(f.fake.Requests()); n != 0 {
		t.Fatalf("fake saw %d requests, want 0", n)
	}
}

// succeededSession runs a session through to Succeeded.
func succeededSession(t *testing.T, f *fixture) string {
	t.Helper()
	a, err := f.c.RunLiveResponseGetFile(t.Context(), alice, machineID, "/var/log/auth.log", "")
	if err != nil {
		t.Fatal(err)
	}
	f.fake.SetStatus(a.ID, mde.StatusSucceeded)
	return a.ID
}

// An expired link is KindLinkExpired without the credential; a new link
// (a new call) works.
func TestResultLinkExpired(t *testing.T) {
	clk := newClock()
	f := liveFixture(t, mdetest.Options{Now: clk.Now, ResultLinkTTL: 30 * time.Minute})
	id := succeededSession(t, f)
	for _, expire := range []func(){
		f.fake.ExpireNextResultLink,
		func() {},
	} {
		expire()
		u, err := f.c.GetLiveResponseResultDownloadLink(t.Context(), alice, id, 0)
		if err != nil {
			t.Fatal(err)
		}
		clk.Add(30 * time.Minute) // the second link dies of age
		_, err = f.c.OpenPackage(t.Context(), u)
		var me *mde.Error
		if !errors.As(err, &me) || me.Kind != mde.KindLinkExpired || me.Code != "AuthenticationFailed" || me.HTTPStatus != 403 {
			t.Fatalf("expired link: %v, want KindLinkExpired (403 AuthenticationFailed)", err)
		}
		sigs := f.fake.IssuedResultSignatures()
		if last := sigs[len(sigs)-1]; strings.Contains(err.Error(), last) || strings.Contains(err.Error(), url.QueryEscape(last)) {
			t.Fatalf("error %v reveals the signature", err)
		}
	}
	u, err := f.c.GetLiveResponseResultDownloadLink(t.Context(), alice, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, p := fetchResult(t, f, u); p.Sum() != f.fake.LiveResponseResultSHA256(id) {
		t.Fatalf("fresh link: sum %s", p.Sum())
	}
	if n := len(f.fake.ResultLinkCalls()); n != 3 {
		t.Fatalf("link calls %d, want 3", n)
	}
}

// Blob storage's 403 is told apart by its code, from the header or the XML
// body; any other 403 on a download stays KindForbidden.
func TestDownloadRefusalKinds(t *testing.T) {
	tests := []struct {
		name   string
		header string
		body   string
		kind   mde.ErrorKind
	}{
		{"header", "AuthenticationFailed", "", mde.KindLinkExpired},
		{"xml body only", "", `<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code><Message>Server failed to authenticate the request.</Message></Error>`, mde.KindLinkExpired},
		{"azurite", "AuthorizationFailure", "", mde.KindLinkExpired},
		{"other storage code", "AuthorizationPermissionMismatch", "", mde.KindForbidden},
		{"plain 403", "", "The link is invalid or has expired.", mde.KindForbidden},
		{"json body", "", `{"error":{"code":"AuthenticationFailed"}}`, mde.KindForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.header != "" {
					w.Header().Set("x-ms-error-code", tt.header)
				}
				w.WriteHeader(http.StatusForbidden)
				_, _ = io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			c, err := mde.New(mde.Options{BaseURL: srv.URL, DownloadHosts: []string{"127.0.0.1"}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.OpenPackage(t.Context(), mustURL(t, srv.URL+"/investigation/x.gz?sig=SECRET"))
			var me *mde.Error
			if !errors.As(err, &me) || me.Kind != tt.kind || strings.Contains(err.Error(), "SECRET") {
				t.Fatalf("err = %v, want %s without the credential", err, tt.kind)
			}
		})
	}
}
