package mde

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	fuzzActionID  = "7f1b8b1e-2d6f-4b8a-9a3c-0c1d2e3f4a5b"
	fuzzMachineID = "1e5bc9d7e413ddd7902c2932e418702b84d0cc07"
	// fuzzSuffix and fuzzBlobSuffix are the wildcard download hosts of the fuzz client.
	fuzzSuffix     = ".securitycenter.windows.com"
	fuzzBlobSuffix = ".blob.core.windows.net"
)

// replyTransport answers every request with one canned response, in
// process: the fuzz targets feed Defender's answers straight to the parsers.
type replyTransport struct {
	status int
	header http.Header
	body   []byte
}

func (rt replyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
	return &http.Response{
		StatusCode: rt.status, Status: strconv.Itoa(rt.status), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: rt.header.Clone(), Body: io.NopCloser(bytes.NewReader(rt.body)),
		ContentLength: int64(len(rt.body)), Request: req,
	}, nil
}

// fuzzClient is a Client whose every call gets status and body, never retried.
func fuzzClient(t *testing.T, status int, body []byte) *Client {
	t.Helper()
	c, err := New(Options{
		BaseURL:       "https://api.security.microsoft.com",
		DownloadHosts: []string{"*" + fuzzSuffix, "*" + fuzzBlobSuffix, "127.0.0.1"},
		HTTPClient:    &http.Client{Transport: replyTransport{status: status, header: http.Header{}, body: body}},
		Retries:       -1,
		MaxRetryAfter: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fuzzTokens is the requester's token source of every fuzz call.
type fuzzTokens struct{}

func (fuzzTokens) Token(context.Context) (string, error) { return "fuzz-token", nil }

// mdeError returns err as an *Error of one of kinds, failing the test otherwise.
func mdeError(t *testing.T, what string, err error, kinds ...ErrorKind) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: error %T %v is not an *mde.Error", what, err, err)
	}
	for _, k := range kinds {
		if e.Kind == k {
			if e.Endpoint == "" || e.Error() == "" {
				t.Fatalf("%s: error %#v has no endpoint or text", what, e)
			}
			return e
		}
	}
	t.Fatalf("%s: error kind %q, want one of %q (%v)", what, e.Kind, kinds, err)
	return nil
}

// allowedPackageHost is the fuzz client's download host rule, restated: a
// real host name (or IP) that is 127.0.0.1 or a subdomain of fuzzSuffix or
// fuzzBlobSuffix.
func allowedPackageHost(hostname string) bool {
	name := strings.TrimSuffix(strings.ToLower(hostname), ".")
	if net.ParseIP(name) == nil && ValidateHostname(name) != nil {
		return false
	}
	sub := func(suffix string) bool { return strings.HasSuffix(name, suffix) && len(name) > len(suffix) }
	return name == "127.0.0.1" || sub(fuzzSuffix) || sub(fuzzBlobSuffix)
}

func loopbackHost(hostname string) bool {
	if strings.EqualFold(strings.TrimSuffix(hostname, "."), "localhost") {
		return true
	}
	ip := net.ParseIP(hostname)
	return ip != nil && ip.IsLoopback()
}

// FuzzGetPackageURI feeds getPackageUri answers to GetPackageURI: it never
// panics; a link is returned only when it is https (or http on loopback), has
// no user info and points to an allowed host; a refusal never quotes the
// link's query string (the credential).
func FuzzGetPackageURI(f *testing.F) {
	for _, s := range []string{
		`{"@odata.context":"https://api.security.microsoft.com/api/$metadata#Edm.String","value":"\"https://userrequests-us.securitycenter.windows.com:443/safedownload/WDATP_Investigation_Package.zip?token=c2VjcmV0LXNhcy10b2tlbg%3D%3D\""}`,
		`{"value":"https://userrequests-eu.securitycenter.windows.com/pkg.zip?sig=abc%2Bdef&se=2026-11-27"}`,
		`{"value":" http://127.0.0.1:8443/package/1?sig=loopback-secret "}`,
		`{"value":"http://userrequests-us.securitycenter.windows.com/pkg.zip?sig=plain-http-secret"}`,
		`{"value":"https://securitycenter.windows.com.evil.example/pkg.zip?sig=suffix-trick-secret"}`,
		`{"value":"https://evilsecuritycenter.windows.com/pkg.zip?sig=no-dot-secret"}`,
		`{"value":"https://user:pass@x.securitycenter.windows.com/pkg.zip?sig=userinfo-secret"}`,
		`{"value":"ftp://x.securitycenter.windows.com/pkg.zip"}`,
		`{"value":"HTTPS://X.SECURITYCENTER.WINDOWS.COM./pkg.zip?sig=UPPER"}`,
		`{"value":"https://[::1]:443/pkg.zip?sig=ipv6-secret"}`,
		`{"value":"https://a>b.securitycenter.windows.com/pkg.zip?sig=markup-secret"}`,
		`{"value":"//x.securitycenter.windows.com/pkg.zip"}`,
		`{"value":"\""}`,
		`{"value":"\"\""}`,
		`{"value":"   "}`,
		`{"value":null}`,
		`{"value":42}`,
		`{"VALUE":"https://x.securitycenter.windows.com/case"}`,
		`{}`,
		`"https://x.securitycenter.windows.com/bare-string"`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := fuzzClient(t, http.StatusOK, body).GetPackageURI(t.Context(), fuzzTokens{}, fuzzActionID)
		checkLinkAnswer(t, "GetPackageURI", body, p, err)
	})
}

// checkLinkAnswer holds for every link answer: a link is returned only when
// it is https (or http on loopback), has no user info and points to an
// allowed host; a refusal never quotes the link's query string.
func checkLinkAnswer(t *testing.T, what string, body []byte, p PackageURL, err error) {
	t.Helper()
	if err != nil {
		e := mdeError(t, what, err, KindInvalidResponse, KindRefusedURL)
		if !p.IsZero() {
			t.Fatalf("refused (%v) but returned a link", err)
		}
		if q := packageQuery(body); q != "" && strings.Contains(e.Error(), q) {
			t.Fatalf("refusal %q quotes the link's query string %q", e.Error(), q)
		}
		return
	}
	if p.IsZero() {
		t.Fatal("no error and no link")
	}
	u, perr := url.Parse(p.Reveal())
	switch {
	case perr != nil:
		t.Fatalf("returned link %q does not parse again: %v", p.Reveal(), perr)
	case u.Host != p.Host():
		t.Fatalf("returned link %q reparses to host %q, not %q", p.Reveal(), u.Host, p.Host())
	case u.Scheme != "https" && !(u.Scheme == "http" && loopbackHost(u.Hostname())):
		t.Fatalf("returned link %q: scheme %q on host %q", p.Reveal(), u.Scheme, u.Hostname())
	case u.User != nil:
		t.Fatalf("returned link %q carries user info", p.Reveal())
	case !allowedPackageHost(u.Hostname()):
		t.Fatalf("returned link %q: host %q is not an allowed host name", p.Reveal(), u.Hostname())
	}
	if shown, err := url.Parse(p.String()); err != nil || (shown.RawQuery != "" && shown.RawQuery != "REDACTED") || shown.User != nil || shown.Fragment != "" {
		t.Fatalf("String() %q shows more than scheme, host and path (%v)", p.String(), err)
	}
}

// packageQuery is the query string of the link in a getPackageUri answer,
// when it is long enough to be a credential and appears nowhere else in the
// link (a refusal may show scheme, host and path).
func packageQuery(body []byte) string {
	var b struct {
		Value *string `json:"value"`
	}
	if json.Unmarshal(body, &b) != nil || b.Value == nil {
		return ""
	}
	v := strings.Trim(strings.TrimSpace(*b.Value), `"`)
	i := strings.IndexByte(v, '?')
	if i < 0 {
		return ""
	}
	q, _, _ := strings.Cut(v[i+1:], "#")
	if len(q) < 8 {
		return ""
	}
	shown := v[:i]
	if u, err := url.Parse(v); err == nil {
		shown += " " + (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String() +
			" " + u.Path + " " + strconv.Quote(u.Host) + " " + strconv.Quote(u.Hostname())
	}
	if strings.Contains(shown, q) {
		return ""
	}
	return q
}

// FuzzHTTPError checks the error body parser and the status mapping: never a
// panic, the kind follows the status, Defender's own code, message and
// correlation id are kept, and a 429's RetryAfter is never negative.
func FuzzHTTPError(f *testing.F) {
	f.Add(400, "", []byte(`{"error":{"code":"ActiveRequestAlreadyExists","message":"Action is already in progress","target":"43f4cb08-8fac-4b65-9db1-745c2ae65f3a"}}`), false, "", "", "")
	f.Add(403, "", []byte(`{"error":{"code":"Forbidden","message":"The application does not have the required permission"}}`), false, "", "", "")
	f.Add(429, "30", []byte(`{"error":{"code":"TooManyRequests","message":"Rate limit is exceeded. Try again in 30 seconds"}}`), false, "", "", "")
	f.Add(429, "Fri, 27 Nov 2026 12:00:30 GMT", []byte(``), false, "", "", "")
	f.Add(429, "-1", []byte(`{"error":null}`), false, "", "", "")
	f.Add(503, "", []byte(`<html>Service Unavailable</html>`), false, "", "", "")
	f.Add(404, "", []byte(`{"error":{"code":5}}`), false, "", "", "")
	f.Add(302, "", []byte(`{"ERROR":{"CODE":"Moved"}}`), false, "", "", "")
	f.Add(0, "", []byte{}, true, "BadRequest", "Invalid \"Comment\" \xff", "corr-\u2028")
	f.Add(401, "", []byte{}, true, "Unauthorized", "", "")
	f.Fuzz(func(t *testing.T, status int, retry string, body []byte, wellFormed bool, code, msg, target string) {
		if wellFormed {
			var err error
			body, err = json.Marshal(map[string]any{"error": map[string]string{"code": code, "message": msg, "target": target}})
			if err != nil {
				t.Fatal(err)
			}
		}
		h := http.Header{}
		h.Set("Retry-After", retry)
		e := httpError("getMachineAction", status, h, body)
		if e.Endpoint != "getMachineAction" || e.HTTPStatus != status || e.Error() == "" {
			t.Fatalf("error %#v lost its endpoint or status %d", e, status)
		}
		want := KindInvalidResponse
		switch {
		case status == http.StatusBadRequest && e.Code == "ActiveRequestAlreadyExists":
			want = KindAlreadyRunning
		case status == http.StatusUnauthorized:
			want = KindUnauthorized
		case status == http.StatusForbidden:
			want = KindForbidden
		case status == http.StatusNotFound:
			want = KindNotFound
		case status == http.StatusTooManyRequests:
			want = KindRateLimited
		case status >= 500:
			want = KindServer
		case status >= 400:
			want = KindBadRequest
		}
		if e.Kind != want {
			t.Fatalf("status %d: kind %q, want %q", status, e.Kind, want)
		}
		if e.RetryAfter < 0 || (e.Kind != KindRateLimited && e.RetryAfter != 0) {
			t.Fatalf("status %d, Retry-After %q: RetryAfter %v", status, retry, e.RetryAfter)
		}
		switch {
		case e.Kind == KindInvalidResponse && e.Message == "":
			t.Fatalf("status %d: unexpected status without a message", status)
		case e.Kind == KindForbidden && !strings.Contains(e.Message, "Alerts investigation"):
			t.Fatalf("403 message %q does not name the role", e.Message)
		}
		if !wellFormed {
			return
		}
		code, msg, target = jsonString(t, code), jsonString(t, msg), jsonString(t, target)
		if e.Code != code || e.CorrelationID != target || !strings.Contains(e.Message, msg) {
			t.Fatalf("Defender said (%q, %q, %q); error kept (%q, %q, %q)", code, msg, target, e.Code, e.Message, e.CorrelationID)
		}
	})
}

// jsonString is s after a JSON round trip (invalid UTF-8 becomes U+FFFD).
func jsonString(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var out string
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// FuzzRetryAfter checks the Retry-After parser: never negative, whole
// seconds taken exactly, an HTTP date counted from now, anything else the default.
func FuzzRetryAfter(f *testing.F) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	for _, s := range []string{"", "0", " 5 ", "-3", "1.5", "soon", "2147483647", "2147483648", "+7", "0x10",
		now.Add(30 * time.Second).Format(http.TimeFormat), now.Add(-time.Hour).Format(http.TimeFormat),
		"Friday, 27-Nov-26 12:00:30 GMT", "Fri Nov 27 12:00:30 2026", "Fri, 31 Dec 9999 23:59:59 GMT"} {
		f.Add(s, now.Unix())
	}
	f.Fuzz(func(t *testing.T, v string, nowUnix int64) {
		at := time.Unix(nowUnix, 0).UTC()
		got := retryAfter(v, at)
		if got < 0 {
			t.Fatalf("retryAfter(%q) = %v: negative", v, got)
		}
		tv := strings.TrimSpace(v)
		if secs, err := strconv.ParseInt(tv, 10, 32); err == nil {
			if want := min(time.Duration(max(secs, 0))*time.Second, maxRetryAfterHeader); secs >= 0 && got != want {
				t.Fatalf("retryAfter(%q) = %v, want %v", v, got, want)
			}
			if secs < 0 && got != defaultRetryAfter {
				t.Fatalf("retryAfter(%q) = %v, want the default %v", v, got, defaultRetryAfter)
			}
			return
		}
		if when, err := http.ParseTime(tv); err == nil {
			if want := min(max(when.Sub(at), 0), maxRetryAfterHeader); got != want {
				t.Fatalf("retryAfter(%q) at %v = %v, want %v", v, at, got, want)
			}
			return
		}
		if got != defaultRetryAfter {
			t.Fatalf("retryAfter(%q) = %v, want the default %v", v, got, defaultRetryAfter)
		}
	})
}

// oracleAction is what the fuzz targets read of a machine action themselves
// (a JSON null leaves a time.Time as it was, but clears a *time.Time).
type oracleAction struct {
	ID        string     `json:"id"`
	Updated   time.Time  `json:"lastUpdateDateTimeUtc"`
	UpdatedV1 *time.Time `json:"lastUpdateTimeUtc"`
}

// lastUpdate is the update time either spelling gives, the documented one first.
func (o oracleAction) lastUpdate() time.Time {
	if !o.Updated.IsZero() {
		return o.Updated
	}
	if o.UpdatedV1 != nil {
		return *o.UpdatedV1
	}
	return time.Time{}
}

// FuzzDecodeMachineAction feeds 2xx answers to GetMachineAction,
// CollectInvestigationPackage and ListMachineActions: never a panic; a
// malformed answer is KindInvalidResponse; a decoded action has an id and
// the update time of either spelling; a list has every element.
func FuzzDecodeMachineAction(f *testing.F) {
	for _, s := range []string{
		`{"@odata.context":"https://api.security.microsoft.com/api/$metadata#MachineActions/$entity","id":"7f1b8b1e-2d6f-4b8a-9a3c-0c1d2e3f4a5b","type":"CollectInvestigationPackage","requestor":"alice@contoso.com","requestorComment":"IR-1","status":"Succeeded","machineId":"1e5bc9d7e413ddd7902c2932e418702b84d0cc07","computerDnsName":"ws01.contoso.com","creationDateTimeUtc":"2026-11-27T12:00:00.1234567Z","lastUpdateDateTimeUtc":"2026-11-27T12:05:00Z"}`,
		`{"id":"a","status":"InProgress","lastUpdateTimeUtc":"2026-11-27T12:05:00Z"}`,
		`{"id":"a","lastUpdateDateTimeUtc":"0001-01-01T00:00:00Z","lastUpdateTimeUtc":"2026-11-27T12:05:00Z"}`,
		`{"id":"a","lastUpdateTimeUtc":null,"cancellationDateTimeUtc":"2026-11-27T12:06:00+01:00","errorHResult":-2147024809}`,
		`{"id":"","status":"Succeeded"}`,
		`{"id":5}`,
		`{"id":"a","creationDateTimeUtc":"yesterday"}`,
		`{"value":[{"id":"a","status":"Pending"},{"id":"b","lastUpdateTimeUtc":"2026-11-27T12:05:00Z"}]}`,
		`{"value":[]}`,
		`{"value":null}`,
		`{"value":[null,{}]}`,
		`{"value":{"id":"a"}}`,
		`[]`,
		`null`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var one oracleAction
		oneErr := json.Unmarshal(body, &one)
		for _, call := range []struct {
			name string
			do   func(c *Client) (*MachineAction, error)
		}{
			{"GetMachineAction", func(c *Client) (*MachineAction, error) {
				return c.GetMachineAction(t.Context(), fuzzTokens{}, fuzzActionID)
			}},
			{"CollectInvestigationPackage", func(c *Client) (*MachineAction, error) {
				return c.CollectInvestigationPackage(t.Context(), fuzzTokens{}, fuzzMachineID, "IR-1")
			}},
		} {
			a, err := call.do(fuzzClient(t, http.StatusOK, body))
			if err != nil {
				mdeError(t, call.name, err, KindInvalidResponse)
				continue
			}
			switch {
			case oneErr != nil:
				t.Fatalf("%s decoded %q, which encoding/json refuses: %v", call.name, body, oneErr)
			case a.ID == "" || a.ID != one.ID:
				t.Fatalf("%s: id %q, want %q", call.name, a.ID, one.ID)
			case !a.LastUpdateDateTimeUtc.Equal(one.lastUpdate()):
				t.Fatalf("%s: last update %v, want %v", call.name, a.LastUpdateDateTimeUtc, one.lastUpdate())
			}
		}

		var list struct {
			Value []oracleAction `json:"value"`
		}
		listErr := json.Unmarshal(body, &list)
		as, err := fuzzClient(t, http.StatusOK, body).ListMachineActions(t.Context(), fuzzTokens{}, ActiveCollectionFilter(fuzzMachineID))
		if err != nil {
			mdeError(t, "ListMachineActions", err, KindInvalidResponse)
			return
		}
		if listErr != nil || len(as) != len(list.Value) {
			t.Fatalf("ListMachineActions: %d actions; encoding/json reads %d (%v)", len(as), len(list.Value), listErr)
		}
		for i, a := range as {
			if a.ID != list.Value[i].ID || !a.LastUpdateDateTimeUtc.Equal(list.Value[i].lastUpdate()) {
				t.Fatalf("ListMachineActions[%d] = (%q, %v), want (%q, %v)", i, a.ID, a.LastUpdateDateTimeUtc, list.Value[i].ID, list.Value[i].lastUpdate())
			}
		}
	})
}

// FuzzDecodeMachines feeds 2xx answers to FindMachine, by device id (one
// machine) and by host name (a list): never a panic; a machine has an id;
// an empty list is KindNotFound; a malformed answer is KindInvalidResponse.
func FuzzDecodeMachines(f *testing.F) {
	for _, s := range []string{
		`{"id":"1e5bc9d7e413ddd7902c2932e418702b84d0cc07","computerDnsName":"ws01.contoso.com","osPlatform":"Windows11","lastSeen":"2026-11-27T11:59:00Z","healthStatus":"Active","machineTags":["IR"]}`,
		`{"value":[{"id":"1e5bc9d7e413ddd7902c2932e418702b84d0cc07","computerDnsName":"ws01.contoso.com"},{"id":"2","computerDnsName":"ws01.fabrikam.com"}]}`,
		`{"value":[]}`,
		`{"value":[{}]}`,
		`{"id":""}`,
		`{"id":"x","lastSeen":"not a time"}`,
		`{"id":"x","machineTags":"IR"}`,
		`{"value":"ws01"}`,
		`null`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var one struct {
			ID string `json:"id"`
		}
		oneErr := json.Unmarshal(body, &one)
		ms, err := fuzzClient(t, http.StatusOK, body).FindMachine(t.Context(), fuzzTokens{}, fuzzMachineID)
		if err != nil {
			mdeError(t, "FindMachine(id)", err, KindInvalidResponse)
		} else if oneErr != nil || len(ms) != 1 || ms[0].ID == "" || ms[0].ID != one.ID {
			t.Fatalf("FindMachine(id) = %+v; encoding/json reads id %q (%v)", ms, one.ID, oneErr)
		}

		var list struct {
			Value []struct {
				ID string `json:"id"`
			} `json:"value"`
		}
		listErr := json.Unmarshal(body, &list)
		ms, err = fuzzClient(t, http.StatusOK, body).FindMachine(t.Context(), fuzzTokens{}, "ws01")
		if err != nil {
			e := mdeError(t, "FindMachine(name)", err, KindInvalidResponse, KindNotFound)
			if e.Kind == KindNotFound && (listErr != nil || len(list.Value) != 0) {
				t.Fatalf("FindMachine(name): not found, but encoding/json reads %d machines (%v)", len(list.Value), listErr)
			}
			return
		}
		if listErr != nil || len(ms) == 0 || len(ms) != len(list.Value) {
			t.Fatalf("FindMachine(name): %d machines; encoding/json reads %d (%v)", len(ms), len(list.Value), listErr)
		}
		for i := range ms {
			if ms[i].ID != list.Value[i].ID {
				t.Fatalf("FindMachine(name)[%d].ID = %q, want %q", i, ms[i].ID, list.Value[i].ID)
			}
		}
	})
}
