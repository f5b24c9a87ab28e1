package mde

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzLiveResponseResultLink feeds GetLiveResponseResultDownloadLink
// answers to the client: the rules of every link answer (checkLinkAnswer).
func FuzzLiveResponseResultLink(f *testing.F) {
	for _, s := range []string{
		`{"@odata.context":"https://api.security.microsoft.com/api/$metadata#Edm.String","value":"https://automatedirstrprdweu.blob.core.windows.net/investigation/0f1a2b3c-aaaa-bbbb-cccc-0123456789ab.gz?se=2026-11-27T12%3A30%3A00Z&sp=r&sv=2019-12-12&sr=b&sig=c2lnbmF0dXJlK3dpdGgvc2xhc2g%3D"}`,
		`{"value":"\"https://acct.blob.core.windows.net/investigation/x.gz?sig=quoted-secret-value\""}`,
		`{"value":"https://blob.core.windows.net/x.gz?sig=apex-secret-value"}`,
		`{"value":"https://acct.blob.core.windows.net.evil.example/x.gz?sig=suffix-secret-value"}`,
		`{"value":"http://acct.blob.core.windows.net/x.gz?sig=plain-http-secret"}`,
		`{"value":"https://acct.blob.core.windows.net:444/x.gz?sig=a&sig=second-secret"}`,
		`{"value":"https://acct%2eblob.core.windows.net/x.gz?sig=escaped-host-secret"}`,
		`{"value":"https://ACCT.BLOB.CORE.WINDOWS.NET./X.GZ?SIG=UPPER-SECRET"}`,
		`{"value":"http://127.0.0.1:10000/investigation/x.gz?sig=loopback-secret"}`,
		`{"value":""}`,
		`{"value":["https://acct.blob.core.windows.net/x.gz"]}`,
		`{}`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := fuzzClient(t, http.StatusOK, body).GetLiveResponseResultDownloadLink(t.Context(), fuzzTokens{}, fuzzActionID, 0)
		checkLinkAnswer(t, "GetLiveResponseResultDownloadLink", body, p, err)
	})
}

// oracleLiveAction is what the fuzz target reads of a LiveResponse action itself.
type oracleLiveAction struct {
	ID       string `json:"id"`
	Commands []struct {
		Index         int             `json:"index"`
		CommandStatus string          `json:"commandStatus"`
		Errors        json.RawMessage `json:"errors"`
		Command       struct {
			Type   string `json:"type"`
			Params []struct {
				Key   string `json:"key"`
				Value string `json:"value"`
			} `json:"params"`
		} `json:"command"`
	} `json:"commands"`
}

// errorCount is how many error texts a raw errors value holds: none for
// null, one for a string, one per element for a list.
func errorCount(raw json.RawMessage) (int, []string) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return 1, []string{s}
	}
	var list []json.RawMessage
	_ = json.Unmarshal(raw, &list)
	var strs []string
	for _, r := range list {
		if json.Unmarshal(r, &s) == nil {
			strs = append(strs, s)
		} else {
			strs = append(strs, "") // not a string: any text
		}
	}
	return len(list), strs
}

// FuzzDecodeLiveResponseAction feeds LiveResponse actions to
// RunLiveResponseGetFile and GetMachineAction: never a panic; a malformed
// answer is KindInvalidResponse; a decoded action has the id, commands,
// statuses and parameters encoding/json reads, and every error text (a
// string error is kept as is).
func FuzzDecodeLiveResponseAction(f *testing.F) {
	for _, s := range []string{
		`{"@odata.context":"https://api.security.microsoft.com/api/$metadata#MachineActions/$entity","id":"7f1b8b1e-2d6f-4b8a-9a3c-0c1d2e3f4a5b","type":"LiveResponse","requestor":"alice@contoso.com","requestorComment":"IR-9","status":"Pending","machineId":"1e5bc9d7e413ddd7902c2932e418702b84d0cc07","computerDnsName":"ws01","creationDateTimeUtc":"2026-11-27T12:00:00.1234567Z","lastUpdateDateTimeUtc":"2026-11-27T12:00:00.1234567Z","errorHResult":0,"commands":[{"index":0,"startTime":null,"endTime":null,"commandStatus":"Created","errors":[],"command":{"type":"GetFile","params":[{"key":"Path","value":"C:\\Windows\\Temp\\x.txt"}]}}]}`,
		`{"id":"a","status":"Failed","commands":[{"index":0,"startTime":"2026-11-27T12:01:00Z","endTime":"2026-11-27T12:02:00Z","commandStatus":"Failed","errors":["File not found","Access denied"],"command":{"type":"GetFile","params":[{"key":"Path","value":"/tmp/x"}]}}]}`,
		`{"id":"a","commands":[{"index":0,"errors":"one string"}]}`,
		`{"id":"a","commands":[{"index":0,"errors":[{"code":"E1","message":"as an object"},42,null,true,[1]]}]}`,
		`{"id":"a","commands":[{"index":0,"errors":null},{"index":1}]}`,
		`{"id":"a","commands":[{"index":0,"errors":{"message":"not a list"}}]}`,
		`{"id":"a","commands":[{"index":"0"}]}`,
		`{"id":"a","commands":[{"index":0,"startTime":"yesterday"}]}`,
		`{"id":"a","commands":[{"command":{"type":"GetFile","params":[{"key":"Path","value":5}]}}]}`,
		`{"id":"a","commands":null}`,
		`{"id":"a","commands":{}}`,
		`{"id":"a","commands":[null]}`,
		`{"id":"","commands":[]}`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var want oracleLiveAction
		wantErr := json.Unmarshal(body, &want)
		for _, call := range []struct {
			name   string
			status int
			do     func(c *Client) (*MachineAction, error)
		}{
			{"RunLiveResponseGetFile", http.StatusCreated, func(c *Client) (*MachineAction, error) {
				return c.RunLiveResponseGetFile(t.Context(), fuzzTokens{}, fuzzMachineID, `C:\Windows\Temp\x.txt`, "IR-9")
			}},
			{"GetMachineAction", http.StatusOK, func(c *Client) (*MachineAction, error) {
				return c.GetMachineAction(t.Context(), fuzzTokens{}, fuzzActionID)
			}},
		} {
			a, err := call.do(fuzzClient(t, call.status, body))
			if err != nil {
				mdeError(t, call.name, err, KindInvalidResponse)
				continue
			}
			if wantErr != nil || a.ID == "" || a.ID != want.ID || len(a.Commands) != len(want.Commands) {
				t.Fatalf("%s: id %q with %d commands; encoding/json reads %q with %d (%v)", call.name, a.ID, len(a.Commands), want.ID, len(want.Commands), wantErr)
			}
			total := 0
			for i, c := range a.Commands {
				w := want.Commands[i]
				if c.Index != w.Index || c.CommandStatus != w.CommandStatus || c.Command.Type != w.Command.Type || len(c.Command.Params) != len(w.Command.Params) {
					t.Fatalf("%s: command %d = %+v, encoding/json reads %+v", call.name, i, c, w)
				}
				for j, p := range c.Command.Params {
					if p.Key != w.Command.Params[j].Key || p.Value != w.Command.Params[j].Value {
						t.Fatalf("%s: command %d param %d = %+v, want %+v", call.name, i, j, p, w.Command.Params[j])
					}
				}
				n, strs := errorCount(w.Errors)
				if len(c.Errors) != n {
					t.Fatalf("%s: command %d has %d errors %q, raw %s", call.name, i, len(c.Errors), c.Errors, w.Errors)
				}
				for j, s := range strs {
					if s != "" && c.Errors[j] != s {
						t.Fatalf("%s: command %d error %d = %q, want %q", call.name, i, j, c.Errors[j], s)
					}
				}
				total += n
			}
			if len(a.CommandErrors()) != total {
				t.Fatalf("%s: CommandErrors %q, want %d texts", call.name, a.CommandErrors(), total)
			}
		}
	})
}

// captureTransport records request bodies and answers 201 with a LiveResponse action.
type captureTransport struct {
	mu     sync.Mutex
	bodies [][]byte
}

func (ct *captureTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var b []byte
	if req.Body != nil {
		b, _ = io.ReadAll(req.Body)
		_ = req.Body.Close()
	}
	ct.mu.Lock()
	ct.bodies = append(ct.bodies, b)
	ct.mu.Unlock()
	answer := []byte(`{"id":"` + fuzzActionID + `","type":"LiveResponse","status":"Pending"}`)
	return &http.Response{StatusCode: http.StatusCreated, Status: "201", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(answer)), ContentLength: int64(len(answer)), Request: req}, nil
}

// FuzzLiveResponsePath checks the path rules and the body built from them:
// an accepted path is valid UTF-8, absolute (drive or "/"), not UNC, of at
// most MaxLiveResponsePath characters with no control character; a refused
// one makes no request; an accepted one is sent once, in a body whose
// names are exactly Commands/Comment, type/params, key/value and whose
// values decode back to the path and the comment.
func FuzzLiveResponsePath(f *testing.F) {
	for _, s := range [][2]string{
		{`C:\Windows\Temp\x y.txt`, "IR-9"},
		{`c:/users/a&b/<x>.txt`, `"quoted" \ comment`},
		{"/tmp/\u2028line", "\xff invalid comment"},
		{`\\server\share\x`, ""},
		{`C:\a*b`, " "},
		{"/tmp/a\x00b", "x"},
		{"/" + strings.Repeat("é", 1023), "long"},
		{"relative/path", "x"},
		{`C:\Windows\`, "x"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, path, comment string) {
		ct := &captureTransport{}
		c, err := New(Options{BaseURL: "https://api.security.microsoft.com", HTTPClient: &http.Client{Transport: ct}, Retries: -1})
		if err != nil {
			t.Fatal(err)
		}
		verr := ValidateLiveResponsePath(path)
		_, rerr := c.RunLiveResponseGetFile(t.Context(), fuzzTokens{}, fuzzMachineID, path, comment)
		if verr != nil {
			mdeError(t, "ValidateLiveResponsePath", verr, KindInvalidInput)
			if e := mdeError(t, "RunLiveResponseGetFile", rerr, KindInvalidInput); e.Endpoint != endpointRunLiveResponse || len(ct.bodies) != 0 {
				t.Fatalf("refused path %q: endpoint %q, %d requests", path, e.Endpoint, len(ct.bodies))
			}
			return
		}
		drive := len(path) >= 3 && unicode.IsLetter(rune(path[0])) && path[0] < utf8.RuneSelf && path[1] == ':' && strings.ContainsRune(`\/`, rune(path[2]))
		switch {
		case !utf8.ValidString(path), utf8.RuneCountInString(path) > MaxLiveResponsePath, strings.IndexFunc(path, unicode.IsControl) >= 0:
			t.Fatalf("accepted %q: invalid text, too long or with a control character", path)
		case !drive && !strings.HasPrefix(path, "/"), strings.HasPrefix(path, `\\`):
			t.Fatalf("accepted %q: not a drive or POSIX absolute path", path)
		case rerr != nil || len(ct.bodies) != 1:
			t.Fatalf("accepted %q: %v after %d requests", path, rerr, len(ct.bodies))
		}
		body := ct.bodies[0]
		var top map[string]json.RawMessage
		var sent struct {
			Commands []struct {
				Type   string `json:"type"`
				Params []struct {
					Key   string `json:"key"`
					Value string `json:"value"`
				} `json:"params"`
			} `json:"Commands"`
			Comment string `json:"Comment"`
		}
		if json.Unmarshal(body, &top) != nil || len(top) != 2 || top["Commands"] == nil || top["Comment"] == nil || json.Unmarshal(body, &sent) != nil {
			t.Fatalf("body %s", body)
		}
		want := jsonString(t, comment)
		if strings.TrimSpace(comment) == "" {
			want = defaultLiveResponseComment
		}
		if !bytes.HasPrefix(body, []byte(`{"Commands":[{"type":"GetFile","params":[{"key":"Path","value":"`)) ||
			len(sent.Commands) != 1 || len(sent.Commands[0].Params) != 1 || sent.Commands[0].Params[0].Value != path || sent.Comment != want {
			t.Fatalf("body %s does not carry path %q and comment %q", body, path, want)
		}
	})
}
