package bot

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mdebot/mdebot/bot/slackfake"
	"github.com/mdebot/mdebot/handlers"
)

func TestCallbackHostCheck(t *testing.T) {
	slackHosts := newCallbackHosts(nil)
	loopback := newCallbackHosts([]string{"127.0.0.1", "*.hooks.test"})
	tests := []struct {
		name  string
		hosts callbackHosts
		raw   string
		ok    bool
	}{
		{"Slack's hook host", slackHosts, "https://hooks.slack.com/commands/T0001/123/abc", true},
		{"Slack's files host", slackHosts, "https://files.slack.com/upload/v1/CwABAAAAXQ", true},
		{"Slack's edge files host", slackHosts, "https://files-edge.slack.com/upload/v1/CwABAAAAXQ", true},
		{"upper case and root dot", slackHosts, "https://HOOKS.Slack.com./actions/T1/2/x", true},
		{"another host", slackHosts, "https://attacker.example/collect?u=1", false},
		{"Slack's name as a prefix", slackHosts, "https://hooks.slack.com.attacker.example/x", false},
		{"Slack's name as a suffix", slackHosts, "https://evilhooks.slack.com/x", false},
		{"plain http to Slack", slackHosts, "http://hooks.slack.com/commands/T1/2/x", false},
		{"user info", slackHosts, "https://user:pw@hooks.slack.com/x", false},
		{"no scheme", slackHosts, "//hooks.slack.com/x", false},
		{"javascript", slackHosts, "javascript:alert(1)", false},
		{"unparsable", slackHosts, "%zz", false},
		{"empty", slackHosts, "", false},
		{"loopback not listed by default", slackHosts, "http://127.0.0.1:8080/response/x", false},
		{"loopback when listed, http allowed", loopback, "http://127.0.0.1:8080/response/x", true},
		{"localhost is not 127.0.0.1", loopback, "http://localhost:8080/response/x", false},
		{"other loopback address", loopback, "http://127.0.0.2:8080/response/x", false},
		{"subdomain pattern", loopback, "https://a.hooks.test/x", true},
		{"subdomain pattern, bare suffix", loopback, "https://hooks.test/x", false},
		{"http off loopback even when listed", loopback, "http://a.hooks.test/x", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.hosts.check(tt.raw)
			if (err == nil) != tt.ok {
				t.Fatalf("check(%q) = %v, want ok=%v", tt.raw, err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrCallbackRefused) {
				t.Fatalf("refusal %v is not ErrCallbackRefused", err)
			}
			if err != nil && strings.Contains(tt.raw, "/x") && strings.Contains(err.Error(), "/x") {
				t.Fatalf("refusal %q quotes the URL's path", err)
			}
		})
	}
}

// foreignHook listens for posts the bot must never make: its URLs name
// localhost, which is not the fakes' 127.0.0.1 in slack.callback_hosts.
type foreignHook struct {
	hits atomic.Int32
	url  string
}

func newForeignHook(t *testing.T) *foreignHook {
	t.Helper()
	h := &foreignHook{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h.hits.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(ts.Close)
	h.url = strings.Replace(ts.URL, "127.0.0.1", "localhost", 1) + "/hooks/secret-path?token=t0k3n"
	return h
}

// logBuffer collects a logger's text output.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// A response_url off the callback hosts is not contacted when Private falls
// back to it: the message goes as a DM, and the log names the host only.
func TestPrivateRefusesForeignResponseURL(t *testing.T) {
	fake := slackfake.New(slackfake.Options{})
	t.Cleanup(fake.Close)
	fake.AddChannel(slackfake.Channel{ID: "C2", Name: "inc-private", IsPrivate: true}) // the bot is not in it
	fake.AddUser(slackfake.User{ID: "U1", Name: "alice"})
	var logs logBuffer
	s := newTestSlack(t, fake, func(o *SlackOptions) { o.Logger = logs.logger() })
	hook := newForeignHook(t)
	if err := s.Private(context.Background(), handlers.Recipient{Channel: "C2", User: "U1", ResponseURL: hook.url}, sample); err != nil {
		t.Fatalf("Private: %v", err)
	}
	if n := hook.hits.Load(); n != 0 {
		t.Fatalf("the foreign response_url received %d posts", n)
	}
	if dms := fake.Messages(); len(dms) != 1 || dms[0].DMUser != "U1" {
		t.Fatalf("messages %+v, want one DM to U1", dms)
	}
	out := logs.String()
	if !strings.Contains(out, "response_url refused") || !strings.Contains(out, "localhost:") || strings.Contains(out, "secret-path") || strings.Contains(out, "t0k3n") {
		t.Fatalf("log should name the refused host and nothing of its path:\n%s", out)
	}
}

// A click's foreign response_url never reaches the handler nor receives the
// reply, which goes ephemerally through the fallback instead.
func TestClickReplyAvoidsForeignResponseURL(t *testing.T) {
	var logs logBuffer
	env := newHTTPEnv(t, func(o *Options) { o.Logger = logs.logger() })
	env.fake.AddChannel(slackfake.Channel{ID: "C1", Name: "inc-42", BotIsMember: true})
	env.fake.AddUser(slackfake.User{ID: "U2", Name: "bob"})
	env.srv.o.Fallback = newTestSlack(t, env.fake, nil)
	env.h.setClick(func(handlers.Click) handlers.Ack {
		return handlers.Ack{Reply: &handlers.Message{Text: handlers.T("Only approvers can approve.")}}
	})
	hook := newForeignHook(t)
	status, _ := env.send(t, "/slack/interactivity", slackfake.BlockActionsPayload(slackfake.ClickParams{
		TeamID: env.fake.TeamID(), UserID: "U2", ChannelID: "C1", MessageTS: "1.2", ActionID: handlers.ActionApprove,
		Value: "req-1", ResponseURL: hook.url,
	}))
	if status != http.StatusOK {
		t.Fatalf("click answered %d", status)
	}
	e := waitEvent(t, env.fake, func(e slackfake.Event) bool { return e.Kind == slackfake.EventEphemeral })
	if e.Message.User != "U2" || e.Message.Channel != "C1" || !strings.Contains(e.Message.Text, "Only approvers") {
		t.Fatalf("reply %+v, want it ephemeral to U2 in C1", e.Message)
	}
	if clicks := env.h.Clicks(); len(clicks) != 1 || clicks[0].ResponseURL != "" {
		t.Fatalf("the handler saw the foreign response_url: %+v", clicks)
	}
	if n := hook.hits.Load(); n != 0 {
		t.Fatalf("the foreign response_url received %d posts", n)
	}
	if out := logs.String(); !strings.Contains(out, "response_url refused") || strings.Contains(out, "secret-path") {
		t.Fatalf("log should record the refusal without the path:\n%s", out)
	}
}

// An upload_url off the callback hosts gets no byte and the upload is not completed.
func TestUploadRefusesForeignUploadURL(t *testing.T) {
	fake := slackfake.New(slackfake.Options{})
	t.Cleanup(fake.Close)
	fake.AddChannel(slackfake.Channel{ID: "C1", Name: "inc-1", BotIsMember: true})
	s := newTestSlack(t, fake, func(o *SlackOptions) { o.CallbackHosts = []string{"files.slack.com"} })
	data := []byte("0123456789")
	err := s.Upload(context.Background(), handlers.Upload{Channel: "C1", Filename: "p.zip", Size: int64(len(data)), Body: bytes.NewReader(data)})
	if !errors.Is(err, ErrCallbackRefused) {
		t.Fatalf("Upload = %v, want ErrCallbackRefused", err)
	}
	ups := fake.Uploads()
	if len(ups) != 1 || ups[0].Received > 0 || ups[0].Completed {
		t.Fatalf("uploads %+v: want one announced, nothing received, not completed", ups)
	}
}
