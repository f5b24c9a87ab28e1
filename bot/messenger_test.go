package bot

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/mdebot/mdebot/bot/slackfake"
	"github.com/mdebot/mdebot/handlers"
)

// newMessengerEnv is a fake Slack with a member channel C1, a channel C2 the
// bot is not in, and users U1 and U2.
func newMessengerEnv(t *testing.T) (*slackfake.Server, *Slack) {
	t.Helper()
	fake := slackfake.New(slackfake.Options{})
	t.Cleanup(fake.Close)
	fake.AddChannel(slackfake.Channel{ID: "C1", Name: "inc-1", BotIsMember: true})
	fake.AddChannel(slackfake.Channel{ID: "C2", Name: "inc-private", IsPrivate: true})
	fake.AddUser(slackfake.User{ID: "U1", Name: "alice", Email: "alice@example.com"})
	fake.AddUser(slackfake.User{ID: "U2", Name: "bob"})
	return fake, newTestSlack(t, fake, nil)
}

var sample = handlers.Message{
	Header: handlers.T("Package ready"),
	Text:   handlers.T("Download: https://example.blob.core.windows.net/pkg.zip?sig=secret"),
	Fields: []handlers.Field{{Label: "Machine", Value: handlers.T("host-1")}},
}

func TestPrivate(t *testing.T) {
	tests := []struct {
		name     string
		to       func(fake *slackfake.Server) handlers.Recipient
		wantVia  slackfake.EventKind
		wantUser string
	}{
		{"ephemeral in a channel with the bot", func(f *slackfake.Server) handlers.Recipient {
			return handlers.Recipient{Channel: "C1", User: "U1", ResponseURL: f.ResponseURL("r")}
		}, slackfake.EventEphemeral, "U1"},
		{"response_url when the bot is not in the channel", func(f *slackfake.Server) handlers.Recipient {
			return handlers.Recipient{Channel: "C2", User: "U1", ResponseURL: f.ResponseURL("r")}
		}, slackfake.EventResponse, ""},
		{"DM when the response_url is gone too", func(f *slackfake.Server) handlers.Recipient {
			return handlers.Recipient{Channel: "C2", User: "U1", ResponseURL: strings.Replace(f.ResponseURL("r"), "/response/", "/response/expired-", 1)}
		}, slackfake.EventMessage, "U1"},
		{"DM when there is no channel", func(*slackfake.Server) handlers.Recipient {
			return handlers.Recipient{User: "U1"}
		}, slackfake.EventMessage, "U1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, s := newMessengerEnv(t)
			if err := s.Private(context.Background(), tt.to(fake), sample); err != nil {
				t.Fatalf("Private: %v", err)
			}
			var delivered []slackfake.Event
			for _, e := range fake.Events() {
				switch e.Kind {
				case slackfake.EventEphemeral, slackfake.EventResponse, slackfake.EventMessage:
					delivered = append(delivered, e)
				}
			}
			if len(delivered) != 1 || delivered[0].Kind != tt.wantVia {
				t.Fatalf("delivered %v, want exactly one %s", kinds(delivered), tt.wantVia)
			}
			switch e := delivered[0]; e.Kind {
			case slackfake.EventEphemeral:
				if e.Message.User != tt.wantUser || !strings.Contains(e.Message.Text, "Package ready") {
					t.Fatalf("ephemeral %+v", e.Message)
				}
			case slackfake.EventMessage:
				if e.Message.DMUser != tt.wantUser {
					t.Fatalf("message not a DM to %s: %+v", tt.wantUser, e.Message)
				}
			case slackfake.EventResponse:
				r := e.Response
				if r.ResponseType != "ephemeral" || r.ReplaceOriginal || !strings.Contains(r.Text, "Package ready") ||
					r.UnfurlLinks == nil || *r.UnfurlLinks || r.UnfurlMedia == nil || *r.UnfurlMedia {
					t.Fatalf("response_url post not a private, unfurl-free message: %+v", r)
				}
			}
		})
	}
}

func TestPrivateAllFail(t *testing.T) {
	fake, s := newMessengerEnv(t)
	fake.FailNext("conversations.open", 1, "missing_scope")
	gone := strings.Replace(fake.ResponseURL("r"), "/response/", "/response/expired-", 1)
	err := s.Private(context.Background(), handlers.Recipient{Channel: "C2", User: "U1", ResponseURL: gone}, sample)
	if err == nil || !strings.Contains(err.Error(), "not_in_channel") || !strings.Contains(err.Error(), "HTTP 404") ||
		!strings.Contains(err.Error(), "missing_scope") || strings.Contains(err.Error(), "expired-") {
		t.Fatalf("want an error naming every failed route (and not the response_url), got %v", err)
	}
	if n := len(fake.Messages()) + len(fake.Ephemerals()); n != 0 {
		t.Fatalf("%d messages delivered", n)
	}
}

func kinds(evs []slackfake.Event) []slackfake.EventKind {
	var out []slackfake.EventKind
	for _, e := range evs {
		out = append(out, e.Kind)
	}
	return out
}

// Every chat.* call carries unfurl_links=false and unfurl_media=false.
func TestUnfurlOffOnEveryMessage(t *testing.T) {
	fake, s := newMessengerEnv(t)
	ctx := context.Background()
	ts, err := s.Post(ctx, "C1", "", sample)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		run  func() error
	}{
		{"thread post", func() error { _, err := s.Post(ctx, "C1", ts, sample); return err }},
		{"update", func() error { return s.Update(ctx, "C1", ts, sample) }},
		{"ephemeral", func() error { return s.Private(ctx, handlers.Recipient{Channel: "C1", User: "U1"}, sample) }},
		{"DM", func() error { return s.DM(ctx, "", "U2", sample) }},
	}
	for _, st := range steps {
		if err := st.run(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
	}
	var msgs []slackfake.Message
	for _, e := range fake.Events() {
		if e.Message != nil {
			msgs = append(msgs, *e.Message)
		}
	}
	if len(msgs) != 5 {
		t.Fatalf("recorded %d messages, want 5", len(msgs))
	}
	for _, m := range msgs {
		if m.UnfurlLinks == nil || *m.UnfurlLinks || m.UnfurlMedia == nil || *m.UnfurlMedia {
			t.Fatalf("message %s/%s sent without unfurl_links=false and unfurl_media=false", m.Channel, m.TS)
		}
	}
}

func TestPostThreadAndUpdate(t *testing.T) {
	fake, s := newMessengerEnv(t)
	ctx := context.Background()
	approval := handlers.Message{Header: handlers.T("Approval needed"), Buttons: []handlers.Button{
		{Label: "Approve", ActionID: handlers.ActionApprove, Value: "r1"},
		{Label: "Deny", ActionID: handlers.ActionDeny, Value: "r1"},
	}}
	ts, err := s.Post(ctx, "C1", "", approval)
	if err != nil || ts == "" {
		t.Fatalf("Post: %q %v", ts, err)
	}
	reply, err := s.Post(ctx, "C1", ts, handlers.Message{Text: handlers.T("in the thread")})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, "C1", ts, handlers.Message{Header: handlers.Tf("Approved by %s", handlers.User("U2"))}); err != nil {
		t.Fatal(err)
	}
	msgs := fake.Messages()
	if len(msgs) != 2 || msgs[1].TS != reply || msgs[1].ThreadTS != ts {
		t.Fatalf("thread reply not in the thread: %+v", msgs)
	}
	if !strings.Contains(msgs[0].Text, "Approved") || strings.Contains(string(msgs[0].Blocks), "mdebot_approve") {
		t.Fatalf("update did not replace text and clear the buttons: %q %s", msgs[0].Text, msgs[0].Blocks)
	}
	if _, err := s.Post(ctx, "C2", "", sample); slackError(err) != "not_in_channel" {
		t.Fatalf("post where the bot is not a member: %v", err)
	}
}

func TestRateLimitRetried(t *testing.T) {
	tests := []struct {
		name      string
		limited   int
		wantErr   bool
		wantCalls int
	}{
		{"one 429 is waited out", 1, false, 2},
		{"two 429s are waited out", 2, false, 3},
		{"three 429s give up", 3, true, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, s := newMessengerEnv(t)
			fake.RateLimitNext("chat.postMessage", tt.limited, 0)
			_, err := s.Post(context.Background(), "C1", "", sample)
			var rl *slack.RateLimitedError
			if tt.wantErr != (err != nil) || (tt.wantErr && !errors.As(err, &rl)) {
				t.Fatalf("err %v, want error=%v (rate limited)", err, tt.wantErr)
			}
			calls := fake.Calls("chat.postMessage")
			if len(calls) != tt.wantCalls || calls[0].Error != "ratelimited" {
				t.Fatalf("fake saw %d calls (first error %q), want %d", len(calls), calls[0].Error, tt.wantCalls)
			}
			if wantMsgs := tt.wantCalls - tt.limited; len(fake.Messages()) != wantMsgs {
				t.Fatalf("%d messages posted, want %d", len(fake.Messages()), wantMsgs)
			}
		})
	}
}

func TestRateLimitWaitHonoursContext(t *testing.T) {
	fake, s := newMessengerEnv(t)
	fake.RateLimitNext("chat.postMessage", 1, time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := s.Post(ctx, "C1", "", sample); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want the context's deadline", err)
	}
}

func TestUpload(t *testing.T) {
	fake, s := newMessengerEnv(t)
	ctx := context.Background()
	thread, err := s.Post(ctx, "C1", "", handlers.Message{Header: handlers.T("Collecting")})
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 300<<10+7)
	_, _ = rand.Read(data)
	sum := sha256.Sum256(data)
	fake.RateLimitNext("files.getUploadURLExternal", 1, 0) // waited out: nothing streamed yet
	err = s.Upload(ctx, handlers.Upload{Channel: "C1", ThreadTS: thread, Filename: "pkg.zip", Title: "Investigation package",
		Size: int64(len(data)), Body: bytes.NewReader(data), Comment: "SHA-256 " + hex.EncodeToString(sum[:])})
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	ups := fake.Uploads()
	if len(ups) != 1 {
		t.Fatalf("%d uploads", len(ups))
	}
	u := ups[0]
	if u.Declared != int64(len(data)) || u.Received != int64(len(data)) || u.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("bytes differ: declared %d received %d sha %s", u.Declared, u.Received, u.SHA256)
	}
	if u.Multipart || u.ContentLength != int64(len(data)) {
		t.Fatalf("upload sent multipart=%v with Content-Length %d, want raw bytes with length %d", u.Multipart, u.ContentLength, len(data))
	}
	if !u.Completed || u.Channel != "C1" || u.ThreadTS != thread || u.Title != "Investigation package" || !strings.HasPrefix(u.InitialComment, "SHA-256 ") {
		t.Fatalf("upload not shared into the thread: %+v", u)
	}
}

func TestUploadRefused(t *testing.T) {
	data := []byte("0123456789")
	tests := []struct {
		name         string
		up           handlers.Upload
		fail         int // upload URL answers 500 this many times
		wantErr      string
		wantAnnounce bool
	}{
		{"zero size", handlers.Upload{Channel: "C1", Filename: "p.zip", Size: 0, Body: bytes.NewReader(data)}, 0, "exact byte length", false},
		{"negative size", handlers.Upload{Channel: "C1", Filename: "p.zip", Size: -1, Body: bytes.NewReader(data)}, 0, "exact byte length", false},
		{"no channel", handlers.Upload{Filename: "p.zip", Size: 10, Body: bytes.NewReader(data)}, 0, "no channel", false},
		{"body shorter than declared", handlers.Upload{Channel: "C1", Filename: "p.zip", Size: 11, Body: bytes.NewReader(data)}, 0, "ended after 10 of the declared 11", true},
		{"body longer than declared", handlers.Upload{Channel: "C1", Filename: "p.zip", Size: 9, Body: bytes.NewReader(data)}, 0, "longer than the declared 9", true},
		{"upload URL fails", handlers.Upload{Channel: "C1", Filename: "p.zip", Size: 10, Body: bytes.NewReader(data)}, 1, "500", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, s := newMessengerEnv(t)
			fake.FailUploadNext(tt.fail)
			err := s.Upload(context.Background(), tt.up)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want an error with %q", err, tt.wantErr)
			}
			if got := len(fake.Calls("files.getUploadURLExternal")) == 1; got != tt.wantAnnounce {
				t.Fatalf("getUploadURLExternal called=%v, want %v", got, tt.wantAnnounce)
			}
			if n := len(fake.Calls("files.completeUploadExternal")); n != 0 {
				t.Fatalf("completeUploadExternal called %d times after a failed stream", n)
			}
			for _, e := range fake.Events() {
				if tt.fail > 0 && e.Kind == slackfake.EventUpload {
					t.Fatal("the byte stream was sent again after the upload URL failed")
				}
			}
		})
	}
}
