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
	"slices"
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
// and returns the request id of the upload and the sign-ins' credentials
// (state, code and confirmation token of each).
func runEverything(t *testing.T, e *demo.Env) (string, []string) {
	t.Helper()
	signIns := append(confirmedLogin(t, e, demo.Alice), confirmedLogin(t, e, demo.Carol)...)
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
			if ev.Kind == slackfake.EventMessage && ev.Message.Channel == demo.ChanLink && hasButton(ev, handlers.ActionDownload) {
				inChannel = true
			}
			if ev.Kind == slackfake.EventEphemeral && ev.Message.Channel == demo.ChanPrivate && strings.Contains(ev.Message.Text, "Investigation package ready") {
				private = true
			}
		}
		return uploads == 2 && inChannel && private
	})
	time.Sleep(time.Second) // the last delivery's bookkeeping follows its message
	m := regexp.MustCompile("Request `?([0-9a-f]{16})").FindStringSubmatch(textOf(card))
	if m == nil {
		t.Fatalf("no request id on the card: %s", textOf(card))
	}
	return m[1], signIns
}

// confirmedLogin links user through the callback page's confirmation form
// (identity.require_email_match false) and returns what the browser carried.
func confirmedLogin(t *testing.T, e *demo.Env, user string) []string {
	t.Helper()
	ctx := deadline(t, 20*time.Second)
	_, page, err := e.SignIn(ctx, user)
	f, ok := demo.ParseConfirmForm(page)
	if err != nil || !ok {
		t.Fatalf("sign-in of %s: %v, no confirmation form:\n%s", user, err, page)
	}
	if status, page, err := e.Confirm(ctx, f); err != nil || status != http.StatusOK || !strings.Contains(page, "linked") {
		t.Fatalf("confirmation of %s: %d %v\n%s", user, status, err, page)
	}
	return []string{f.State, f.Code, f.CSRF}
}

// One run of every delivery mode (about a minute at Defender's 2 calls a
// minute), then what operators rely on: the request id in the logs, the
// metrics, and no secret in the logs or the database.
//
// The bot runs with http.admin_listen (the operations routes apart) and
// identity.require_email_match false (sign-ins confirmed on /auth/confirm),
// so that the audit covers those routes too.
func TestObservability(t *testing.T) {
	e, logs := start(t, demo.Options{Tune: func(c *configT) {
		c.HTTP.AdminListen = "127.0.0.1:0"
		c.Identity.RequireEmailMatch = false
	}})
	id, signIns := runEverything(t, e)
	t.Run("request id through the logs", func(t *testing.T) { requestIDThroughLogs(t, logs.String(), id) })
	t.Run("admin listener", func(t *testing.T) { adminListener(t, e) })
	t.Run("metrics", func(t *testing.T) { metricsAfterRun(t, e) })
	t.Run("secrets never leak", func(t *testing.T) { secretsNeverLeak(t, e, logs, signIns) })
}

// The admin listener serves the operations routes and nothing else; the
// main listener no longer serves /metrics.
func adminListener(t *testing.T, e *demo.Env) {
	if e.AdminURL == "" {
		t.Fatal("no admin listener")
	}
	for _, tt := range []struct {
		method, url string
		want        int
	}{
		{"GET", e.AdminURL + "/metrics", 200}, {"GET", e.AdminURL + "/healthz", 200}, {"GET", e.AdminURL + "/readyz", 200},
		{"POST", e.AdminURL + "/slack/commands", 404}, {"GET", e.AdminURL + "/auth/callback", 404}, {"POST", e.AdminURL + "/auth/confirm", 404},
		{"GET", e.BaseURL + "/metrics", 404}, {"GET", e.BaseURL + "/healthz", 200}, {"GET", e.BaseURL + "/readyz", 200},
	} {
		req, _ := http.NewRequest(tt.method, tt.url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("%s %s: %d, want %d", tt.method, tt.url, resp.StatusCode, tt.want)
		}
	}
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
	resp, err := http.Get(e.AdminURL + "/metrics")
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
		// Every delivery, link ones too, downloads the package once into the evidence store.
		`mdebot_defender_calls_total{endpoint="download",status="200"} 4`,
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
// fakes issued or the bot was given, and no sign-in state, code or
// confirmation token, appears in the logs or the raw database.
func secretsNeverLeak(t *testing.T, e *demo.Env, logs *syncBuffer, signIns []string) {
	if err := e.Stop(); err != nil { // flush and close the database
		t.Fatal(err)
	}
	var secrets []string
	secrets = append(secrets, e.Entra.IssuedTokens()...)
	secrets = append(secrets, e.MDE.IssuedPackageTokens()...)
	c := e.Config
	secrets = append(secrets, c.Slack.BotToken, c.Slack.AppToken, c.Slack.SigningSecret, c.Identity.ClientSecret, c.Store.EncryptionKey)
	secrets = append(secrets, signIns...)
	if len(signIns) != 6 || slices.Contains(signIns, "") {
		t.Fatalf("the sign-ins gave %d credentials to audit, some empty: %q", len(signIns), signIns)
	}
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
