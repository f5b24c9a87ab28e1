package bot

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdebot/mdebot/bot/slackfake"
	"github.com/mdebot/mdebot/handlers"
	"github.com/mdebot/mdebot/store"
)

// recSurfaces is a recording SurfaceHandler.
type recSurfaces struct {
	mu        sync.Mutex
	events    []handlers.Event
	shortcuts []handlers.Shortcut
	ack       handlers.Ack
	calls     chan struct{}
}

func newRecSurfaces() *recSurfaces { return &recSurfaces{calls: make(chan struct{}, 100)} }

func (r *recSurfaces) Event(_ context.Context, e handlers.Event) handlers.Ack {
	r.mu.Lock()
	r.events = append(r.events, e)
	ack := r.ack
	r.mu.Unlock()
	r.calls <- struct{}{}
	return ack
}

func (r *recSurfaces) Shortcut(_ context.Context, s handlers.Shortcut) handlers.Ack {
	r.mu.Lock()
	r.shortcuts = append(r.shortcuts, s)
	ack := r.ack
	r.mu.Unlock()
	r.calls <- struct{}{}
	return ack
}

func (r *recSurfaces) setAck(a handlers.Ack) { r.mu.Lock(); defer r.mu.Unlock(); r.ack = a }

func (r *recSurfaces) Events() []handlers.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]handlers.Event(nil), r.events...)
}

func (r *recSurfaces) Shortcuts() []handlers.Shortcut {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]handlers.Shortcut(nil), r.shortcuts...)
}

// replayDB is a real store for the replay guard.
func replayDB(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), store.DriverSQLite, "file:"+filepath.Join(t.TempDir(), "replays.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// eventsEnv is an HTTP server with a recording SurfaceHandler and the replay guard.
func eventsEnv(t *testing.T, db *store.DB) (*httpEnv, *recSurfaces) {
	t.Helper()
	rs := newRecSurfaces()
	env := newHTTPEnv(t, func(o *Options) {
		o.Surfaces = rs
		if db != nil {
			o.Replays = db
		}
	})
	env.fake.AddUser(slackfake.User{ID: "U1", Name: "alice"})
	return env, rs
}

func postEvent(t *testing.T, env *httpEnv, ev slackfake.EventCallback) slackfake.Delivery {
	t.Helper()
	d, err := env.fake.PostEvent(context.Background(), env.url+"/slack/events", testSecret, ev)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Slack checks the Request URL with a signed challenge: it is echoed as
// text; an unsigned one is refused like any unsigned request.
func TestEventsURLVerification(t *testing.T) {
	env, rs := eventsEnv(t, replayDB(t))
	d := postEvent(t, env, slackfake.URLVerification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"))
	if d.Status != http.StatusOK || string(d.Body) != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" || !strings.HasPrefix(d.ContentType, "text/plain") {
		t.Fatalf("answer %d %q %q", d.Status, d.ContentType, d.Body)
	}
	d, err := env.fake.PostEvent(context.Background(), env.url+"/slack/events", "not-the-secret", slackfake.URLVerification("x"))
	if err != nil || d.Status != http.StatusUnauthorized || string(d.Body) == "x" {
		t.Fatalf("forged challenge: %d %q %v", d.Status, d.Body, err)
	}
	if len(rs.Events()) != 0 {
		t.Fatal("a challenge reached the handler")
	}
}

// The events the bot acts on reach the handler converted; others, and
// events from another workspace, are acknowledged and dropped.
func TestEventsHTTP(t *testing.T) {
	env, rs := eventsEnv(t, replayDB(t))
	home := env.fake.AppHomeOpened(slackfake.HomeOpenedParams{UserID: "U1"})
	step, exec := env.fake.FunctionExecuted(slackfake.FunctionParams{CallbackID: handlers.StepCallback,
		Inputs: map[string]any{"device": "ws-1", "requester": "U1", "channel": "C1", "count": 3}})
	foreign := env.fake.AppHomeOpened(slackfake.HomeOpenedParams{UserID: "U1", Event: slackfake.EventParams{TeamID: "T0BAD"}})
	unknown := slackfake.EventCallback{Type: "event_callback", EventID: "Ev0UNKNOWN", Body: json.RawMessage(
		`{"type":"event_callback","team_id":"` + env.fake.TeamID() + `","event_id":"Ev0UNKNOWN","event":{"type":"reaction_added","user":"U1"}}`)}
	garbled := slackfake.EventCallback{Type: "event_callback", Body: json.RawMessage(`{"type":"event_callback","event":`)}

	for _, ev := range []slackfake.EventCallback{home, step, foreign, unknown} {
		if d := postEvent(t, env, ev); d.Status != http.StatusOK {
			t.Fatalf("%s answered %d %s", ev.EventType, d.Status, d.Body)
		}
	}
	if d := postEvent(t, env, garbled); d.Status != http.StatusBadRequest {
		t.Fatalf("garbled body answered %d", d.Status)
	}
	got := rs.Events()
	if len(got) != 2 {
		t.Fatalf("%d events reached the handler, want 2: %+v", len(got), got)
	}
	if e := got[0]; e.Kind != handlers.EventHomeOpened || e.User != "U1" || e.Tab != "home" || e.Team != env.fake.TeamID() || e.ID != home.EventID || e.RequestID == "" {
		t.Errorf("app_home_opened as %+v", e)
	}
	e := got[1]
	if e.Kind != handlers.EventStepExecuted || e.Step == nil || e.Step.CallbackID != handlers.StepCallback || e.Step.ExecutionID != exec.ID ||
		e.Step.Token.Reveal() != exec.Token || e.Step.Inputs["device"] != "ws-1" || e.Step.Inputs["requester"] != "U1" || len(e.Step.Inputs) != 3 {
		t.Errorf("function_executed as %+v (step %+v)", e, e.Step)
	}
	if strings.Contains(e.Step.Token.String(), "xwfp") {
		t.Error("the step's token prints")
	}
}

// An event Slack retries (X-Slack-Retry-Num, new signature, same event_id)
// is handled once, on whichever replica it lands; every copy gets a 200.
func TestEventsRetriedHandledOnce(t *testing.T) {
	db := replayDB(t)
	a, ra := eventsEnv(t, db)
	b, rb := eventsEnv(t, db)
	ev := a.fake.AppHomeOpened(slackfake.HomeOpenedParams{UserID: "U1"})
	if d := postEvent(t, a, ev); d.Status != http.StatusOK {
		t.Fatal(d.Status)
	}
	for _, env := range []*httpEnv{a, b, a} {
		d, err := a.fake.RetryEvent(context.Background(), env.url+"/slack/events", testSecret, ev, "http_timeout")
		if err != nil || d.Status != http.StatusOK || d.RetryNum == 0 {
			t.Fatalf("retry: %+v %v", d, err)
		}
	}
	if n := len(ra.Events()) + len(rb.Events()); n != 1 {
		t.Fatalf("handled %d times, want once", n)
	}
	// Another event is handled.
	postEvent(t, b, a.fake.AppHomeOpened(slackfake.HomeOpenedParams{UserID: "U1"})) // one Slack: fresh event IDs
	if n := len(rb.Events()); n != 1 {
		t.Fatalf("a new event: handled %d times on the second replica", n)
	}
}

// The acknowledgement does not wait for the work.
func TestEventsAckBeforeWork(t *testing.T) {
	env, rs := eventsEnv(t, replayDB(t))
	release := make(chan struct{})
	done := make(chan struct{})
	rs.setAck(handlers.Ack{Work: func(context.Context) { <-release; close(done) }})
	d := postEvent(t, env, env.fake.AppHomeOpened(slackfake.HomeOpenedParams{UserID: "U1"}))
	if d.Status != http.StatusOK {
		t.Fatal(d.Status)
	}
	select {
	case <-done:
		t.Fatal("the work ended before it was released")
	default:
	}
	close(release)
	waitChan(t, done, "the event's work")
}

// Socket Mode: events_api envelopes take the same path; a redelivered
// envelope and a retry in a new envelope are acked and dropped; an event
// slack-go cannot parse is acked.
func TestSocketEvents(t *testing.T) {
	rs := newRecSurfaces()
	env := newSocketEnvWith(t, func(o *Options) { o.Surfaces, o.Replays = rs, replayDB(t) })
	ev := env.fake.AppHomeOpened(slackfake.HomeOpenedParams{UserID: "U1"})
	acked, err := env.fake.SendEvent(sendCtx(t), ev)
	if err != nil || len(acked.Payload) != 0 {
		t.Fatalf("ack %+v %v", acked, err)
	}
	if got := rs.Events(); len(got) != 1 || got[0].Kind != handlers.EventHomeOpened || got[0].User != "U1" || got[0].ID != ev.EventID {
		t.Fatalf("events %+v", got)
	}
	if _, err := env.fake.Redeliver(sendCtx(t), acked.EnvelopeID); err != nil {
		t.Fatal(err)
	}
	if _, err := env.fake.SendEvent(sendCtx(t), ev); err != nil { // Slack's retry in a new envelope
		t.Fatal(err)
	}
	step, exec := env.fake.FunctionExecuted(slackfake.FunctionParams{CallbackID: handlers.StepCallback, Inputs: map[string]any{"device": "ws-1"}})
	if _, err := env.fake.SendEvent(sendCtx(t), step); err != nil {
		t.Fatal(err)
	}
	unknown := slackfake.EventCallback{Type: "event_callback", EventID: "Ev0UNKNOWN", Body: json.RawMessage(
		`{"type":"event_callback","team_id":"` + env.fake.TeamID() + `","event_id":"Ev0UNKNOWN","event":{"type":"no_such_event_type"}}`)}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := env.fake.SendEvent(ctx, unknown); err != nil {
		t.Fatalf("an unknown event was not acknowledged: %v", err)
	}
	got := rs.Events()
	if len(got) != 2 || got[1].Step == nil || got[1].Step.ExecutionID != exec.ID || got[1].Step.Token.Reveal() != exec.Token {
		t.Fatalf("events %+v", got)
	}
}

// A message shortcut reaches the handler with the whole message's text
// (attachments and blocks too); its reply goes to the response_url. Over
// HTTP and Socket Mode alike.
func TestShortcutTransport(t *testing.T) {
	params := slackfake.ShortcutParams{UserID: "U1", UserName: "alice", ChannelID: "C1", ChannelName: "inc-1", MessageTS: "1700000000.000200",
		Attachments: json.RawMessage(`[{"title":"Suspicious PowerShell","fields":[{"title":"Device","value":"ws-0042.contoso.local","short":true}],"color":"#ff0000"}]`),
		Blocks:      json.RawMessage(`[{"type":"rich_text","block_id":"b1","elements":[{"type":"rich_text_section","elements":[{"type":"text","text":"device 1e5bc9d7e413ddd7902c2932e418702b84d0cc07"}]}]}]`)}
	reply := handlers.Ack{Reply: &handlers.Message{Header: handlers.T("Found 2")}}
	check := func(t *testing.T, fake *slackfake.Server, rs *recSurfaces) {
		t.Helper()
		got := rs.Shortcuts()
		if len(got) != 1 {
			t.Fatalf("%d shortcuts", len(got))
		}
		sc := got[0]
		if sc.CallbackID != handlers.ShortcutCallback || sc.User != "U1" || sc.Channel != "C1" || sc.Team != fake.TeamID() || sc.ResponseURL == "" {
			t.Errorf("shortcut %+v", sc)
		}
		for _, want := range []string{"ws-0042.contoso.local", "1e5bc9d7e413ddd7902c2932e418702b84d0cc07", "Suspicious PowerShell"} {
			if !strings.Contains(sc.Text, want) {
				t.Errorf("the shortcut's text lacks %q:\n%s", want, sc.Text)
			}
		}
		for _, noise := range []string{"#ff0000", "b1", "rich_text_section"} {
			if strings.Contains(sc.Text, noise) {
				t.Errorf("the shortcut's text holds %q:\n%s", noise, sc.Text)
			}
		}
		waitEvent(t, fake, func(e slackfake.Event) bool { return e.Kind == slackfake.EventResponse && e.Response.Text == "Found 2" })
	}
	t.Run("http", func(t *testing.T) {
		env, rs := eventsEnv(t, nil)
		rs.setAck(reply)
		p := params
		p.ResponseURL = env.fake.ResponseURL("shortcut")
		st, _ := env.send(t, "/slack/interactivity", slackfake.MessageActionPayload(p))
		if st != http.StatusOK {
			t.Fatal(st)
		}
		check(t, env.fake, rs)
	})
	t.Run("socket", func(t *testing.T) {
		rs := newRecSurfaces()
		rs.setAck(reply)
		env := newSocketEnvWith(t, func(o *Options) { o.Surfaces = rs })
		if _, err := env.fake.SendMessageAction(sendCtx(t), params); err != nil {
			t.Fatal(err)
		}
		check(t, env.fake, rs)
	})
}

// A click on the Home tab reaches the handler as a Home click (no channel);
// its reply goes to the clicker's DMs, having no response_url.
func TestHomeClickTransport(t *testing.T) {
	check := func(t *testing.T, h *recHandler, fake *slackfake.Server) {
		t.Helper()
		cl := h.Clicks()
		if len(cl) != 1 || cl[0].Surface != handlers.SurfaceHome || cl[0].Channel != "" || cl[0].User != "U1" ||
			cl[0].ActionID != handlers.ActionApprove || cl[0].Value != "req-1" || cl[0].ResponseURL != "" {
			t.Fatalf("clicks %+v", cl)
		}
		waitEvent(t, fake, func(e slackfake.Event) bool {
			return e.Kind == slackfake.EventMessage && e.Message.DMUser == "U1" && e.Message.Text == "Nothing changed"
		})
	}
	reply := func(handlers.Click) handlers.Ack {
		return handlers.Ack{Reply: &handlers.Message{Header: handlers.T("Nothing changed")}}
	}
	click := slackfake.HomeClickParams{UserID: "U1", ActionID: handlers.ActionApprove, Value: "req-1"}
	t.Run("http", func(t *testing.T) {
		fake, api := newMessengerEnv(t)
		rs := newRecSurfaces()
		env := newHTTPEnv(t, func(o *Options) { o.Surfaces, o.Fallback = rs, api })
		env.fake = fake // the payload names the Home tab this fake published
		env.h.setClick(reply)
		if _, err := fake.HomeClickPayload(click); err == nil {
			t.Fatal("a click on a Home tab never published was made")
		}
		if err := api.PublishHome(context.Background(), "U1", nil); err != nil {
			t.Fatal(err)
		}
		form, err := fake.HomeClickPayload(click)
		if err != nil {
			t.Fatal(err)
		}
		if st, _ := env.send(t, "/slack/interactivity", form); st != http.StatusOK {
			t.Fatal(st)
		}
		check(t, env.h, fake)
	})
	t.Run("socket", func(t *testing.T) {
		env := newSocketEnvWith(t, nil)
		env.fake.AddUser(slackfake.User{ID: "U1", Name: "alice"})
		api := newTestSlack(t, env.fake, nil)
		env.srv.o.Fallback = api
		env.h.setClick(reply)
		if err := api.PublishHome(context.Background(), "U1", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := env.fake.SendHomeClick(sendCtx(t), click); err != nil {
			t.Fatal(err)
		}
		check(t, env.h, env.fake)
	})
}
