package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdebot/mdebot/bot/slackfake"
	"github.com/mdebot/mdebot/handlers"
)

func TestHTTPSlackDocumentedExample(t *testing.T) {
	tests := []struct {
		name       string
		now        func() time.Time
		wantStatus int
		wantCalled bool
	}{
		{"clock at the example's time", func() time.Time { return time.Unix(docTimestamp+10, 0) }, http.StatusOK, true},
		{"real clock", nil, http.StatusUnauthorized, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newHTTPEnv(t, func(o *Options) {
				o.SigningSecret, o.AllowedTeams, o.Command, o.Now = docSecret, []string{"T1DC2JH3J"}, "", tt.now
			})
			req, _ := http.NewRequest(http.MethodPost, env.url+"/slack/commands", strings.NewReader(docBody))
			req.Header = docHeader()
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			status, _ := do(t, req)
			if status != tt.wantStatus {
				t.Fatalf("status %d, want %d", status, tt.wantStatus)
			}
			cmds := env.h.Commands()
			if got := len(cmds) == 1; got != tt.wantCalled {
				t.Fatalf("handler called %d times, want called=%v", len(cmds), tt.wantCalled)
			}
			if tt.wantCalled {
				c := cmds[0]
				if c.Team != "T1DC2JH3J" || c.User != "U2CERLKJA" || c.Command != "/webhook-collect" || c.Channel != "G8PSS9T3V" {
					t.Fatalf("command not parsed from the signed body: %+v", c)
				}
			}
		})
	}
}

func TestHTTPRefusesBadRequests(t *testing.T) {
	form := slackfake.CommandForm(slackfake.CommandParams{UserID: "U1", ChannelID: "C1", Text: "help"})
	body := []byte(form.Encode())
	big := append(append([]byte{}, body...), []byte("&pad="+strings.Repeat("x", maxBody))...)
	now := time.Now()
	sign := func(secret string, at time.Time, b []byte) http.Header {
		ts, sig := slackfake.Sign(secret, at, b)
		h := http.Header{}
		h.Set("Content-Type", "application/x-www-form-urlencoded")
		h.Set("X-Slack-Request-Timestamp", ts)
		h.Set("X-Slack-Signature", sig)
		return h
	}
	tests := []struct {
		name   string
		path   string
		header http.Header
		body   []byte
		want   int
	}{
		{"signed command", "/slack/commands", sign(testSecret, now, body), body, http.StatusOK},
		{"forged", "/slack/commands", sign("not-the-secret", now, body), body, http.StatusUnauthorized},
		{"stale", "/slack/commands", sign(testSecret, now.Add(-6*time.Minute), body), body, http.StatusUnauthorized},
		{"tampered", "/slack/commands", sign(testSecret, now, body), bytes.Replace(body, []byte("help"), []byte("logout"), 1), http.StatusUnauthorized},
		{"unsigned", "/slack/commands", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, body, http.StatusUnauthorized},
		{"oversized (413)", "/slack/commands", sign(testSecret, now, big), big, http.StatusRequestEntityTooLarge},
		{"forged click", "/slack/interactivity", sign("not-the-secret", now, body), body, http.StatusUnauthorized},
		{"unsigned click", "/slack/interactivity", http.Header{}, body, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newHTTPEnv(t, nil)
			req, _ := http.NewRequest(http.MethodPost, env.url+tt.path, bytes.NewReader(tt.body))
			req.Header = tt.header
			status, _ := do(t, req)
			if status != tt.want {
				t.Fatalf("status %d, want %d", status, tt.want)
			}
			called := len(env.h.Commands()) + len(env.h.Clicks())
			if wantCalled := tt.want == http.StatusOK; (called > 0) != wantCalled {
				t.Fatalf("handler called %d times; want called=%v", called, wantCalled)
			}
		})
	}
}

func TestHTTPAllowedTeams(t *testing.T) {
	tests := []struct {
		name    string
		allowed []string
		team    string
		ent     string
		want    bool
	}{
		{"own team when the list is empty", nil, slackfake.DefaultTeamID, "", true},
		{"other team when the list is empty", nil, "T0BAD", "", false},
		{"listed team", []string{"T0002", "T0003"}, "T0003", "", true},
		{"own team not in the list", []string{"T0002"}, slackfake.DefaultTeamID, "", false},
		{"listed Enterprise Grid org", []string{"E0001"}, "T0009", "E0001", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newHTTPEnv(t, func(o *Options) { o.AllowedTeams = tt.allowed })
			p := env.command("help")
			p.TeamID, p.EnterpriseID = tt.team, tt.ent
			status, body := env.send(t, "/slack/commands", slackfake.CommandForm(p))
			if status != http.StatusOK {
				t.Fatalf("status %d", status)
			}
			if called := len(env.h.Commands()) == 1; called != tt.want {
				t.Fatalf("handler called=%v, want %v", called, tt.want)
			}
			if !tt.want {
				var r struct {
					ResponseType string `json:"response_type"`
					Text         string `json:"text"`
				}
				if err := json.Unmarshal([]byte(body), &r); err != nil {
					t.Fatalf("refusal is not a JSON reply: %v: %q", err, body)
				}
				if r.ResponseType != "ephemeral" || !strings.Contains(r.Text, "not allowed") {
					t.Fatalf("refusal not a polite ephemeral: %+v", r)
				}
			}
		})
	}
}

func TestHTTPCommandConversion(t *testing.T) {
	at := time.Now().Truncate(time.Second)
	env := newHTTPEnv(t, func(o *Options) { o.Now = func() time.Time { return at } })
	p := env.command("collect host-1 suspicious")
	p.TriggerID = "123.456.abc"
	for range 2 {
		if status, _ := env.send(t, "/slack/commands", slackfake.CommandForm(p)); status != http.StatusOK {
			t.Fatalf("status %d", status)
		}
	}
	cmds := env.h.Commands()
	want := handlers.Command{
		Team: slackfake.DefaultTeamID, Channel: "C1", ChannelName: "inc-42", User: "U1", UserName: "alice",
		Command: "/mde-package", Text: "collect host-1 suspicious", ResponseURL: p.ResponseURL,
		TriggerID: "123.456.abc", ReceivedAt: at,
	}
	got := cmds[0]
	if len(got.RequestID) != 16 || cmds[1].RequestID == got.RequestID {
		t.Fatalf("request ids not fresh short ids: %q %q", got.RequestID, cmds[1].RequestID)
	}
	got.RequestID = ""
	if got != want {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func TestHTTPUnknownCommand(t *testing.T) {
	env := newHTTPEnv(t, nil)
	p := env.command("help")
	p.Command = "/other"
	_, body := env.send(t, "/slack/commands", slackfake.CommandForm(p))
	if len(env.h.Commands()) != 0 || !strings.Contains(body, "Unknown command `/other`") {
		t.Fatalf("unknown command not refused: %q", body)
	}
}

func TestHTTPAckReply(t *testing.T) {
	tests := []struct {
		name     string
		reply    *handlers.Message
		wantType string
	}{
		{"no reply: empty 200", nil, ""},
		{"ephemeral", &handlers.Message{Header: handlers.T("Usage"), Text: handlers.T(handlers.Code("/mde-package <action-id>")),
			Buttons: []handlers.Button{{Label: "Confirm", ActionID: handlers.ActionConfirm, Value: "r1", Style: "primary"}}}, "ephemeral"},
		{"in channel", &handlers.Message{Header: handlers.T("Collecting"), Text: handlers.T("on host-1"), InChannel: true}, "in_channel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newHTTPEnv(t, nil)
			env.h.setCommand(func(handlers.Command) handlers.Ack { return handlers.Ack{Reply: tt.reply} })
			status, body := env.send(t, "/slack/commands", slackfake.CommandForm(env.command("help")))
			if status != http.StatusOK {
				t.Fatalf("status %d", status)
			}
			if tt.reply == nil {
				if body != "" {
					t.Fatalf("want an empty ack, got %q", body)
				}
				return
			}
			var r struct {
				ResponseType string            `json:"response_type"`
				Text         string            `json:"text"`
				Blocks       []json.RawMessage `json:"blocks"`
			}
			if err := json.Unmarshal([]byte(body), &r); err != nil {
				t.Fatalf("ack body is not JSON: %v: %q", err, body)
			}
			if r.ResponseType != tt.wantType {
				t.Fatalf("response_type %q, want %q", r.ResponseType, tt.wantType)
			}
			if !strings.Contains(r.Text, mrkdwnOf(tt.reply.Header)) || !strings.Contains(r.Text, mrkdwnOf(tt.reply.Text)) {
				t.Fatalf("text fallback lacks header or text: %q", r.Text)
			}
			if len(r.Blocks) == 0 || !strings.Contains(string(r.Blocks[0]), mrkdwnOf(tt.reply.Header)) {
				t.Fatalf("blocks missing or without the header: %s", body)
			}
			if len(tt.reply.Buttons) > 0 && !strings.Contains(body, `"action_id":"`+handlers.ActionConfirm+`"`) {
				t.Fatalf("button missing from the ack: %s", body)
			}
		})
	}
}

// The ack reaches Slack while Work is still blocked: Work runs after the ack,
// and Shutdown waits for it.
func TestHTTPAckBeforeWork(t *testing.T) {
	env := newHTTPEnv(t, nil)
	release, started, finished := make(chan struct{}), make(chan struct{}), make(chan struct{})
	env.h.setCommand(func(handlers.Command) handlers.Ack {
		return handlers.Ack{
			Reply: &handlers.Message{Header: handlers.T("Working on it")},
			Work: func(ctx context.Context) {
				close(started)
				<-release
				close(finished)
			},
		}
	})
	status, body := env.send(t, "/slack/commands", slackfake.CommandForm(env.command("get x")))
	if status != http.StatusOK || !strings.Contains(body, "Working on it") {
		t.Fatalf("ack %d %q", status, body)
	}
	waitChan(t, started, "work to start")
	select {
	case <-finished:
		t.Fatal("work finished before it was released")
	default:
	}

	// Shutdown waits for the blocked work, and gives up at its deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := env.srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown with work still running: got %v, want a deadline error", err)
	}
	close(release)
	waitChan(t, finished, "work to finish")
	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	if err := env.srv.Shutdown(ctx2); err != nil {
		t.Fatalf("Shutdown after the work ended: %v", err)
	}

	// After shutdown, new commands are refused without calling the handler.
	_, body = env.send(t, "/slack/commands", slackfake.CommandForm(env.command("get y")))
	if n := len(env.h.Commands()); n != 1 || !strings.Contains(body, "restarting") {
		t.Fatalf("command after shutdown: handler calls %d, body %q", n, body)
	}
}

func TestHTTPInteractivity(t *testing.T) {
	env := newHTTPEnv(t, nil)
	ran := make(chan struct{})
	env.h.setClick(func(c handlers.Click) handlers.Ack {
		return handlers.Ack{
			Reply: &handlers.Message{Text: handlers.T("Only approvers can approve.")},
			Work:  func(context.Context) { close(ran) },
		}
	})
	respURL := env.fake.ResponseURL("click-1")
	p := slackfake.ClickParams{
		TeamID: env.fake.TeamID(), UserID: "U2", UserName: "bob", ChannelID: "C1", ChannelName: "inc-42",
		MessageTS: "1700000000.000100", ActionID: handlers.ActionApprove, Value: "req-1", Label: "Approve",
		ResponseURL: respURL, TriggerID: "9.9.trigger",
	}
	status, body := env.send(t, "/slack/interactivity", slackfake.BlockActionsPayload(p))
	if status != http.StatusOK || body != "" {
		t.Fatalf("click ack %d %q, want an empty 200", status, body)
	}
	clicks := env.h.Clicks()
	if len(clicks) != 1 {
		t.Fatalf("handler got %d clicks", len(clicks))
	}
	got := clicks[0]
	if got.RequestID == "" {
		t.Fatal("no request id")
	}
	got.RequestID = ""
	want := handlers.Click{Team: env.fake.TeamID(), Channel: "C1", User: "U2", ActionID: handlers.ActionApprove,
		Value: "req-1", MessageTS: "1700000000.000100", ResponseURL: respURL, TriggerID: "9.9.trigger"}
	if got != want {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	waitChan(t, ran, "click work")
	e := waitEvent(t, env.fake, func(e slackfake.Event) bool { return e.Kind == slackfake.EventResponse })
	r := e.Response
	if r.ID != "click-1" || r.ResponseType != "ephemeral" || r.ReplaceOriginal || !strings.Contains(r.Text, "Only approvers") {
		t.Fatalf("click reply not posted privately to the response_url: %+v", r)
	}
}

func TestHTTPHandlerPanic(t *testing.T) {
	env := newHTTPEnv(t, nil)
	env.h.setCommand(func(handlers.Command) handlers.Ack { panic("boom") })
	status, body := env.send(t, "/slack/commands", slackfake.CommandForm(env.command("help")))
	if status != http.StatusOK || !strings.Contains(body, "internal error (ref ") {
		t.Fatalf("panic not turned into an internal error reply: %d %q", status, body)
	}
}

func TestAckObserver(t *testing.T) {
	var mu sync.Mutex
	kinds := map[string]int{}
	env := newHTTPEnv(t, func(o *Options) {
		o.AckObserver = func(kind string, d time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			if d >= 0 {
				kinds[kind]++
			}
		}
	})
	env.send(t, "/slack/commands", slackfake.CommandForm(env.command("help")))
	env.send(t, "/slack/interactivity", slackfake.BlockActionsPayload(slackfake.ClickParams{UserID: "U1", ActionID: "x"}))
	mu.Lock()
	defer mu.Unlock()
	if kinds["command"] != 1 || kinds["interaction"] != 1 {
		t.Fatalf("observed %v", kinds)
	}
}

// AdminHandler serves the operations routes and nothing of Slack or sign-in.
func TestAdminHandler(t *testing.T) {
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("mdebot_up 1\n")) })
	srv := NewServer(Options{Metrics: metrics, AdminSeparate: true, SigningSecret: testSecret})
	ts := httptest.NewServer(srv.AdminHandler())
	t.Cleanup(ts.Close)
	for _, tt := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/metrics", 200}, {"GET", "/healthz", 200}, {"GET", "/readyz", 200},
		{"POST", "/slack/commands", 404}, {"POST", "/slack/interactivity", 404},
		{"GET", "/auth/callback", 404}, {"POST", "/auth/confirm", 404},
	} {
		req, _ := http.NewRequest(tt.method, ts.URL+tt.path, nil)
		if status, _ := do(t, req); status != tt.want {
			t.Errorf("%s %s on the admin listener: %d, want %d", tt.method, tt.path, status, tt.want)
		}
	}
}

func TestOperationalRoutes(t *testing.T) {
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("mdebot_up 1\n")) })
	tests := []struct {
		name       string
		opts       func(*Options)
		path       string
		wantStatus int
		wantBody   string
	}{
		{"healthz", nil, "/healthz", 200, "ok"},
		{"readyz without a check", nil, "/readyz", 200, "ok"},
		{"readyz ready", func(o *Options) { o.Ready = func(context.Context) error { return nil } }, "/readyz", 200, "ok"},

		{"metrics", func(o *Options) { o.Metrics = metrics }, "/metrics", 200, "mdebot_up 1\n"},
		{"no metrics handler", nil, "/metrics", 404, "404 page not found\n"},
		{"wrong method on a Slack route", nil, "/slack/commands", 405, "Method Not Allowed\n"},
		{"metrics on the admin listener only", func(o *Options) { o.Metrics, o.AdminSeparate = metrics, true }, "/metrics", 404, "404 page not found\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newHTTPEnv(t, tt.opts)
			req, _ := http.NewRequest(http.MethodGet, env.url+tt.path, nil)
			status, body := do(t, req)
			if status != tt.wantStatus || body != tt.wantBody {
				t.Fatalf("got %d %q, want %d %q", status, body, tt.wantStatus, tt.wantBody)
			}
		})
	}
}

// Slack sends &, < and > in command text as entities; the use cases get them
// back as typed (a path or a search term may hold them).
func TestCommandTextUnescaped(t *testing.T) {
	env := newHTTPEnv(t, nil)
	p := env.command(`getfile ws-1 C:\Temp\a&amp;b &lt;x&gt;.txt &amp;lt;`)
	if st, _ := env.send(t, "/slack/commands", slackfake.CommandForm(p)); st != http.StatusOK {
		t.Fatalf("status %d", st)
	}
	cs := env.h.Commands()
	if len(cs) != 1 || cs[0].Text != `getfile ws-1 C:\Temp\a&b <x>.txt &lt;` {
		t.Fatalf("commands %+v", cs)
	}
}
