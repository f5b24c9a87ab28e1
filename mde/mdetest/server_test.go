package mdetest

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mdebot/mdebot/mde"
)

const (
	actionID  = "7f1b8b1e-2d6f-4b8a-9a3c-0c1d2e3f4a5b"
	machineID = "1e5bc9d7e413ddd7902c2932e418702b84d0cc07"
)

// call makes a raw request to the fake and decodes a JSON answer into out (when non-nil).
func call(t *testing.T, s *Server, method, path, token string, body string, out any) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: body %q: %v", method, path, data, err)
		}
	}
	return resp
}

type errBody struct {
	Error struct{ Code, Message, Target string } `json:"error"`
}

func TestPackageURIStrictLimit(t *testing.T) {
	clk := newClock()
	s := New(Options{Now: clk.Now})
	defer s.Close()
	s.AddAction(mde.MachineAction{ID: actionID, Status: mde.StatusSucceeded, MachineID: machineID})
	path := "/api/machineactions/" + actionID + "/getPackageUri"
	steps := []struct {
		advance    time.Duration
		wantStatus int
		wantRetry  string
	}{
		{0, 200, ""},
		{10 * time.Second, 200, ""},
		{10 * time.Second, 429, "40"}, // third call in the minute: first leaves at +60s
		{39 * time.Second, 429, "1"},
		{time.Second, 200, ""}, // +60s: the first call left the window
		{0, 429, "10"},         // second call (at +10s) leaves at +70s
	}
	for i, st := range steps {
		clk.Add(st.advance)
		var eb errBody
		var out any
		if st.wantStatus != 200 {
			out = &eb
		}
		resp := call(t, s, "GET", path, "tok", "", out)
		if resp.StatusCode != st.wantStatus || resp.Header.Get("Retry-After") != st.wantRetry {
			t.Fatalf("step %d: status %d Retry-After %q, want %d %q", i, resp.StatusCode, resp.Header.Get("Retry-After"), st.wantStatus, st.wantRetry)
		}
		if st.wantStatus == 429 && (eb.Error.Code != "TooManyRequests" || eb.Error.Target == "" || eb.Error.Message == "") {
			t.Fatalf("step %d: MDE error body %+v", i, eb)
		}
	}
	if got := len(s.PackageURICalls()); got != len(steps) {
		t.Errorf("PackageURICalls = %d, want %d", got, len(steps))
	}
	if got := len(s.PackageURIServed()); got != 3 {
		t.Errorf("PackageURIServed = %d, want 3", got)
	}
	if got := len(s.IssuedPackageTokens()); got != 3 {
		t.Errorf("IssuedPackageTokens = %d, want 3", got)
	}
}

func TestHourlyLimit(t *testing.T) {
	clk := newClock()
	s := New(Options{Now: clk.Now, APILimits: mde.Limits{PerMinute: 100, PerHour: 3}})
	defer s.Close()
	s.AddMachine(mde.Machine{ID: machineID, ComputerDNSName: "ws01.contoso.com"})
	want := []struct {
		status int
		retry  string
	}{{200, ""}, {200, ""}, {200, ""}, {429, "3420"}} // 4th at +3m waits for the first (at 0) to leave at +60m
	for i, w := range want {
		resp := call(t, s, "GET", "/api/machines/"+machineID, "tok", "", nil)
		if resp.StatusCode != w.status || resp.Header.Get("Retry-After") != w.retry {
			t.Fatalf("call %d: %d %q, want %d %q", i, resp.StatusCode, resp.Header.Get("Retry-After"), w.status, w.retry)
		}
		clk.Add(time.Minute)
	}
	// Limits are per endpoint: the list endpoint is untouched.
	if resp := call(t, s, "GET", "/api/machines", "tok", "", nil); resp.StatusCode != 200 {
		t.Fatalf("listMachines: %d", resp.StatusCode)
	}
}

func TestAuth(t *testing.T) {
	s := New(Options{Authorize: func(token, method, path string) int {
		if token == "reader" && method == http.MethodPost {
			return http.StatusForbidden
		}
		if token == "expired" {
			return http.StatusUnauthorized
		}
		return 0
	}})
	defer s.Close()
	s.AddMachine(mde.Machine{ID: machineID, ComputerDNSName: "ws01.contoso.com"})
	tests := []struct {
		name, token, method, path, body string
		want                            int
		code                            string
	}{
		{"no token", "", "GET", "/api/machines/" + machineID, "", 401, "Unauthorized"},
		{"expired", "expired", "GET", "/api/machines/" + machineID, "", 401, "Unauthorized"},
		{"forbidden", "reader", "POST", "/api/machines/" + machineID + "/collectInvestigationPackage", `{"Comment":"x"}`, 403, "Forbidden"},
		{"allowed read", "reader", "GET", "/api/machines/" + machineID, "", 200, ""},
		{"unknown route", "tok", "GET", "/api/nothing", "", 404, "NotFound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var eb errBody
			var out any
			if tt.code != "" {
				out = &eb
			}
			resp := call(t, s, tt.method, tt.path, tt.token, tt.body, out)
			if resp.StatusCode != tt.want || eb.Error.Code != tt.code {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, eb.Error.Code, tt.want, tt.code)
			}
		})
	}
	reqs := s.Requests()
	if len(reqs) != len(tests) || reqs[1].Token != "expired" || reqs[0].Token != "" || reqs[2].Status != 403 {
		t.Fatalf("records: %+v", reqs)
	}
}

func TestActionScript(t *testing.T) {
	s := New(Options{PackageURILimits: mde.Limits{PerMinute: 100, PerHour: 1000}})
	defer s.Close()
	s.AddAction(mde.MachineAction{ID: actionID, MachineID: machineID},
		Step{mde.StatusPending, 2}, Step{mde.StatusInProgress, 1}, Step{mde.StatusSucceeded, 0})
	uri := "/api/machineactions/" + actionID + "/getPackageUri"
	var seen []string
	for range 5 {
		if resp := call(t, s, "GET", uri, "tok", "", nil); resp.StatusCode != 404 {
			if len(seen) < 3 {
				t.Fatalf("getPackageUri answered %d before Succeeded (seen %v)", resp.StatusCode, seen)
			}
		}
		var a mde.MachineAction
		call(t, s, "GET", "/api/machineactions/"+actionID, "tok", "", &a)
		seen = append(seen, a.Status)
	}
	want := []string{"Pending", "Pending", "InProgress", "Succeeded", "Succeeded"}
	if !slices.Equal(seen, want) {
		t.Fatalf("statuses %v, want %v", seen, want)
	}
	var v struct {
		Context string `json:"@odata.context"`
		Value   string `json:"value"`
	}
	call(t, s, "GET", uri, "tok", "", &v)
	if !strings.HasPrefix(v.Value, `"`+s.URL+packagePath+"?token=") || !strings.HasSuffix(v.Value, `"`) ||
		!strings.HasSuffix(v.Context, "$metadata#Edm.String") {
		t.Fatalf("getPackageUri body %+v", v)
	}
	if resp := call(t, s, "GET", "/api/machineactions/00000000-0000-0000-0000-000000000000", "tok", "", nil); resp.StatusCode != 404 {
		t.Fatalf("unknown action: %d", resp.StatusCode)
	}

	// Manual control for the interactive demo.
	id := s.AddAction(mde.MachineAction{Status: mde.StatusPending})
	s.Advance(id)
	if a, _ := s.Action(id); a.Status != mde.StatusInProgress {
		t.Fatalf("after Advance: %s", a.Status)
	}
	s.Advance(id)
	s.Advance(id)
	if a, _ := s.Action(id); a.Status != mde.StatusSucceeded {
		t.Fatalf("after 3 Advance: %s", a.Status)
	}
	s.SetStatus(id, mde.StatusFailed)
	if a, ok := s.Action(id); !ok || a.Status != mde.StatusFailed || a.Type != mde.TypeCollectInvestigationPackage {
		t.Fatalf("after SetStatus: %+v", a)
	}
}

func TestCollect(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	s.AddMachine(mde.Machine{ID: machineID, ComputerDNSName: "ws01.contoso.com"})
	claims, _ := json.Marshal(map[string]string{"upn": "alice@contoso.com"})
	jwt := "e30." + base64.RawURLEncoding.EncodeToString(claims) + ".sig"
	path := "/api/machines/" + machineID + "/collectInvestigationPackage"

	var eb errBody
	if resp := call(t, s, "POST", path, jwt, `{"comment":"lowercase"}`, &eb); resp.StatusCode != 400 || eb.Error.Code != "InvalidRequestBody" {
		t.Fatalf("lower-case comment: %d %+v", resp.StatusCode, eb)
	}
	if resp := call(t, s, "POST", "/api/machines/"+strings.Repeat("a", 40)+"/collectInvestigationPackage", jwt, `{"Comment":"x"}`, nil); resp.StatusCode != 404 {
		t.Fatalf("unknown machine: %d", resp.StatusCode)
	}
	var a mde.MachineAction
	if resp := call(t, s, "POST", path, jwt, `{"Comment":"IR-42"}`, &a); resp.StatusCode != 201 {
		t.Fatalf("collect: %d", resp.StatusCode)
	}
	if a.Status != mde.StatusPending || a.Requestor != "alice@contoso.com" || a.RequestorComment != "IR-42" ||
		a.MachineID != machineID || a.ComputerDNSName != "ws01.contoso.com" || a.Type != mde.TypeCollectInvestigationPackage {
		t.Fatalf("new action %+v", a)
	}
	eb = errBody{}
	if resp := call(t, s, "POST", path, jwt, `{"Comment":"again"}`, &eb); resp.StatusCode != 400 || eb.Error.Code != "ActiveRequestAlreadyExists" {
		t.Fatalf("second collect: %d %+v", resp.StatusCode, eb)
	}
	for range 2 { // default script: Pending(1), InProgress(1), Succeeded
		call(t, s, "GET", "/api/machineactions/"+a.ID, "tok", "", nil)
	}
	if got, _ := s.Action(a.ID); got.Status != mde.StatusSucceeded {
		t.Fatalf("after two polls: %s", got.Status)
	}
	if resp := call(t, s, "POST", path, jwt, `{"Comment":"again"}`, nil); resp.StatusCode != 201 {
		t.Fatalf("collect after success: %d", resp.StatusCode)
	}
}

func TestFilters(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	for _, m := range []mde.Machine{
		{ID: "m1", ComputerDNSName: "ws01.contoso.com"},
		{ID: "m2", ComputerDNSName: "ws010.contoso.com"},
		{ID: "m3", ComputerDNSName: "ws01"},
		{ID: "m4", ComputerDNSName: "WS02.Fabrikam.com"},
	} {
		s.AddMachine(m)
	}
	s.AddAction(mde.MachineAction{ID: "a1", MachineID: "m1", Status: mde.StatusPending})
	s.AddAction(mde.MachineAction{ID: "a2", MachineID: "m1", Status: mde.StatusSucceeded})
	s.AddAction(mde.MachineAction{ID: "a3", MachineID: "m1", Status: mde.StatusInProgress, Type: "Isolate"})
	s.AddAction(mde.MachineAction{ID: "a4", MachineID: "m2", Status: mde.StatusInProgress})
	s.AddAction(mde.MachineAction{ID: "a5", MachineID: "o'brien", Status: mde.StatusPending})

	tests := []struct {
		name, path, filter string
		want               []string // ids; nil means 400
	}{
		{"eq fqdn", "/api/machines", "computerDnsName eq 'ws01.contoso.com'", []string{"m1"}},
		{"eq ignores case", "/api/machines", "computerDnsName eq 'ws02.fabrikam.com'", []string{"m4"}},
		{"short name", "/api/machines", "computerDnsName eq 'ws01' or startswith(computerDnsName,'ws01.')", []string{"m1", "m3"}},
		{"no filter", "/api/machines", "", []string{"m1", "m2", "m3", "m4"}},
		{"active collections", "/api/machineactions", mde.ActiveCollectionFilter("m1"), []string{"a1"}},
		{"parentheses first", "/api/machineactions", "(status eq 'Pending' or status eq 'InProgress') and machineId eq 'm2'", []string{"a4"}},
		{"and binds tighter", "/api/machineactions", "status eq 'Succeeded' or status eq 'Pending' and machineId eq 'm2'", []string{"a2"}},
		{"ne", "/api/machineactions", "machineId ne 'm1'", []string{"a4", "a5"}},
		{"quoted quote", "/api/machineactions", "machineId eq " + mde.ODataQuote("o'brien"), []string{"a5"}},
		{"unknown field", "/api/machines", "osVersion eq '10'", nil},
		{"unsupported op", "/api/machines", "computerDnsName gt 'a'", nil},
		{"unterminated", "/api/machines", "computerDnsName eq 'a", nil},
		{"unbalanced", "/api/machines", "(computerDnsName eq 'a'", nil},
		{"trailing", "/api/machines", "computerDnsName eq 'a' 'b'", nil},
		{"contains", "/api/machines", "contains(computerDnsName,'ws')", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := ""
			if tt.filter != "" {
				q = "?$filter=" + strings.ReplaceAll(url.QueryEscape(tt.filter), "+", "%20")
			}
			var body struct {
				Value []struct{ ID string } `json:"value"`
			}
			var eb errBody
			var out any = &body
			if tt.want == nil {
				out = &eb
			}
			resp := call(t, s, "GET", tt.path+q, "tok", "", out)
			if tt.want == nil {
				if resp.StatusCode != 400 || eb.Error.Code != "InvalidRequestBody" {
					t.Fatalf("got %d %+v, want 400 InvalidRequestBody", resp.StatusCode, eb)
				}
				return
			}
			var got []string
			for _, v := range body.Value {
				got = append(got, v.ID)
			}
			if resp.StatusCode != 200 || !slices.Equal(got, tt.want) {
				t.Fatalf("got %d %v, want %v", resp.StatusCode, got, tt.want)
			}
		})
	}
}

func TestPackage(t *testing.T) {
	for _, size := range []int64{1, 64 << 10, 3<<20 + 7} {
		s := New(Options{PackageSize: size})
		data, sum := fetchPackage(t, s)
		if size > 4096 && int64(len(data)) != size {
			t.Errorf("size %d: got %d bytes", size, len(data))
		}
		if int64(len(data)) != s.PackageBytes() || sum != s.PackageSHA256() {
			t.Errorf("size %d: %d bytes sha %s, fake says %d %s", size, len(data), sum, s.PackageBytes(), s.PackageSHA256())
		}
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatalf("size %d: not a zip: %v", size, err)
		}
		names := map[string]bool{}
		for _, f := range zr.File {
			names[f.Name] = true
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, rc); err != nil { // checks each CRC
				t.Fatalf("%s: %v", f.Name, err)
			}
			rc.Close()
		}
		for _, dir := range packageFolders {
			if !names[dir+"/"] {
				t.Errorf("folder %q missing", dir)
			}
		}
		if !names["CollectionSummaryReport.xls"] {
			t.Error("CollectionSummaryReport.xls missing")
		}
		s.Close()
	}
	a, b := New(Options{PackageSize: 100000}), New(Options{PackageSize: 100000})
	defer a.Close()
	defer b.Close()
	if a.PackageSHA256() != b.PackageSHA256() {
		t.Error("package is not deterministic")
	}
}

// fetchPackage gets a link from the fake and downloads it.
func fetchPackage(t *testing.T, s *Server) ([]byte, string) {
	t.Helper()
	data := fetchAction(t, s, s.AddAction(mde.MachineAction{Status: mde.StatusSucceeded}))
	h := sha256.Sum256(data)
	return data, hex.EncodeToString(h[:])
}

func TestDownloadLinks(t *testing.T) {
	clk := newClock()
	s := New(Options{Now: clk.Now, UnquotedValue: true, PackageTTL: time.Minute})
	defer s.Close()
	id := s.AddAction(mde.MachineAction{Status: mde.StatusSucceeded})
	var v struct{ Value string }
	call(t, s, "GET", "/api/machineactions/"+id+"/getPackageUri", "tok", "", &v)
	if !strings.HasPrefix(v.Value, s.URL+packagePath+"?token=") {
		t.Fatalf("unquoted value %q", v.Value)
	}
	get := func(u string) int {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := get(v.Value); got != 200 {
		t.Fatalf("fresh link: %d", got)
	}
	if got := get(s.URL + packagePath + "?token=forged"); got != 403 {
		t.Fatalf("forged token: %d", got)
	}
	clk.Add(time.Minute)
	if got := get(v.Value); got != 403 {
		t.Fatalf("expired link: %d", got)
	}
}

func TestFaults(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	s.AddMachine(mde.Machine{ID: machineID})
	path := "/api/machines/" + machineID
	s.FailNext(EndpointGetMachine, 2, 503)
	s.MalformedNext(EndpointGetMachine, 1)
	for i, want := range []int{503, 503, 200, 200} {
		resp, err := http.DefaultClient.Do(mustReq(t, s.URL+path))
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		valid := json.Valid(data)
		if resp.StatusCode != want || valid == (i == 2) {
			t.Fatalf("call %d: %d valid JSON %v %q", i, resp.StatusCode, valid, data)
		}
	}
	s.DelayNext(EndpointGetMachine, 1, 50*time.Millisecond)
	before := time.Now()
	call(t, s, "GET", path, "tok", "", nil)
	if d := time.Since(before); d < 50*time.Millisecond {
		t.Fatalf("delayed call answered after %v", d)
	}
}

func mustReq(t *testing.T, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer tok")
	return req
}

func TestCutAndChunkedDownload(t *testing.T) {
	for _, chunked := range []bool{false, true} {
		s := New(Options{NoContentLength: chunked, PackageSize: 1 << 20})
		id := s.AddAction(mde.MachineAction{Status: mde.StatusSucceeded})
		var v struct{ Value string }
		call(t, s, "GET", "/api/machineactions/"+id+"/getPackageUri", "tok", "", &v)
		link := strings.Trim(v.Value, `"`)

		resp, err := http.Get(link)
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantLen := s.PackageBytes()
		if chunked {
			wantLen = -1
		}
		if err != nil || int64(len(data)) != s.PackageBytes() || resp.ContentLength != wantLen {
			t.Fatalf("chunked=%v: %d bytes, Content-Length %d, %v", chunked, len(data), resp.ContentLength, err)
		}

		s.CutDownloadAfter(1000)
		resp, err = http.Get(link)
		if err != nil {
			t.Fatal(err)
		}
		data, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if !errors.Is(err, io.ErrUnexpectedEOF) || len(data) != 1000 {
			t.Fatalf("chunked=%v cut: %d bytes, err %v", chunked, len(data), err)
		}
		s.Close()
	}
}

// A stalled download sends its first bytes, pauses, then the rest.
func TestStallDownloadAfter(t *testing.T) {
	s := New(Options{PackageSize: 64 << 10})
	defer s.Close()
	id := s.AddAction(mde.MachineAction{Status: mde.StatusSucceeded})
	var v struct{ Value string }
	call(t, s, "GET", "/api/machineactions/"+id+"/getPackageUri", "tok", "", &v)
	s.StallDownloadAfter(1000, 300*time.Millisecond)
	start := time.Now()
	resp, err := http.Get(strings.Trim(v.Value, `"`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first := make([]byte, 1000)
	if _, err := io.ReadFull(resp.Body, first); err != nil {
		t.Fatal(err)
	}
	early := time.Since(start)
	rest, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(first)+len(rest)) != s.PackageBytes() {
		t.Errorf("%d bytes, want %d", len(first)+len(rest), s.PackageBytes())
	}
	if late := time.Since(start); late-early < 250*time.Millisecond {
		t.Errorf("the rest came %s after the first bytes, want the stall", late-early)
	}
}
