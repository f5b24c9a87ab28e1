package bot

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdebot/mdebot/bot/slackfake"
	"github.com/mdebot/mdebot/handlers"
)

// fuzzNow is the fixed clock of the fuzz targets: signatures are made and
// checked against it, so a run never depends on the wall clock.
func fuzzNow() time.Time { return time.Unix(1_700_000_000, 0) }

// fuzzSign is Slack's v0 signature computed here, independently of verify.go.
func fuzzSign(secret, ts string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + ts + ":"))
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

func sigHeader(ts, sig string) http.Header {
	h := http.Header{}
	h.Set("X-Slack-Request-Timestamp", ts)
	h.Set("X-Slack-Signature", sig)
	return h
}

// FuzzVerifySignature checks the request verifier: arbitrary headers never
// panic and pass only when they carry the exact signature of a fresh
// timestamp; a correctly signed fresh request passes; changing any one byte
// of the body, the signature or the timestamp makes it fail.
func FuzzVerifySignature(f *testing.F) {
	f.Add(docSecret, []byte(docBody), int64(0), uint(0), byte(1), docSignature, "1531420618")
	f.Add(testSecret, []byte("payload=%7B%7D"), int64(-300), uint(7), byte(0x20), "v0=", "1700000000")
	f.Add(testSecret, []byte{}, int64(300), uint(70), byte(0xff), "v0=zz", "+1700000000")
	f.Add("", []byte("team_id=T1"), int64(12), uint(3), byte(0x80), "", "")
	f.Add("s", []byte("x"), int64(-9_223_372_036), uint(1), byte(2), "v1=00", "-9223372036854775808")
	f.Fuzz(func(t *testing.T, secret string, body []byte, skew int64, pos uint, flip byte, rawSig, rawTS string) {
		// Arbitrary headers: pass only with the exact signature of a fresh timestamp.
		if err := verifySignature(sigHeader(rawTS, rawSig), body, secret, fuzzNow()); err == nil {
			hexSig, ok := strings.CutPrefix(rawSig, "v0=")
			sec, perr := strconv.ParseInt(rawTS, 10, 64)
			switch {
			case secret == "":
				t.Fatal("verified with no secret configured")
			case !ok || !strings.EqualFold("v0="+hexSig, fuzzSign(secret, rawTS, body)):
				t.Fatalf("verified signature %q, want %q", rawSig, fuzzSign(secret, rawTS, body))
			case perr != nil || fuzzNow().Sub(time.Unix(sec, 0)).Abs() > maxSkew:
				t.Fatalf("verified timestamp %q outside the window of %v", rawTS, fuzzNow())
			}
		}
		if secret == "" {
			ts := strconv.FormatInt(fuzzNow().Unix(), 10)
			if err := verifySignature(sigHeader(ts, fuzzSign("", ts, body)), body, "", fuzzNow()); !errors.Is(err, errNoSecret) {
				t.Fatalf("no secret configured: got %v, want %v", err, errNoSecret)
			}
			return
		}

		// A correct signature within the window verifies; outside it, it is stale.
		window := int64(maxSkew / time.Second)
		fresh := skew % (window + 1)
		ts := strconv.FormatInt(fuzzNow().Unix()+fresh, 10)
		sig := fuzzSign(secret, ts, body)
		if err := verifySignature(sigHeader(ts, sig), body, secret, fuzzNow()); err != nil {
			t.Fatalf("correctly signed request %ds from now refused: %v", fresh, err)
		}
		stale := window + 1 + min(max(skew, -skew, 0), 1<<40)
		if skew < 0 {
			stale = -stale
		}
		staleTS := strconv.FormatInt(fuzzNow().Unix()+stale, 10)
		if err := verifySignature(sigHeader(staleTS, fuzzSign(secret, staleTS, body)), body, secret, fuzzNow()); !errors.Is(err, errStale) {
			t.Fatalf("request signed %ds from now: got %v, want %v", stale, err, errStale)
		}

		// One changed byte anywhere makes it fail.
		x := flip
		if x == 0 {
			x = 1
		}
		if len(body) > 0 {
			b := bytes.Clone(body)
			b[pos%uint(len(b))] ^= x
			if err := verifySignature(sigHeader(ts, sig), b, secret, fuzzNow()); !errors.Is(err, errForged) {
				t.Fatalf("body changed at %d: got %v, want %v", pos%uint(len(b)), err, errForged)
			}
		}
		s := []byte(sig)
		s[pos%uint(len(s))] ^= x
		// A hex digit's case is the same signature, as in slack-go.
		if err := verifySignature(sigHeader(ts, string(s)), body, secret, fuzzNow()); err == nil && !strings.EqualFold(string(s), sig) {
			t.Fatalf("signature changed at %d (%q) still verifies", pos%uint(len(s)), s)
		}
		tb := []byte(ts)
		tb[pos%uint(len(tb))] ^= x
		if err := verifySignature(sigHeader(string(tb), sig), body, secret, fuzzNow()); err == nil {
			t.Fatalf("timestamp changed to %q still verifies", tb)
		}
	})
}

// fuzzHandler records clicks; commands and callbacks do nothing.
type fuzzHandler struct {
	mu   sync.Mutex
	n    int
	last handlers.Click
}

func (h *fuzzHandler) Command(context.Context, handlers.Command) handlers.Ack { return handlers.Ack{} }

func (h *fuzzHandler) Click(_ context.Context, c handlers.Click) handlers.Ack {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.n++
	h.last = c
	return handlers.Ack{}
}

func (h *fuzzHandler) LoginCallback(context.Context, string, string, string) handlers.Page {
	return handlers.Page{}
}

func (h *fuzzHandler) LoginConfirm(context.Context, string, string, string) handlers.Page {
	return handlers.Page{}
}

func (h *fuzzHandler) clicks() (int, handlers.Click) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n, h.last
}

// refuseTransport stands in for the network: a refused workspace's reply goes
// to the payload's response_url, which must never leave the test.
type refuseTransport struct{}

func (refuseTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("fuzz: no network")
}

// fuzzServer is a Server serving the fuzz targets in-process, without a listener.
func fuzzServer(f *testing.F) (*Server, *fuzzHandler) {
	h := &fuzzHandler{}
	srv := NewServer(Options{
		SigningSecret: testSecret,
		OwnTeam:       slackfake.DefaultTeamID,
		Handler:       h,
		Logger:        slog.New(slog.DiscardHandler),
		Now:           fuzzNow,
		HTTPClient:    &http.Client{Transport: refuseTransport{}},
	})
	f.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			f.Errorf("shutdown: %v", err)
		}
	})
	return srv, h
}

// postInteraction sends body, correctly signed, to /slack/interactivity and
// returns the status and the handler's clicks during the request.
func postInteraction(t *testing.T, srv *Server, h *fuzzHandler, body []byte) (int, int, handlers.Click) {
	t.Helper()
	before, _ := h.clicks()
	req := httptest.NewRequest(http.MethodPost, "/slack/interactivity", bytes.NewReader(body))
	ts, sig := slackfake.Sign(testSecret, fuzzNow(), body)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", sig)
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, req)
	after, last := h.clicks()
	return rec.Code, after - before, last
}

// clickOracle is the Click a body should produce, decoded here with
// encoding/json alone; ok is false when the body is not a block_actions
// payload with an action from an allowed workspace.
func clickOracle(body []byte, team string) (want handlers.Click, ok bool) {
	if len(body) > maxBody {
		return want, false
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("payload") == "" {
		return want, false
	}
	var p struct {
		Type        string `json:"type"`
		ResponseURL string `json:"response_url"`
		TriggerID   string `json:"trigger_id"`
		Team        struct {
			ID string `json:"id"`
		} `json:"team"`
		Enterprise struct {
			ID string `json:"id"`
		} `json:"enterprise"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		Channel struct {
			ID string `json:"id"`
		} `json:"channel"`
		Container struct {
			ChannelID string `json:"channel_id"`
			MessageTS string `json:"message_ts"`
		} `json:"container"`
		Message struct {
			TS string `json:"ts"`
		} `json:"message"`
		Actions []json.RawMessage `json:"actions"`
	}
	if json.Unmarshal([]byte(form.Get("payload")), &p) != nil || p.Type != "block_actions" {
		return want, false
	}
	if p.Team.ID != team && p.Enterprise.ID != team {
		return want, false
	}
	// Slack's block actions carry a block_id; others are legacy attachment actions.
	for _, raw := range p.Actions {
		var fields map[string]any
		if json.Unmarshal(raw, &fields) != nil {
			return want, false
		}
		if _, isBlock := fields["block_id"].(string); !isBlock {
			continue
		}
		var a struct {
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
		}
		if json.Unmarshal(raw, &a) != nil {
			return want, false
		}
		want = handlers.Click{
			Team: p.Team.ID, Channel: p.Channel.ID, User: p.User.ID, ActionID: a.ActionID, Value: a.Value,
			MessageTS: p.Container.MessageTS, ResponseURL: p.ResponseURL, TriggerID: p.TriggerID,
		}
		if want.Channel == "" {
			want.Channel = p.Container.ChannelID
		}
		if want.MessageTS == "" {
			want.MessageTS = p.Message.TS
		}
		return want, true
	}
	return want, false
}

// sameClick compares what the payload decides; RequestID is the bot's own.
func sameClick(got, want handlers.Click) bool {
	got.RequestID = ""
	return got == want
}

// FuzzInteractivityPayload posts arbitrary signed bodies to
// /slack/interactivity: the server never panics, and the handler is called
// (once) only for a block_actions payload from an allowed workspace, with
// the click that payload describes.
func FuzzInteractivityPayload(f *testing.F) {
	good := slackfake.BlockActionsPayload(slackfake.ClickParams{
		UserID: "U1", ChannelID: "C1", MessageTS: "1700000000.000100", ActionID: "approve",
		Value: "req-1", BlockID: "b1", ResponseURL: "https://hooks.slack.com/actions/T0001/1/x", TriggerID: "1.2.3",
	}).Get("payload")
	for _, s := range []string{
		good,
		strings.Replace(good, `"block_actions"`, `"view_submission"`, 1),
		strings.Replace(good, `"T0001"`, `"T9999"`, 2),
		`{"type":"block_actions","team":{"id":"T0001"},"user":{"id":"U2"},"actions":[]}`,
		`{"type":"block_actions","team":{"id":"T0001"},"user":{"id":"U2"},"actions":[{"action_id":"deny","value":"v"}]}`,
		`{"type":"block_actions","team":{"id":"T0001"},"container":{"channel_id":"C9","message_ts":"1.2"},"actions":[{"block_id":"b","action_id":"deny","value":"v"}]}`,
		`{"type":"block_actions","team":{"id":5},"actions":[{"block_id":"b"}]}`,
		`{"type":"block_actions","enterprise":{"id":"T0001"},"team":{"id":"E1"},"actions":[{"block_id":"b","action_id":"x"}]}`,
		`{"TYPE":"block_actions","Team":{"ID":"T0001"},"actions":[{"block_id":"b","ACTION_ID":"x"}]}`,
		`{"type":"block_actions","actions":{"block_id":"b"}}`,
		`null`,
		`[]`,
		``,
		`{`,
	} {
		f.Add(s, false)
	}
	f.Add("payload=%7B%22type%22%3A%22block_actions%22%7D", true)
	f.Add("payload=%zz", true)
	f.Add("payload=1&payload=2", true)
	f.Add(strings.Repeat("a", maxBody+1), true)
	srv, h := fuzzServer(f)
	f.Fuzz(func(t *testing.T, payload string, raw bool) {
		body := []byte(payload)
		if !raw {
			body = []byte(url.Values{"payload": {payload}}.Encode())
		}
		code, calls, got := postInteraction(t, srv, h, body)
		want, ok := clickOracle(body, slackfake.DefaultTeamID)
		switch {
		case code == http.StatusUnauthorized:
			t.Fatalf("correctly signed body refused with 401")
		case len(body) > maxBody && code != http.StatusRequestEntityTooLarge:
			t.Fatalf("%d-byte body: status %d, want 413", len(body), code)
		case calls > 1:
			t.Fatalf("handler called %d times for one request", calls)
		case calls == 1 && code != http.StatusOK:
			t.Fatalf("handler called but status %d", code)
		case calls == 1 && !ok:
			t.Fatalf("handler called for a body that is not an allowed block_actions payload: %q -> %+v", body, got)
		case calls == 1 && !sameClick(got, want):
			t.Fatalf("click %+v, want %+v (body %q)", got, want, body)
		}
	})
}

// onCallbackHost is raw when the bot may post to it with the default
// slack.callback_hosts, else "".
func onCallbackHost(raw string) string {
	if newCallbackHosts(nil).check(raw) != nil {
		return ""
	}
	return raw
}

// jsonString is s as it reads back after a JSON round trip (invalid UTF-8
// becomes U+FFFD), which is what Slack's payload can carry.
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

// FuzzInteractivityClick posts well-formed block_actions payloads with
// arbitrary field values: each calls the handler exactly once with the same
// user, action, value, channel and message, and the response_url only when
// it is on one of Slack's callback hosts (else none).
func FuzzInteractivityClick(f *testing.F) {
	f.Add("U1", "C1", "1700000000.000100", "approve", "7f3c2a10", "https://hooks.slack.com/actions/T0001/1/x")
	f.Add("", "", "", "", "", "")
	f.Add("U\"2", "G<1>", "x", "deny&x=1", "v\x00\xff\u2028", "javascript:alert(1)")
	f.Add("W1", "D1", "1.1", "confirm", strings.Repeat("é", 2000), "%zz")
	srv, h := fuzzServer(f)
	f.Fuzz(func(t *testing.T, user, channel, ts, actionID, value, responseURL string) {
		body := []byte(slackfake.BlockActionsPayload(slackfake.ClickParams{
			UserID: user, ChannelID: channel, MessageTS: ts, ActionID: actionID, Value: value,
			BlockID: "b1", ResponseURL: responseURL, TriggerID: "1.2.3",
		}).Encode())
		code, calls, got := postInteraction(t, srv, h, body)
		if len(body) > maxBody {
			if code != http.StatusRequestEntityTooLarge || calls != 0 {
				t.Fatalf("%d-byte body: status %d and %d calls, want 413 and none", len(body), code, calls)
			}
			return
		}
		want := handlers.Click{
			Team: slackfake.DefaultTeamID, Channel: jsonString(t, channel), User: jsonString(t, user),
			ActionID: jsonString(t, actionID), Value: jsonString(t, value), MessageTS: jsonString(t, ts),
			ResponseURL: onCallbackHost(jsonString(t, responseURL)), TriggerID: "1.2.3",
		}
		if code != http.StatusOK || calls != 1 {
			t.Fatalf("well-formed click: status %d and %d handler calls, want 200 and 1", code, calls)
		}
		if !sameClick(got, want) {
			t.Fatalf("click %+v, want %+v", got, want)
		}
	})
}
