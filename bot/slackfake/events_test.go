package slackfake_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/mdebot/mdebot/bot/slackfake"
)

const eventsSecret = "events-signing-secret"

// received is one request the test bot got on /slack/events.
type received struct {
	signatureOK bool
	retryNum    string
	retryReason string
	userAgent   string
	contentType string
	event       slackevents.EventsAPIEvent
	eventID     string
}

// eventsBot is a minimal Events API endpoint built on slack-go only: it checks
// the signature with slack.NewSecretsVerifier (an implementation independent
// of slackfake.Sign), parses with slackevents, answers url_verification with
// the challenge and anything else with an empty 200.
type eventsBot struct {
	url  string
	mu   sync.Mutex
	got  []received
	fail int // answer 500 to this many requests first
}

func newEventsBot(t *testing.T) *eventsBot {
	b := &eventsBot{}
	ts := httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(ts.Close)
	b.url = ts.URL + "/slack/events"
	return b
}

func (b *eventsBot) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	rec := received{
		retryNum: r.Header.Get("X-Slack-Retry-Num"), retryReason: r.Header.Get("X-Slack-Retry-Reason"),
		userAgent: r.Header.Get("User-Agent"), contentType: r.Header.Get("Content-Type"),
	}
	if v, err := slack.NewSecretsVerifier(r.Header, eventsSecret); err == nil {
		_, _ = v.Write(body)
		rec.signatureOK = v.Ensure() == nil
	}
	ev, err := slackevents.ParseEvent(body, slackevents.OptionNoVerifyToken())
	if err != nil {
		http.Error(w, "parse: "+err.Error(), http.StatusBadRequest)
		return
	}
	rec.event = ev
	if cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent); ok {
		rec.eventID = cb.EventID
	}
	b.mu.Lock()
	b.got = append(b.got, rec)
	failing := b.fail > 0
	if failing {
		b.fail--
	}
	b.mu.Unlock()
	switch {
	case !rec.signatureOK:
		http.Error(w, "bad signature", http.StatusUnauthorized)
	case failing:
		http.Error(w, "busy", http.StatusInternalServerError)
	case ev.Type == slackevents.URLVerification:
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, ev.Data.(*slackevents.EventsAPIURLVerificationEvent).Challenge)
	default:
		w.WriteHeader(http.StatusOK)
	}
}

func (b *eventsBot) received() []received {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]received(nil), b.got...)
}

func TestURLVerification(t *testing.T) {
	fake, _ := newFake(t, slackfake.Options{})
	bot := newEventsBot(t)
	d, err := fake.PostEvent(ctx(t), bot.url, eventsSecret, slackfake.URLVerification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != http.StatusOK || string(d.Body) != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" || d.Kind != "url_verification" {
		t.Fatalf("delivery %+v (body %q)", d, d.Body)
	}
	got := bot.received()
	if len(got) != 1 || !got[0].signatureOK || got[0].event.Type != slackevents.URLVerification ||
		got[0].contentType != "application/json" || got[0].retryNum != "" {
		t.Fatalf("bot received %+v", got)
	}
	if ds := fake.Deliveries(); len(ds) != 1 || ds[0].Status != http.StatusOK {
		t.Fatalf("recorded deliveries %+v", ds)
	}

	// Signed with another secret: the bot refuses it, and the fake records that.
	d, err = fake.PostEvent(ctx(t), bot.url, "wrong-secret", slackfake.URLVerification("x"))
	if err != nil || d.Status != http.StatusUnauthorized {
		t.Fatalf("wrongly signed: %+v %v", d, err)
	}
}

func TestEventRetriesKeepEventID(t *testing.T) {
	fake, _ := newFake(t, slackfake.Options{})
	bot := newEventsBot(t)
	bot.fail = 1
	ev := fake.AppHomeOpened(slackfake.HomeOpenedParams{UserID: "U1"})
	first, err := fake.PostEvent(ctx(t), bot.url, eventsSecret, ev)
	if err != nil || first.Status != http.StatusInternalServerError {
		t.Fatalf("first delivery %+v %v", first, err)
	}
	for _, reason := range []string{"http_error", ""} {
		if d, err := fake.RetryEvent(ctx(t), bot.url, eventsSecret, ev, reason); err != nil || d.Status != http.StatusOK {
			t.Fatalf("retry: %+v %v", d, err)
		}
	}
	got := bot.received()
	if len(got) != 3 {
		t.Fatalf("bot received %d requests, want 3", len(got))
	}
	want := []struct{ num, reason string }{{"", ""}, {"1", "http_error"}, {"2", "http_timeout"}}
	for i, r := range got {
		if !r.signatureOK || r.eventID != ev.EventID || r.eventID == "" || r.retryNum != want[i].num || r.retryReason != want[i].reason ||
			r.userAgent == "" {
			t.Errorf("request %d: %+v, want event_id %s, retry %q/%q", i, r, ev.EventID, want[i].num, want[i].reason)
		}
	}
	ds := fake.Deliveries()
	if len(ds) != 3 || ds[1].RetryNum != 1 || ds[2].RetryNum != 2 || ds[2].EventID != ev.EventID {
		t.Fatalf("recorded deliveries %+v", ds)
	}
}

// The events are what slack-go's own parser reads, with every outer field set.
func TestEventsParseWithSlackGo(t *testing.T) {
	fake, api := newFake(t, slackfake.Options{})
	at := time.Unix(1_700_000_123, 456_000_000)
	home := fake.AppHomeOpened(slackfake.HomeOpenedParams{UserID: "U1", Event: slackfake.EventParams{EventTime: at}})
	ev, err := slackevents.ParseEvent(home.Body, slackevents.OptionNoVerifyToken())
	if err != nil {
		t.Fatal(err)
	}
	cb := ev.Data.(*slackevents.EventsAPICallbackEvent)
	opened, ok := ev.InnerEvent.Data.(*slackevents.AppHomeOpenedEvent)
	if !ok || ev.Type != slackevents.CallbackEvent || ev.TeamID != fake.TeamID() || ev.APIAppID != slackfake.DefaultAppID ||
		cb.EventID != home.EventID || cb.EventTime != 1_700_000_123 || len(cb.Authorizations) != 1 ||
		cb.Authorizations[0].UserID != slackfake.DefaultBotUserID || !cb.Authorizations[0].IsBot ||
		opened.User != "U1" || opened.Tab != "home" || opened.Channel == "" || opened.View != nil ||
		opened.EventTimeStamp != "1700000123.456000" || home.EventType != "app_home_opened" {
		t.Fatalf("app_home_opened %+v / %+v / %+v", ev, cb, opened)
	}
	if dm, _ := fake.DMChannel("U1"); dm != opened.Channel {
		t.Fatalf("channel %s is not the user's DM %s", opened.Channel, dm)
	}

	// Once a Home view is published, app_home_opened carries it.
	if _, err := api.PublishViewContext(ctx(t), slack.PublishViewContextRequest{UserID: "U1", View: slack.HomeTabViewRequest{
		Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewDividerBlock()}},
	}}); err != nil {
		t.Fatal(err)
	}
	again := fake.AppHomeOpened(slackfake.HomeOpenedParams{UserID: "U1", Tab: "messages"})
	ev, err = slackevents.ParseEvent(again.Body, slackevents.OptionNoVerifyToken())
	if err != nil {
		t.Fatal(err)
	}
	opened = ev.InnerEvent.Data.(*slackevents.AppHomeOpenedEvent)
	hv, _ := fake.HomeViewOf("U1")
	if again.EventID == home.EventID || opened.Tab != "messages" || opened.View == nil || opened.View.ID != hv.ID ||
		opened.View.Hash != hv.Hash || len(opened.View.Blocks.BlockSet) != 1 {
		t.Fatalf("second app_home_opened %+v (view %+v)", opened, opened.View)
	}

	fn, exec := fake.FunctionExecuted(slackfake.FunctionParams{
		CallbackID: "collect_investigation_package",
		Inputs:     map[string]any{"device": "host-1", "requester": "U1", "channel": "C1", "comment": "IR-7"},
		Outputs:    []string{"sha256", "action_id", "file_name", "request_id"},
		Event:      slackfake.EventParams{EnterpriseID: "E1"},
	})
	ev, err = slackevents.ParseEvent(fn.Body, slackevents.OptionNoVerifyToken())
	if err != nil {
		t.Fatal(err)
	}
	fe, ok := ev.InnerEvent.Data.(*slackevents.FunctionExecutedEvent)
	if !ok || fe.Function.CallbackID != "collect_investigation_package" || fe.Inputs["device"] != "host-1" ||
		fe.Inputs["requester"] != "U1" || fe.FunctionExecutionID != exec.ID || fe.WorkflowExecutionID != exec.WorkflowExecutionID ||
		fe.BotAccessToken != exec.Token || len(fe.Function.InputParameters) != 4 || len(fe.Function.OutputParameters) != 4 ||
		ev.EnterpriseID != "E1" || fn.EventType != "function_executed" {
		t.Fatalf("function_executed %+v / %+v", ev, fe)
	}
	if len(exec.Token) < 20 || exec.Token[:5] != "xwfp-" || exec.State != slackfake.ExecutionRunning {
		t.Fatalf("execution %+v", exec)
	}
	// The execution's token works where the bot token does; a made-up one does not.
	if _, _, err := slack.New(exec.Token, slack.OptionAPIURL(fake.URL())).PostMessageContext(ctx(t), "C1", slack.MsgOptionText("x", false)); err != nil {
		t.Fatalf("chat.postMessage with the execution token: %v", err)
	}
	if _, err := slack.New("xwfp-made-up", slack.OptionAPIURL(fake.URL())).AuthTestContext(ctx(t)); err == nil || err.Error() != "invalid_auth" {
		t.Fatalf("made-up execution token: %v", err)
	}
}

func TestMessageActionParsesWithSlackGo(t *testing.T) {
	form := slackfake.MessageActionPayload(slackfake.ShortcutParams{
		UserID: "U1", UserName: "alice", ChannelID: "C1", ChannelName: "inc-1", MessageTS: "1700000000.000200", MessageUser: "U9",
		Text: "see 7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6a01", ResponseURL: "http://127.0.0.1/response/s",
		Blocks:      json.RawMessage(`[{"type":"section","text":{"type":"mrkdwn","text":"host-7"}}]`),
		Attachments: json.RawMessage(`[{"text":"device abc"}]`),
	})
	req, _ := http.NewRequest(http.MethodPost, "/", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	cb, err := slack.InteractionCallbackParse(req)
	if err != nil {
		t.Fatal(err)
	}
	if cb.Type != slack.InteractionTypeMessageAction || cb.CallbackID != slackfake.DefaultShortcutID || cb.TriggerID == "" ||
		cb.ResponseURL != "http://127.0.0.1/response/s" || cb.User.ID != "U1" || cb.Channel.ID != "C1" || cb.Team.ID != slackfake.DefaultTeamID ||
		cb.Message.Text != "see 7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6a01" || cb.MessageTs != "1700000000.000200" || cb.Message.User != "U9" ||
		len(cb.Message.Blocks.BlockSet) != 1 || len(cb.Message.Attachments) != 1 || cb.Message.Attachments[0].Text != "device abc" {
		t.Fatalf("message_action %+v", cb)
	}
}

func TestPostFormRecordsKind(t *testing.T) {
	fake, _ := newFake(t, slackfake.Options{})
	var gotSig bool
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		v, err := slack.NewSecretsVerifier(r.Header, eventsSecret)
		if err == nil {
			_, _ = v.Write(body)
			gotSig = v.Ensure() == nil && r.Header.Get("Content-Type") == "application/x-www-form-urlencoded"
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(ts.Close)
	d, err := fake.PostForm(ctx(t), ts.URL, eventsSecret, slackfake.MessageActionPayload(slackfake.ShortcutParams{UserID: "U1"}))
	if err != nil || d.Kind != "message_action" || d.Status != http.StatusOK || !gotSig {
		t.Fatalf("shortcut delivery %+v %v (signature ok %v)", d, err, gotSig)
	}
	d, err = fake.PostForm(ctx(t), ts.URL, eventsSecret, slackfake.CommandForm(slackfake.CommandParams{UserID: "U1"}))
	if err != nil || d.Kind != "command" {
		t.Fatalf("command delivery %+v %v", d, err)
	}
	if _, err := fake.PostForm(ctx(t), "http://127.0.0.1:1/slack/commands", eventsSecret, nil); err == nil {
		t.Fatal("post to a closed port succeeded")
	}
	ds := fake.Deliveries()
	if len(ds) != 3 || ds[2].Status != 0 || ds[2].Err == "" {
		t.Fatalf("deliveries %+v", ds)
	}
}
