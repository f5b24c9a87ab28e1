package mde_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
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

func TestErrors(t *testing.T) {
	authz := func(code int) func(string, string, string) int {
		return func(string, string, string) int { return code }
	}
	tests := []struct {
		name     string
		fo       mdetest.Options
		o        mde.Options
		setup    func(f *fixture)
		call     func(f *fixture) error
		kind     mde.ErrorKind
		status   int
		code     string
		msgHas   []string
		retry    time.Duration
		requests int // requests the fake saw during call
	}{
		{
			name: "401", fo: mdetest.Options{Authorize: authz(401)},
			call: func(f *fixture) error { _, err := f.c.GetMachineAction(t.Context(), alice, actionID); return err },
			kind: mde.KindUnauthorized, status: 401, code: "Unauthorized", requests: 1,
		},
		{
			name: "403 names the role and the device group", fo: mdetest.Options{Authorize: authz(403)},
			call: func(f *fixture) error {
				_, err := f.c.CollectInvestigationPackage(t.Context(), alice, machineID, "IR-1")
				return err
			},
			kind: mde.KindForbidden, status: 403, code: "Forbidden", requests: 1,
			msgHas: []string{"Alerts investigation", "device group", "does not have the required permission"},
		},
		{
			name: "404 not found",
			call: func(f *fixture) error { _, err := f.c.GetMachineAction(t.Context(), alice, actionID); return err },
			kind: mde.KindNotFound, status: 404, code: "NotFound", requests: 1,
		},
		{
			name:  "404 from getPackageUri is not ready",
			setup: func(f *fixture) { f.fake.AddAction(mde.MachineAction{ID: actionID, Status: mde.StatusInProgress}) },
			call:  func(f *fixture) error { _, err := f.c.GetPackageURI(t.Context(), alice, actionID); return err },
			kind:  mde.KindNotReady, status: 404, code: "NotFound", requests: 1,
		},
		{
			name: "collection already running",
			setup: func(f *fixture) {
				f.fake.AddMachine(mde.Machine{ID: machineID, ComputerDNSName: "ws01.contoso.com"})
				f.fake.AddAction(mde.MachineAction{MachineID: machineID, Status: mde.StatusPending})
			},
			call: func(f *fixture) error {
				_, err := f.c.CollectInvestigationPackage(t.Context(), alice, machineID, "")
				return err
			},
			kind: mde.KindAlreadyRunning, status: 400, code: "ActiveRequestAlreadyExists", requests: 1,
		},
		{
			name: "429 from getPackageUri is returned at once with RetryAfter",
			setup: func(f *fixture) {
				f.fake.AddAction(mde.MachineAction{ID: actionID, Status: mde.StatusSucceeded})
				for range 2 {
					if _, err := f.c.GetPackageURI(t.Context(), alice, actionID); err != nil {
						t.Fatal(err)
					}
				}
			},
			call: func(f *fixture) error { _, err := f.c.GetPackageURI(t.Context(), alice, actionID); return err },
			kind: mde.KindRateLimited, status: 429, code: "TooManyRequests", retry: time.Minute, requests: 1,
			fo: mdetest.Options{Now: newClock().Now}, // frozen: both calls stay in the window
		},
		{
			name: "429 longer than MaxRetryAfter is returned",
			fo:   mdetest.Options{Now: newClock().Now, APILimits: mde.Limits{PerMinute: 1, PerHour: 100}},
			setup: func(f *fixture) {
				f.fake.AddAction(mde.MachineAction{ID: actionID})
				if _, err := f.c.GetMachineAction(t.Context(), alice, actionID); err != nil {
					t.Fatal(err)
				}
			},
			call: func(f *fixture) error { _, err := f.c.GetMachineAction(t.Context(), alice, actionID); return err },
			kind: mde.KindRateLimited, status: 429, code: "TooManyRequests", retry: time.Minute, requests: 1,
		},
		{
			name:  "5xx retried then surfaced",
			o:     mde.Options{Retries: 2},
			setup: func(f *fixture) { f.fake.FailNext("getMachineAction", 10, 503) },
			call:  func(f *fixture) error { _, err := f.c.GetMachineAction(t.Context(), alice, actionID); return err },
			kind:  mde.KindServer, status: 503, code: "ServiceUnavailable", requests: 3,
		},
		{
			name:  "5xx from getPackageUri is not retried",
			setup: func(f *fixture) { f.fake.FailNext("getPackageUri", 10, 500) },
			call:  func(f *fixture) error { _, err := f.c.GetPackageURI(t.Context(), alice, actionID); return err },
			kind:  mde.KindServer, status: 500, code: "InternalServerError", requests: 1,
		},
		{
			name: "5xx from collect is not retried",
			setup: func(f *fixture) {
				f.fake.AddMachine(mde.Machine{ID: machineID})
				f.fake.FailNext("collectInvestigationPackage", 10, 502)
			},
			call: func(f *fixture) error {
				_, err := f.c.CollectInvestigationPackage(t.Context(), alice, machineID, "x")
				return err
			},
			kind: mde.KindServer, status: 502, requests: 1,
		},
		{
			name:  "malformed JSON",
			setup: func(f *fixture) { f.fake.MalformedNext("listMachineActions", 1) },
			call:  func(f *fixture) error { _, err := f.c.ListMachineActions(t.Context(), alice, ""); return err },
			kind:  mde.KindInvalidResponse, status: 200, requests: 1,
		},
		{
			name: "unsupported filter is a bad request",
			call: func(f *fixture) error {
				_, err := f.c.ListMachineActions(t.Context(), alice, "title gt 'a'")
				return err
			},
			kind: mde.KindBadRequest, status: 400, code: "InvalidRequestBody", requests: 1,
		},
		{
			name: "getPackageUri on another action type",
			setup: func(f *fixture) {
				f.fake.AddAction(mde.MachineAction{ID: actionID, Type: "Isolate", Status: mde.StatusSucceeded})
			},
			call: func(f *fixture) error { _, err := f.c.GetPackageURI(t.Context(), alice, actionID); return err },
			kind: mde.KindBadRequest, status: 400, requests: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.fo, tt.o)
			if tt.setup != nil {
				tt.setup(f)
			}
			before := len(f.fake.Requests())
			err := tt.call(f)
			var me *mde.Error
			if !errors.As(err, &me) {
				t.Fatalf("err = %v (%T), want *mde.Error", err, err)
			}
			if me.Kind != tt.kind || me.HTTPStatus != tt.status || (tt.code != "" && me.Code != tt.code) {
				t.Fatalf("got %s/%d/%s, want %s/%d/%s (%v)", me.Kind, me.HTTPStatus, me.Code, tt.kind, tt.status, tt.code, err)
			}
			if tt.code != "" && me.CorrelationID == "" {
				t.Errorf("no correlation id in %v", err)
			}
			for _, s := range tt.msgHas {
				if !strings.Contains(me.Message, s) {
					t.Errorf("message %q lacks %q", me.Message, s)
				}
			}
			if me.RetryAfter != tt.retry {
				t.Errorf("RetryAfter = %v, want %v", me.RetryAfter, tt.retry)
			}
			if got := len(f.fake.Requests()) - before; got != tt.requests {
				t.Errorf("fake saw %d requests, want %d", got, tt.requests)
			}
		})
	}
}

func TestInvalidInputMakesNoRequest(t *testing.T) {
	f := newFixture(t, mdetest.Options{}, mde.Options{})
	calls := map[string]func() error{
		"GetMachineAction traversal": func() error { _, err := f.c.GetMachineAction(t.Context(), alice, "../machines"); return err },
		"GetMachineAction empty":     func() error { _, err := f.c.GetMachineAction(t.Context(), alice, ""); return err },
		"GetPackageURI short":        func() error { _, err := f.c.GetPackageURI(t.Context(), alice, "abc"); return err },
		"GetPackageURI query":        func() error { _, err := f.c.GetPackageURI(t.Context(), alice, actionID+"?x=1"); return err },
		"Collect non-hex": func() error {
			_, err := f.c.CollectInvestigationPackage(t.Context(), alice, "ws01.contoso.com", "x")
			return err
		},
		"FindMachine injection": func() error { _, err := f.c.FindMachine(t.Context(), alice, "ws01' or '1' eq '1"); return err },
		"FindMachine hyphen":    func() error { _, err := f.c.FindMachine(t.Context(), alice, "-ws01"); return err },
		"FindMachine empty":     func() error { _, err := f.c.FindMachine(t.Context(), alice, " "); return err },
		"OpenPackage zero":      func() error { _, err := f.c.OpenPackage(t.Context(), mde.PackageURL{}); return err },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			var me *mde.Error
			if err := call(); !errors.As(err, &me) || me.Kind != mde.KindInvalidInput || me.Message == "" {
				t.Fatalf("err = %v, want KindInvalidInput with a message", err)
			}
		})
	}
	if n := len(f.fake.Requests()); n != 0 {
		t.Fatalf("fake saw %d requests, want 0", n)
	}
}

func TestRetries(t *testing.T) {
	f := newFixture(t, mdetest.Options{}, mde.Options{Retries: 3})
	f.fake.AddAction(mde.MachineAction{ID: actionID, Status: mde.StatusPending})
	f.fake.FailNext("getMachineAction", 2, 500)
	a, err := f.c.GetMachineAction(t.Context(), alice, actionID)
	if err != nil || a.ID != actionID || a.Status != mde.StatusPending {
		t.Fatalf("got %+v, %v", a, err)
	}
	want := []observation{{"getMachineAction", 500}, {"getMachineAction", 500}, {"getMachineAction", 200}}
	if got := f.observations(); !slices.Equal(got, want) {
		t.Fatalf("observed %v, want %v", got, want)
	}
	for _, r := range f.fake.Requests() {
		if r.Token != token {
			t.Fatalf("request %s %s carried token %q", r.Method, r.Path, r.Token)
		}
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	f := newFixture(t, mdetest.Options{}, mde.Options{})
	f.fake.AddAction(mde.MachineAction{ID: actionID, Status: mde.StatusPending})
	f.fake.FailNext("getMachineAction", 1, 429) // with Retry-After: 1
	if _, err := f.c.GetMachineAction(t.Context(), alice, actionID); err != nil {
		t.Fatal(err)
	}
	reqs := f.fake.Requests()
	if len(reqs) != 2 || reqs[0].Status != 429 || reqs[1].Status != 200 {
		t.Fatalf("requests %+v", reqs)
	}
	if gap := reqs[1].At.Sub(reqs[0].At); gap < time.Second {
		t.Fatalf("retried %v after a Retry-After of 1s", gap)
	}
}

func TestContextEndsRetries(t *testing.T) {
	f := newFixture(t, mdetest.Options{}, mde.Options{BackoffBase: time.Hour})
	f.fake.FailNext("getMachineAction", 1, 503)
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		// Cancel once the first attempt was answered: the client is then in its hour-long backoff.
		defer cancel()
		for deadline := time.Now().Add(10 * time.Second); len(f.fake.Requests()) == 0 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
	}()
	_, err := f.c.GetMachineAction(ctx, alice, actionID)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestTransportFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now: connection refused
	var seen []int
	c, err := mde.New(mde.Options{BaseURL: base, Retries: 2, BackoffBase: time.Millisecond,
		Observe: func(_ string, status int, _ time.Duration) { seen = append(seen, status) }})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetMachineAction(t.Context(), alice, actionID)
	var me *mde.Error
	var ne *net.OpError
	if !errors.As(err, &me) || me.Kind != mde.KindServer || !errors.As(err, &ne) {
		t.Fatalf("err = %v, want KindServer wrapping the dial error", err)
	}
	if !slices.Equal(seen, []int{0, 0, 0}) {
		t.Fatalf("observed statuses %v, want three transport failures", seen)
	}
}

func TestTokenSourceErrors(t *testing.T) {
	f := newFixture(t, mdetest.Options{}, mde.Options{})
	errNotLinked := errors.New("not linked")
	tests := []struct {
		name string
		ts   mde.TokenSource
		is   error
	}{
		{"error passed through", mde.TokenFunc(func(context.Context) (string, error) { return "", errNotLinked }), errNotLinked},
		{"empty token refused", mde.TokenFunc(func(context.Context) (string, error) { return "", nil }), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.c.GetMachineAction(t.Context(), tt.ts, actionID)
			if err == nil || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Fatalf("err = %v, want %v", err, tt.is)
			}
		})
	}
	if n := len(f.fake.Requests()); n != 0 {
		t.Fatalf("fake saw %d requests without a token", n)
	}
}

func TestGetPackageURIValue(t *testing.T) {
	for _, unquoted := range []bool{false, true} {
		f := newFixture(t, mdetest.Options{UnquotedValue: unquoted}, mde.Options{})
		f.fake.AddAction(mde.MachineAction{ID: actionID, Status: mde.StatusSucceeded})
		u, err := f.c.GetPackageURI(t.Context(), alice, actionID)
		if err != nil {
			t.Fatalf("unquoted=%v: %v", unquoted, err)
		}
		tok := f.fake.IssuedPackageTokens()[0]
		want := f.fake.URL + "/safedownload/WDATP_Investigation_Package.zip?token=" + tok
		if u.Reveal() != want {
			t.Fatalf("unquoted=%v: Reveal() = %q, want %q", unquoted, u.Reveal(), want)
		}
		if strings.Contains(u.String(), tok) || !strings.Contains(u.String(), "/safedownload/") {
			t.Fatalf("String() = %q", u.String())
		}
	}
}

func TestGetPackageURIRefused(t *testing.T) {
	const secret = "SECRET-SAS-TOKEN"
	tests := []struct {
		name, value string
		kind        mde.ErrorKind
	}{
		{"foreign https host", `"https://evil.example.com/x.zip?token=` + secret + `"`, mde.KindRefusedURL},
		{"http off loopback", `http://userrequests-us.securitycenter.windows.com/x.zip?token=` + secret, mde.KindRefusedURL},
		{"lookalike host", `https://securitycenter.windows.com.evil.example/x.zip?token=` + secret, mde.KindRefusedURL},
		{"relative", `/safedownload/x.zip?token=` + secret, mde.KindRefusedURL},
		{"not a URL", "https://a b\x7f?token=" + secret, mde.KindRefusedURL},
		{"user info", `https://me:` + secret + `@userrequests-us.securitycenter.windows.com/x.zip`, mde.KindRefusedURL},
		{"empty", ``, mde.KindInvalidResponse},
		{"allowed", `"https://userrequests-us.securitycenter.windows.com/safedownload/WDATP_Investigation_Package.zip?token=` + secret + `"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A wire fixture: Defender's answer shape with a chosen value.
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_ = json.NewEncoder(w).Encode(map[string]string{"@odata.context": "x", "value": tt.value})
			}))
			defer srv.Close()
			c, err := mde.New(mde.Options{BaseURL: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			u, err := c.GetPackageURI(t.Context(), alice, actionID)
			if tt.kind == "" {
				if err != nil || u.Host() != "userrequests-us.securitycenter.windows.com" {
					t.Fatalf("got %v, %v", u, err)
				}
				return
			}
			var me *mde.Error
			if !errors.As(err, &me) || me.Kind != tt.kind {
				t.Fatalf("err = %v, want %s", err, tt.kind)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error reveals the credential: %v", err)
			}
		})
	}
}

func TestLastUpdateSpellings(t *testing.T) {
	// The docs' examples spell it lastUpdateTimeUtc; the schema lastUpdateDateTimeUtc.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"value":[
			{"id":"a1","status":"Pending","lastUpdateTimeUtc":"2026-11-27T12:00:01.1234567Z"},
			{"id":"a2","status":"Pending","lastUpdateDateTimeUtc":"2026-11-27T12:00:02Z"}]}`))
	}))
	defer srv.Close()
	c, err := mde.New(mde.Options{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.ListMachineActions(t.Context(), alice, "")
	if err != nil || len(got) != 2 {
		t.Fatalf("got %+v, %v", got, err)
	}
	if got[0].LastUpdateDateTimeUtc.Second() != 1 || got[1].LastUpdateDateTimeUtc.Second() != 2 {
		t.Fatalf("last update times %v, %v", got[0].LastUpdateDateTimeUtc, got[1].LastUpdateDateTimeUtc)
	}
}

func TestListActiveCollections(t *testing.T) {
	f := newFixture(t, mdetest.Options{}, mde.Options{})
	other := strings.Repeat("b", 40)
	f.fake.AddAction(mde.MachineAction{ID: "a1", MachineID: machineID, Status: mde.StatusSucceeded})
	f.fake.AddAction(mde.MachineAction{ID: "a2", MachineID: machineID, Status: mde.StatusInProgress})
	f.fake.AddAction(mde.MachineAction{ID: "a3", MachineID: other, Status: mde.StatusPending})
	f.fake.AddAction(mde.MachineAction{ID: "a4", MachineID: machineID, Status: mde.StatusPending, Type: "Isolate"})
	got, err := f.c.ListMachineActions(t.Context(), alice, mde.ActiveCollectionFilter(machineID))
	if err != nil || len(got) != 1 || got[0].ID != "a2" {
		t.Fatalf("got %+v, %v", got, err)
	}
	r := f.fake.Requests()[0]
	q, err := url.ParseQuery(r.RawQuery)
	if err != nil || q.Get("$filter") != mde.ActiveCollectionFilter(machineID) || strings.Contains(r.RawQuery, "+") {
		t.Fatalf("raw query %q", r.RawQuery)
	}
	want := "machineId eq '" + machineID + "' and type eq 'CollectInvestigationPackage' and (status eq 'Pending' or status eq 'InProgress')"
	if mde.ActiveCollectionFilter(machineID) != want {
		t.Fatalf("filter %q", mde.ActiveCollectionFilter(machineID))
	}
}

func TestODataQuote(t *testing.T) {
	for in, want := range map[string]string{"ws01": "'ws01'", "o'brien": "'o''brien'", "''": "''''''", "": "''"} {
		if got := mde.ODataQuote(in); got != want {
			t.Errorf("ODataQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestCollect(t *testing.T) {
	f := newFixture(t, mdetest.Options{}, mde.Options{})
	f.fake.AddMachine(mde.Machine{ID: machineID, ComputerDNSName: "ws01.contoso.com"})
	a, err := f.c.CollectInvestigationPackage(t.Context(), alice, machineID, "IR-7 ransomware")
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != mde.StatusPending || a.MachineID != machineID || a.RequestorComment != "IR-7 ransomware" || a.Type != mde.TypeCollectInvestigationPackage {
		t.Fatalf("action %+v", a)
	}
	// Default script: Pending, InProgress, Succeeded as it is polled.
	var statuses []string
	for range 3 {
		got, err := f.c.GetMachineAction(t.Context(), alice, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		statuses = append(statuses, got.Status)
	}
	if !slices.Equal(statuses, []string{"Pending", "InProgress", "Succeeded"}) {
		t.Fatalf("statuses %v", statuses)
	}
	// An empty comment still sends the required Comment.
	b, err := f.c.CollectInvestigationPackage(t.Context(), alice, machineID, "")
	if err != nil || b.RequestorComment == "" {
		t.Fatalf("empty comment: %+v, %v", b, err)
	}
}

func TestFindMachine(t *testing.T) {
	f := newFixture(t, mdetest.Options{}, mde.Options{})
	ids := map[string]string{}
	for i, name := range []string{"ws01.contoso.com", "ws010.contoso.com", "ws02.contoso.com", "ws02.fabrikam.com", "db1.contoso.com"} {
		id := strings.Repeat(string(rune('a'+i)), 40)
		ids[name] = id
		f.fake.AddMachine(mde.Machine{ID: id, ComputerDNSName: name})
	}
	tests := []struct {
		name, query string
		want        []string // computerDnsNames
		endpoint    string
	}{
		{"by id", ids["db1.contoso.com"], []string{"db1.contoso.com"}, "getMachine"},
		{"by fqdn", "ws01.contoso.com", []string{"ws01.contoso.com"}, "listMachines"},
		{"fqdn any case", "WS01.Contoso.COM", []string{"ws01.contoso.com"}, "listMachines"},
		{"short name", "ws01", []string{"ws01.contoso.com"}, "listMachines"},
		{"ambiguous short name", "ws02", []string{"ws02.contoso.com", "ws02.fabrikam.com"}, "listMachines"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.c.FindMachine(t.Context(), alice, tt.query)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, m := range got {
				names = append(names, m.ComputerDNSName)
			}
			if !slices.Equal(names, tt.want) {
				t.Fatalf("got %v, want %v", names, tt.want)
			}
			obs := f.observations()
			if last := obs[len(obs)-1]; last.endpoint != tt.endpoint {
				t.Fatalf("endpoint %s, want %s", last.endpoint, tt.endpoint)
			}
		})
	}
	for _, q := range []string{"ws99", "ws99.contoso.com", strings.Repeat("f", 40)} {
		_, err := f.c.FindMachine(t.Context(), alice, q)
		var me *mde.Error
		if !errors.As(err, &me) || me.Kind != mde.KindNotFound {
			t.Fatalf("%s: err = %v, want KindNotFound", q, err)
		}
	}
}
