package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mdebot/mdebot/bot/slackfake"
	"github.com/mdebot/mdebot/demo"
	"github.com/mdebot/mdebot/handlers"
	"github.com/mdebot/mdebot/mde"
	"github.com/mdebot/mdebot/mde/mdetest"
)

// runEverything drives every delivery mode, an approval and a collection,
// and returns the request id of the upload.
func runEverything(t *testing.T, e *demo.Env) string {
	t.Helper()
	login(t, e, demo.Alice)
	login(t, e, demo.Carol)
	mark := e.Mark()
	up := addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f9a01", mdetest.Step{Status: mde.StatusInProgress, Polls: 1}, mdetest.Step{Status: mde.StatusSucceeded})
	command(t, e, demo.Alice, demo.ChanUpload, up)
	card := waitEvent(t, e, mark, "the upload card", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventMessage && ev.Message.Channel == demo.ChanUpload
	})
	waitEvent(t, e, mark, "the upload", func(ev slackfake.Event) bool { return ev.Kind == slackfake.EventFileShared })
	command(t, e, demo.Carol, demo.ChanLink, addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f9a02"))
	command(t, e, demo.Alice, demo.ChanPrivate, addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f9a03"))
	msg, req := askForApproval(t, e, addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f9a04"))
	click(t, e, demo.Bob, msg, handlers.ActionApprove, req)
	// Four different actions at 2 getPackageUri calls a minute: about a minute.
	waitUntil(t, 3*time.Minute, "four deliveries", func() bool {
		uploads := 0
		for _, u := range e.Slack.Uploads() {
			if u.Completed {
				uploads++
			}
		}
		inChannel, private := false, false
		for _, ev := range e.Slack.Events() {
			if ev.Kind == slackfake.EventMessage && ev.Message.Channel == demo.ChanLink && strings.Contains(ev.Message.Text, "download now") {
				inChannel = true
			}
			if ev.Kind == slackfake.EventEphemeral && ev.Message.Channel == demo.ChanPrivate && strings.Contains(ev.Message.Text, "download now") {
				private = true
			}
		}
		return uploads == 2 && inChannel && private
	})
	time.Sleep(time.Second) // the last delivery's bookkeeping follows its message
	m := regexp.MustCompile(`Request ([0-9a-f]{16})`).FindStringSubmatch(textOf(card))
	if m == nil {
		t.Fatalf("no request id on the card: %s", textOf(card))
	}
	return m[1]
}

// One run of every delivery mode (about a minute at Defender's 2 calls a
// minute), then what operators rely on: the request id in the logs, the
// metrics, and no secret in the logs or the database.
func TestObservability(t *testing.T) {
	e, logs := start(t, demo.Options{})
	id := runEverything(t, e)
	t.Run("request id through the logs", func(t *testing.T) { requestIDThroughLogs(t, logs.String(), id) })
	t.Run("metrics", func(t *testing.T) { metricsAfterRun(t, e) })
	t.Run("secrets never leak", func(t *testing.T) { secretsNeverLeak(t, e, logs) })
}

// One request id runs through the logs from the Slack request to the delivery.
func requestIDThroughLogs(t *testing.T, logs, id string) {
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) != nil || line["request_id"] != id {
			continue
		}
		key, _ := line["msg"].(string)
		if ev, ok := line["event"].(string); ok {
			key = ev
		}
		seen[key] = true
	}
	for _, step := range []string{"command received", "request.created", "action.succeeded", "package.uri", "delivery.upload"} {
		if !seen[step] {
			t.Errorf("no log line for %q with request_id %s (seen: %v)", step, id, seen)
		}
	}
}

// After a run, /metrics shows what operators watch.
func metricsAfterRun(t *testing.T, e *demo.Env) {
	resp, err := http.Get(e.BaseURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(body)
	for _, want := range []string{
		`mdebot_commands_total{kind="get",outcome="ok"} 4`,
		`mdebot_commands_total{kind="login",outcome="ok"} 2`,
		`mdebot_ack_seconds_count{kind="command"}`,
		`mdebot_ack_seconds_count{kind="interaction"}`,
		`mdebot_defender_calls_total{endpoint="getPackageUri",status="200"} 4`,
		`mdebot_defender_calls_total{endpoint="getMachineAction",status="200"}`,
		`mdebot_defender_calls_total{endpoint="download",status="200"} 2`,
		`mdebot_deliveries_total{mode="upload",outcome="ok"} 2`,
		`mdebot_deliveries_total{mode="link",outcome="ok"} 1`,
		`mdebot_deliveries_total{mode="link_in_channel",outcome="ok"} 1`,
		`mdebot_limiter_queue_length`,
		`mdebot_limiter_wait_seconds_count`,
		`mdebot_approvals_pending 0`,
		`mdebot_job_failures_total{job="fetch"} 0`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if !strings.Contains(text, "mdebot_delivered_bytes_total "+strconv.FormatInt(2*e.MDE.PackageBytes(), 10)+"\n") {
		t.Errorf("delivered bytes not %d:\n%s", 2*e.MDE.PackageBytes(), grep(text, "delivered_bytes"))
	}
}

// Secrets audit: no token, package link credential or configured secret the
// fakes issued or the bot was given appears in the logs or the raw database.
func secretsNeverLeak(t *testing.T, e *demo.Env, logs *syncBuffer) {
	if err := e.Stop(); err != nil { // flush and close the database
		t.Fatal(err)
	}
	var secrets []string
	secrets = append(secrets, e.Entra.IssuedTokens()...)
	secrets = append(secrets, e.MDE.IssuedPackageTokens()...)
	c := e.Config
	secrets = append(secrets, c.Slack.BotToken, c.Slack.AppToken, c.Slack.SigningSecret, c.Identity.ClientSecret, c.Store.EncryptionKey)
	if len(e.Entra.IssuedTokens()) < 4 || len(e.MDE.IssuedPackageTokens()) != 4 {
		t.Fatalf("the run issued too few secrets to audit: %d tokens, %d package links", len(e.Entra.IssuedTokens()), len(e.MDE.IssuedPackageTokens()))
	}
	haystacks := map[string][]byte{"logs": []byte(logs.String())}
	files, _ := filepath.Glob(filepath.Join(e.Dir, "mdebot.db*"))
	if len(files) == 0 {
		t.Fatal("no database files to search")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		haystacks[filepath.Base(f)] = b
	}
	if len(haystacks["logs"]) < 10000 {
		t.Fatalf("only %d bytes of logs captured", len(haystacks["logs"]))
	}
	for name, hay := range haystacks {
		for _, s := range secrets {
			if s != "" && bytes.Contains(hay, []byte(s)) {
				t.Errorf("%s holds a secret (%.12s…)", name, s)
			}
		}
	}
}

func grep(text, word string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// waitUntil polls cond until it holds or d passes.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("waited %s in vain for %s", d, what)
		}
	}
}
