package bot

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/mdebot/mdebot/bot/slackfake"
	"github.com/mdebot/mdebot/handlers"
)

// BenchmarkHTTPAck measures a signed slash command through the real HTTP
// server to its acknowledgement (verification, parsing, handler, rendering).
func BenchmarkHTTPAck(b *testing.B) {
	env := newHTTPEnv(b, nil)
	env.h.setCommand(func(c handlers.Command) handlers.Ack {
		return handlers.Ack{Reply: &handlers.Message{Header: handlers.T("Status of " + c.Text), Text: handlers.T("Looking it up."),
			Fields: []handlers.Field{{Label: "Action", Value: handlers.T(c.Text)}}}}
	})
	body := []byte(slackfake.CommandForm(env.command("status 7c2a1c4e-1c8a-4b7e-9f57-0a3c5d6e7f80")).Encode())
	client := &http.Client{}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req, err := slackfake.SignedRequest(context.Background(), env.url+"/slack/commands", testSecret, body, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.Contains(out, []byte("Looking it up.")) {
			b.Fatalf("ack %d %s", resp.StatusCode, out)
		}
	}
}
