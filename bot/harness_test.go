package bot

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/mdebot/mdebot/bot/slackfake"
	"github.com/mdebot/mdebot/handlers"
)

const testSecret = "test-signing-secret"

// recHandler is a recording bot.Handler; its replies and work are set per test.
type recHandler struct {
	mu        sync.Mutex
	commands  []handlers.Command
	clicks    []handlers.Click
	callbacks [][4]string // state, code, error, and the csrf of a confirmation
	onCommand func(handlers.Command) handlers.Ack
	onClick   func(handlers.Click) handlers.Ack
	page      handlers.Page
	calls     chan struct{} // one value per Command or Click call
}

func newRecHandler() *recHandler { return &recHandler{calls: make(chan struct{}, 100)} }

func (h *recHandler) Command(_ context.Context, c handlers.Command) handlers.Ack {
	h.mu.Lock()
	h.commands = append(h.commands, c)
	f := h.onCommand
	h.mu.Unlock()
	h.signal()
	if f == nil {
		return handlers.Ack{}
	}
	return f(c)
}

func (h *recHandler) Click(_ context.Context, c handlers.Click) handlers.Ack {
	h.mu.Lock()
	h.clicks = append(h.clicks, c)
	f := h.onClick
	h.mu.Unlock()
	h.signal()
	if f == nil {
		return handlers.Ack{}
	}
	return f(c)
}

// signal notes a call without ever blocking the transport.
func (h *recHandler) signal() {
	select {
	case h.calls <- struct{}{}:
	default:
	}
}

func (h *recHandler) LoginCallback(_ context.Context, state, code, errCode string) handlers.Page {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.callbacks = append(h.callbacks, [4]string{state, code, errCode, ""})
	return h.page
}

func (h *recHandler) LoginConfirm(_ context.Context, state, code, csrf string) handlers.Page {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.callbacks = append(h.callbacks, [4]string{state, code, "", csrf})
	return h.page
}

func (h *recHandler) setCommand(f func(handlers.Command) handlers.Ack) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.onCommand = f
}

func (h *recHandler) setClick(f func(handlers.Click) handlers.Ack) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.onClick = f
}

func (h *recHandler) setPage(p handlers.Page) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.page = p
}

func (h *recHandler) Callbacks() [][4]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([][4]string(nil), h.callbacks...)
}

func (h *recHandler) Commands() []handlers.Command {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]handlers.Command(nil), h.commands...)
}

func (h *recHandler) Clicks() []handlers.Click {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]handlers.Click(nil), h.clicks...)
}

// httpEnv is a bot Server on a real loopback HTTP server, with a fake Slack.
type httpEnv struct {
	fake *slackfake.Server
	h    *recHandler
	srv  *Server
	url  string
}

func newHTTPEnv(t testing.TB, mod func(*Options)) *httpEnv {
	t.Helper()
	fake := slackfake.New(slackfake.Options{})
	t.Cleanup(fake.Close)
	h := newRecHandler()
	o := Options{SigningSecret: testSecret, OwnTeam: fake.TeamID(), Command: "/mde-package", Handler: h,
		CallbackHosts: []string{"127.0.0.1"}} // the fake's response URLs
	if mod != nil {
		mod(&o)
	}
	srv := NewServer(o)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return &httpEnv{fake: fake, h: h, srv: srv, url: ts.URL}
}

// send posts a signed form to path and returns the status and body.
func (e *httpEnv) send(t testing.TB, path string, form url.Values) (int, string) {
	t.Helper()
	req, err := slackfake.SignedRequest(context.Background(), e.url+path, testSecret, []byte(form.Encode()), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return do(t, req)
}

func do(t testing.TB, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func (e *httpEnv) command(text string) slackfake.CommandParams {
	return slackfake.CommandParams{
		TeamID: e.fake.TeamID(), ChannelID: "C1", ChannelName: "inc-42", UserID: "U1", UserName: "alice",
		Command: "/mde-package", Text: text, ResponseURL: e.fake.ResponseURL("cmd"),
	}
}

// waitChan waits for a value or closure on ch, failing the test after a deadline.
func waitChan[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

func waitEvent(t *testing.T, fake *slackfake.Server, pred func(slackfake.Event) bool) slackfake.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e, err := fake.WaitFor(ctx, pred)
	if err != nil {
		t.Fatalf("waiting for a fake Slack event: %v", err)
	}
	return e
}

func newTestSlack(t *testing.T, fake *slackfake.Server, mod func(*SlackOptions)) *Slack {
	t.Helper()
	o := SlackOptions{BotToken: fake.BotToken(), AppToken: fake.AppToken(), APIURL: fake.URL(),
		CallbackHosts: []string{"127.0.0.1"}} // the fake's response and upload URLs
	if mod != nil {
		mod(&o)
	}
	s, err := NewSlack(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
