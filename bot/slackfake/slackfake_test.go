package slackfake_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"

	"github.com/mdebot/mdebot/bot/slackfake"
)

func newFake(t *testing.T, o slackfake.Options) (*slackfake.Server, *slack.Client) {
	t.Helper()
	fake := slackfake.New(o)
	t.Cleanup(fake.Close)
	fake.AddChannel(slackfake.Channel{ID: "C1", Name: "inc-1", BotIsMember: true})
	fake.AddChannel(slackfake.Channel{ID: "C2", Name: "secret", IsPrivate: true})
	fake.AddUser(slackfake.User{ID: "U1", Name: "alice", Email: "alice@example.com"})
	return fake, client(fake, fake.BotToken(), fake.AppToken())
}

func client(fake *slackfake.Server, bot, app string) *slack.Client {
	return slack.New(bot, slack.OptionAPIURL(fake.URL()), slack.OptionAppLevelToken(app))
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestSignSlackDocumentedExample(t *testing.T) {
	body := "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	ts, sig := slackfake.Sign("8f742231b10e8888abcd99yyyzzz85a5", time.Unix(1531420618, 0), []byte(body))
	if ts != "1531420618" || sig != "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503" {
		t.Fatalf("got %s %s", ts, sig)
	}
	req, err := slackfake.SignedRequest(context.Background(), "http://127.0.0.1/slack/commands", "8f742231b10e8888abcd99yyyzzz85a5",
		[]byte(body), time.Unix(1531420618, 0))
	if err != nil || req.Header.Get("X-Slack-Signature") != sig || req.Header.Get("X-Slack-Request-Timestamp") != ts ||
		req.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || req.Method != http.MethodPost {
		t.Fatalf("signed request %v %v", req, err)
	}
}

// The builders produce what slack-go's own parsers read.
func TestBuildersParseWithSlackGo(t *testing.T) {
	form := slackfake.CommandForm(slackfake.CommandParams{ChannelID: "C1", ChannelName: "inc-1", UserID: "U1", UserName: "alice",
		Text: "get abc", ResponseURL: "http://127.0.0.1/response/x", EnterpriseID: "E1", EnterpriseName: "Org"})
	req, _ := http.NewRequest(http.MethodPost, "/", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sc, err := slack.SlashCommandParse(req)
	if err != nil {
		t.Fatal(err)
	}
	if sc.TeamID != slackfake.DefaultTeamID || sc.Command != "/mde-package" || sc.Text != "get abc" || sc.UserName != "alice" ||
		sc.EnterpriseID != "E1" || sc.TriggerID == "" || sc.APIAppID != slackfake.DefaultAppID || sc.ResponseURL != "http://127.0.0.1/response/x" {
		t.Fatalf("slash command %+v", sc)
	}

	click := slackfake.BlockActionsPayload(slackfake.ClickParams{UserID: "U2", ChannelID: "C1", MessageTS: "1.2",
		ActionID: "mdebot_approve", Value: "req-1", ResponseURL: "http://127.0.0.1/response/y"})
	req, _ = http.NewRequest(http.MethodPost, "/", strings.NewReader(click.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	cb, err := slack.InteractionCallbackParse(req)
	if err != nil {
		t.Fatal(err)
	}
	acts := cb.ActionCallback.BlockActions
	if cb.Type != slack.InteractionTypeBlockActions || cb.User.ID != "U2" || cb.Team.ID != slackfake.DefaultTeamID ||
		cb.Channel.ID != "C1" || cb.Container.MessageTs != "1.2" || len(acts) != 1 || acts[0].ActionID != "mdebot_approve" ||
		acts[0].Value != "req-1" || cb.ResponseURL != "http://127.0.0.1/response/y" || cb.TriggerID == "" {
		t.Fatalf("interaction %+v", cb)
	}
}

func TestTokens(t *testing.T) {
	fake, _ := newFake(t, slackfake.Options{})
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"bot token", func() error { _, err := client(fake, fake.BotToken(), "").AuthTestContext(ctx(t)); return err }, ""},
		{"wrong bot token", func() error { _, err := client(fake, "xoxb-wrong", "").AuthTestContext(ctx(t)); return err }, "invalid_auth"},
		{"no token", func() error { _, err := client(fake, "", "").AuthTestContext(ctx(t)); return err }, "not_authed"},
		{"app token opens a socket", func() error {
			_, _, err := client(fake, fake.BotToken(), fake.AppToken()).StartSocketModeContext(ctx(t))
			return err
		}, ""},
		{"bot token cannot open a socket", func() error {
			_, _, err := client(fake, fake.BotToken(), fake.BotToken()).StartSocketModeContext(ctx(t))
			return err
		}, "invalid_auth"},
		{"app token cannot post", func() error {
			_, _, err := client(fake, fake.AppToken(), "").PostMessageContext(ctx(t), "C1", slack.MsgOptionText("x", false))
			return err
		}, "invalid_auth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if (tt.want == "") != (err == nil) || (err != nil && err.Error() != tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
	for _, c := range fake.Calls("") {
		if c.Params.Has("token") {
			t.Fatalf("token recorded in %s", c.Method)
		}
	}
}

func TestMessages(t *testing.T) {
	fake, api := newFake(t, slackfake.Options{})
	c := ctx(t)
	text := slack.MsgOptionText("hello", false)
	_, ts, err := api.PostMessageContext(c, "C1", text, slack.MsgOptionDisableLinkUnfurl(), slack.MsgOptionDisableMediaUnfurl(),
		slack.MsgOptionBlocks(slack.NewSectionBlock(slack.NewTextBlockObject("mrkdwn", "*hi*", false, false), nil, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.PostMessageContext(c, "C1", text, slack.MsgOptionTS(ts)); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := api.UpdateMessageContext(c, "C1", ts, slack.MsgOptionText("edited", false), slack.MsgOptionBlocks()); err != nil {
		t.Fatal(err)
	}
	if _, err := api.PostEphemeralContext(c, "C1", "U1", text); err != nil {
		t.Fatal(err)
	}
	ch, _, _, err := api.OpenConversationContext(c, &slack.OpenConversationParameters{Users: []string{"U1"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.PostMessageContext(c, ch.ID, text); err != nil {
		t.Fatal(err)
	}

	msgs := fake.Messages()
	if len(msgs) != 3 {
		t.Fatalf("%d messages", len(msgs))
	}
	first := msgs[0]
	if first.Text != "edited" || string(first.Blocks) != "[]" || first.UnfurlLinks != nil {
		t.Fatalf("first message after an update without blocks or unfurl flags: %+v", first)
	}
	posted := fake.Events()[0].Message
	if posted.Text != "hello" || !strings.Contains(string(posted.Blocks), "*hi*") || *posted.UnfurlLinks || *posted.UnfurlMedia {
		t.Fatalf("first message as posted: %+v", posted)
	}
	if msgs[1].ThreadTS != ts || msgs[1].UnfurlLinks != nil {
		t.Fatalf("thread reply %+v", msgs[1])
	}
	if msgs[2].DMUser != "U1" || msgs[2].Channel != ch.ID {
		t.Fatalf("DM %+v", msgs[2])
	}
	if e := fake.Ephemerals(); len(e) != 1 || e[0].User != "U1" || !e[0].Ephemeral {
		t.Fatalf("ephemerals %+v", e)
	}
	if u := fake.Updates(); len(u) != 1 || u[0].Text != "edited" {
		t.Fatalf("updates %+v", u)
	}

	refusals := []struct {
		name string
		call func() error
		want string
	}{
		{"post where the bot is not a member", func() error { _, _, err := api.PostMessageContext(c, "C2", text); return err }, "not_in_channel"},
		{"post to an unknown channel", func() error { _, _, err := api.PostMessageContext(c, "C404", text); return err }, "channel_not_found"},
		{"ephemeral where the bot is not a member", func() error { _, err := api.PostEphemeralContext(c, "C2", "U1", text); return err }, "not_in_channel"},
		{"ephemeral to an unknown user", func() error { _, err := api.PostEphemeralContext(c, "C1", "U404", text); return err }, "user_not_found"},
		{"update of an unknown message", func() error { _, _, _, err := api.UpdateMessageContext(c, "C1", "1.2", text); return err }, "message_not_found"},
		{"post without text", func() error { _, _, err := api.PostMessageContext(c, "C1"); return err }, "no_text"},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); err == nil || err.Error() != tt.want {
				t.Fatalf("got %v, want %s", err, tt.want)
			}
		})
	}
}

func TestDirectory(t *testing.T) {
	fake, api := newFake(t, slackfake.Options{})
	fake.AddGroup("S1", "U1", "U2")
	c := ctx(t)
	u, err := api.GetUserInfoContext(c, "U1")
	if err != nil || u.Profile.Email != "alice@example.com" || u.Name != "alice" {
		t.Fatalf("users.info %+v %v", u, err)
	}
	members, err := api.GetUserGroupMembersContext(c, "S1")
	if err != nil || strings.Join(members, ",") != "U1,U2" {
		t.Fatalf("usergroups.users.list %v %v", members, err)
	}
	ch, err := api.GetConversationInfoContext(c, &slack.GetConversationInfoInput{ChannelID: "C2"})
	if err != nil || ch.Name != "secret" || !ch.IsPrivate || ch.IsMember {
		t.Fatalf("conversations.info %+v %v", ch, err)
	}
}

func TestUpload(t *testing.T) {
	fake, api := newFake(t, slackfake.Options{KeepUploadBytes: 16})
	data := bytes.Repeat([]byte("0123456789"), 100)
	sum := sha256.Sum256(data)
	_, ts, _ := api.PostMessageContext(ctx(t), "C1", slack.MsgOptionText("thread", false))
	f, err := api.UploadFileContext(ctx(t), slack.UploadFileParameters{Reader: bytes.NewReader(data), FileSize: len(data),
		Filename: "pkg.zip", Title: "Package", Channel: "C1", ThreadTimestamp: ts, InitialComment: "here"})
	if err != nil {
		t.Fatal(err)
	}
	ups := fake.Uploads()
	if len(ups) != 1 || ups[0].FileID != f.ID {
		t.Fatalf("uploads %+v", ups)
	}
	u := ups[0]
	if u.Received != 1000 || u.Declared != 1000 || u.SHA256 != hex.EncodeToString(sum[:]) || string(u.Bytes) != "0123456789012345" ||
		!u.Completed || u.Channel != "C1" || u.ThreadTS != ts || u.Title != "Package" || u.InitialComment != "here" {
		t.Fatalf("upload %+v", u)
	}
	if got := fake.Calls("files.getUploadURLExternal")[0].Params.Get("length"); got != "1000" {
		t.Fatalf("declared length %s", got)
	}
}

func TestUploadFaults(t *testing.T) {
	tests := []struct {
		name    string
		declare int
		send    []byte
		failUp  int
		wantErr string
	}{
		{"fewer bytes than declared", 10, []byte("12345"), 0, "file_upload_incomplete"},
		{"more bytes than declared", 3, []byte("12345"), 0, "file_upload_incomplete"},
		{"upload URL fails", 5, []byte("12345"), 1, "500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, api := newFake(t, slackfake.Options{})
			fake.FailUploadNext(tt.failUp)
			c := ctx(t)
			u, err := api.GetUploadURLExternalContext(c, slack.GetUploadURLExternalParameters{FileName: "p.zip", FileSize: tt.declare})
			if err != nil {
				t.Fatal(err)
			}
			err = api.UploadToURL(c, slack.UploadToURLParameters{UploadURL: u.UploadURL, Reader: bytes.NewReader(tt.send), Filename: "p.zip"})
			if err == nil {
				_, err = api.CompleteUploadExternalContext(c, slack.CompleteUploadExternalParameters{
					Files: []slack.FileSummary{{ID: u.FileID}}, Channel: "C1"})
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestFaults(t *testing.T) {
	fake, api := newFake(t, slackfake.Options{})
	fake.RateLimitNext("auth.test", 1, 1500*time.Millisecond)
	fake.FailNext("auth.test", 1, "team_added_to_org")
	_, err := api.AuthTestContext(ctx(t))
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != 2*time.Second {
		t.Fatalf("first call: %v, want a 429 with Retry-After 2", err)
	}
	if _, err := api.AuthTestContext(ctx(t)); err == nil || err.Error() != "team_added_to_org" {
		t.Fatalf("second call: %v", err)
	}
	if _, err := api.AuthTestContext(ctx(t)); err != nil {
		t.Fatalf("third call: %v", err)
	}
	calls := fake.Calls("auth.test")
	if len(calls) != 3 || calls[0].Error != "ratelimited" || calls[1].Error != "team_added_to_org" || calls[2].Error != "" {
		t.Fatalf("calls %+v", calls)
	}
}

func TestResponseURL(t *testing.T) {
	fake, _ := newFake(t, slackfake.Options{})
	u := fake.ResponseURL("cmd-1")
	post := func(target string) int {
		resp, err := http.Post(target, "application/json", strings.NewReader(`{"text":"hi","replace_original":false,"unfurl_links":false}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := range 5 {
		if s := post(u); s != http.StatusOK {
			t.Fatalf("post %d: %d", i+1, s)
		}
	}
	if s := post(u); s != http.StatusNotFound {
		t.Fatalf("6th post: %d, want 404 (used_url)", s)
	}
	if s := post(u + "x"); s != http.StatusNotFound {
		t.Fatalf("unknown URL: %d", s)
	}
	posts := fake.ResponsePosts()
	if len(posts) != 5 || posts[0].ID != "cmd-1" || posts[0].ResponseType != "ephemeral" || posts[0].Text != "hi" || *posts[0].UnfurlLinks {
		t.Fatalf("posts %+v", posts)
	}
}

func TestWaitForAndOnEvent(t *testing.T) {
	var seen atomic.Int32
	fake, api := newFake(t, slackfake.Options{OnEvent: func(e slackfake.Event) {
		if e.Kind == slackfake.EventMessage {
			seen.Add(1)
		}
	}})
	go func() {
		_, _, _ = api.PostMessageContext(context.Background(), "C1", slack.MsgOptionText("later", false))
	}()
	e, err := fake.WaitFor(ctx(t), func(e slackfake.Event) bool { return e.Kind == slackfake.EventMessage && e.Message.Text == "later" })
	if err != nil || e.Message.Channel != "C1" {
		t.Fatalf("WaitFor: %+v %v", e, err)
	}
	if seen.Load() != 1 {
		t.Fatalf("OnEvent saw %d messages", seen.Load())
	}
	short, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := fake.WaitFor(short, func(slackfake.Event) bool { return false }); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitFor without a match: %v", err)
	}
}

// envelope is a Socket Mode envelope as a client reads it.
type envelope struct {
	EnvelopeID             string          `json:"envelope_id"`
	Type                   string          `json:"type"`
	Payload                json.RawMessage `json:"payload"`
	AcceptsResponsePayload bool            `json:"accepts_response_payload"`
	RetryAttempt           int             `json:"retry_attempt"`
	RetryReason            string          `json:"retry_reason"`
}

// dialSocket opens a raw Socket Mode WebSocket and reads the hello.
func dialSocket(t *testing.T, api *slack.Client) *websocket.Conn {
	t.Helper()
	_, wsURL, err := api.StartSocketModeContext(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := websocket.DefaultDialer.DialContext(ctx(t), wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	var hello map[string]any
	if err := c.ReadJSON(&hello); err != nil || hello["type"] != "hello" {
		t.Fatalf("hello %v %v", hello, err)
	}
	return c
}

// Speaks Socket Mode with a raw WebSocket: hello, envelope shape, redelivery
// after a drop before the ack, and the ack payload returned.
func TestSocketProtocol(t *testing.T) {
	fake, api := newFake(t, slackfake.Options{})
	dial := func() *websocket.Conn { return dialSocket(t, api) }
	result := make(chan json.RawMessage, 1)
	go func() {
		p, err := fake.SendSlashCommand(ctx(t), slackfake.CommandParams{ChannelID: "C1", UserID: "U1", Text: "help"})
		if err != nil {
			p = json.RawMessage(`"error: ` + err.Error() + `"`)
		}
		result <- p
	}()

	c1 := dial()
	var env envelope
	if err := c1.ReadJSON(&env); err != nil {
		t.Fatal(err)
	}
	var sc slack.SlashCommand
	if err := json.Unmarshal(env.Payload, &sc); err != nil || env.Type != "slash_commands" || !env.AcceptsResponsePayload ||
		env.RetryAttempt != 0 || sc.Text != "help" || sc.ResponseURL == "" {
		t.Fatalf("envelope %+v / %+v %v", env, sc, err)
	}
	c1.Close() // dropped before the ack: Slack delivers again

	c2 := dial()
	defer c2.Close()
	var again envelope
	if err := c2.ReadJSON(&again); err != nil || again.EnvelopeID != env.EnvelopeID || again.RetryAttempt != 1 {
		t.Fatalf("redelivery %+v %v", again, err)
	}
	if err := c2.WriteJSON(map[string]any{"envelope_id": again.EnvelopeID, "payload": map[string]string{"text": "usage"}}); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-result:
		if string(p) != `{"text":"usage"}` {
			t.Fatalf("ack payload %s", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no ack result")
	}
	if _, err := fake.WaitFor(ctx(t), func(slackfake.Event) bool { return fake.Connections() == 1 }); err != nil {
		t.Fatalf("%d live connections, want 1", fake.Connections())
	}
}
