package bot

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mdebot/mdebot/bot/slackfake"
	"github.com/mdebot/mdebot/handlers"
	"github.com/mdebot/mdebot/store"
)

// A signed request is acted on once during its window, across replicas
// sharing one store: the same bytes posted twice at once, again later, and
// to a second replica give one command; every copy gets an HTTP 200, the
// duplicates an empty body.
func TestHTTPReplayActedOnce(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, store.DriverSQLite, "file:"+filepath.Join(t.TempDir(), "replay.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	replicas := []*httpEnv{
		newHTTPEnv(t, func(o *Options) { o.Replays = db }),
		newHTTPEnv(t, func(o *Options) { o.Replays = db }),
	}
	for _, env := range replicas {
		env.h.setCommand(func(handlers.Command) handlers.Ack {
			return handlers.Ack{Reply: &handlers.Message{Header: handlers.T("Looking up")}}
		})
	}
	body := []byte(slackfake.CommandForm(replicas[0].command("7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6a01")).Encode())
	ts, sig := slackfake.Sign(testSecret, time.Now(), body)
	post := func(env *httpEnv) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, env.url+"/slack/commands", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Slack-Request-Timestamp", ts)
		req.Header.Set("X-Slack-Signature", sig)
		return do(t, req)
	}
	type answer struct {
		status int
		body   string
	}
	var (
		mu      sync.Mutex
		answers []answer
		wg      sync.WaitGroup
	)
	for _, env := range []*httpEnv{replicas[0], replicas[0], replicas[1]} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, b := post(env)
			mu.Lock()
			answers = append(answers, answer{st, b})
			mu.Unlock()
		}()
	}
	wg.Wait()
	st, b := post(replicas[1]) // again, later
	answers = append(answers, answer{st, b})

	replies := 0
	for _, a := range answers {
		if a.status != http.StatusOK {
			t.Errorf("status %d, want 200 for every copy", a.status)
		}
		if a.body != "" {
			replies++
		}
	}
	commands := len(replicas[0].h.Commands()) + len(replicas[1].h.Commands())
	if commands != 1 || replies != 1 {
		t.Fatalf("%d commands and %d replies for 4 copies of one signed request, want 1 and 1", commands, replies)
	}

	// A different signed request (a new timestamp) is acted on.
	if st, _ := replicas[1].send(t, "/slack/commands", slackfake.CommandForm(replicas[1].command("help"))); st != http.StatusOK || len(replicas[1].h.Commands())+len(replicas[0].h.Commands()) != 2 {
		t.Fatalf("a fresh request after the replays: status %d, commands %d", st, len(replicas[1].h.Commands())+len(replicas[0].h.Commands()))
	}
}
