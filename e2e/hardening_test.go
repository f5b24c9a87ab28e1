package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mdebot/mdebot/bot/slackfake"
	"github.com/mdebot/mdebot/demo"
	"github.com/mdebot/mdebot/handlers"
	"github.com/mdebot/mdebot/identity/entratest"
)

// foreignHook is a listener the bot must never post to: its URLs name
// localhost, which is not the 127.0.0.1 the demo lists in slack.callback_hosts.
func foreignHook(t *testing.T) (url string, hits *atomic.Int32) {
	t.Helper()
	hits = &atomic.Int32{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(ts.Close)
	return strings.Replace(ts.URL, "127.0.0.1", "localhost", 1) + "/actions/secret-path?token=t0k3n", hits
}

// A forged command or click whose response_url names a host outside
// slack.callback_hosts: nothing is posted there, the user is still told
// (by DM when the ephemeral message fails too), and the log names the host
// without the path.
func TestForeignResponseURLNeverContacted(t *testing.T) {
	e, logs := start(t, demo.Options{})
	hook, hits := foreignHook(t)

	mark := e.Mark()
	e.Slack.FailNext("chat.postEphemeral", 1, "channel_not_found") // Private would fall back to the response_url
	a, err := e.PostSigned(deadline(t, 10*time.Second), "/slack/commands", slackfake.CommandForm(slackfake.CommandParams{
		TeamID: e.Slack.TeamID(), ChannelID: demo.ChanRandom, ChannelName: "random", UserID: demo.Carol, UserName: "carol",
		Command: e.Config.Slack.Command, Text: "help", ResponseURL: hook,
	}))
	if err != nil || a.Status != http.StatusOK {
		t.Fatalf("command: %v %+v", err, a)
	}
	dm := waitEvent(t, e, mark, "help by DM", privateTo(demo.Carol, "login"))
	if dm.Kind != slackfake.EventMessage {
		t.Fatalf("help came as %s, want a DM", dm.Kind)
	}

	mark = e.Mark()
	e.Slack.FailNext("chat.postEphemeral", 1, "channel_not_found")
	a, err = e.PostSigned(deadline(t, 10*time.Second), "/slack/interactivity", slackfake.BlockActionsPayload(slackfake.ClickParams{
		TeamID: e.Slack.TeamID(), UserID: demo.Carol, UserName: "carol", ChannelID: demo.ChanApproval, ChannelName: "ir-approvals",
		MessageTS: "1700000000.000100", ActionID: handlers.ActionApprove, Value: "0123456789abcdef", ResponseURL: hook,
	}))
	if err != nil || a.Status != http.StatusOK {
		t.Fatalf("click: %v %+v", err, a)
	}
	waitEvent(t, e, mark, "the click's answer by DM", privateTo(demo.Carol, "does not exist"))

	time.Sleep(500 * time.Millisecond) // room for a wrong post to land
	if n := hits.Load(); n != 0 {
		t.Fatalf("the foreign response_url received %d posts", n)
	}
	out := logs.String()
	if strings.Count(out, "response_url refused") < 2 || !strings.Contains(out, `"host":"localhost:`) {
		t.Fatalf("the refusals are not logged with their host:\n%s", grep(out, "response_url"))
	}
	if strings.Contains(out, "secret-path") || strings.Contains(out, "t0k3n") {
		t.Fatal("the log holds the refused URL's path or query")
	}
}

// 50 connections that send headers and then trickle their body are all cut
// off by http.read_timeout, while a signed command is acknowledged at once.
// A functional check of the timeouts: bounds are generous, not a benchmark.
func TestTricklingBodiesAreCutOff(t *testing.T) {
	const readTimeout = 2 * time.Second
	e, _ := start(t, demo.Options{Tune: func(c *configT) { c.HTTP.ReadTimeout = readTimeout }})
	addr := strings.TrimPrefix(e.BaseURL, "http://")

	const conns = 50
	closedAfter := make([]time.Duration, conns)
	var readers, writers sync.WaitGroup
	stop := make(chan struct{})
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		defer c.Close()
		begin := time.Now()
		fmt.Fprintf(c, "POST /slack/commands HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 4096\r\n\r\n", addr)
		writers.Go(func() { // a byte every 100 ms, until the server hangs up
			for {
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
				}
				if _, err := c.Write([]byte("a")); err != nil {
					return
				}
			}
		})
		readers.Go(func() {
			_ = c.SetReadDeadline(begin.Add(readTimeout + 20*time.Second))
			_, _ = io.Copy(io.Discard, c) // returns when the server closes
			closedAfter[i] = time.Since(begin)
		})
	}

	t0 := time.Now()
	command(t, e, demo.Dave, demo.ChanRandom, "help")
	ack := time.Since(t0)
	readers.Wait()
	close(stop)
	writers.Wait()

	var worst time.Duration
	for i, d := range closedAfter {
		if d >= readTimeout+20*time.Second {
			t.Fatalf("connection %d was not closed by the server (after %s)", i, d)
		}
		worst = max(worst, d)
	}
	t.Logf("help acknowledged in %s; %d trickling connections closed after at most %s (read timeout %s)", ack, conns, worst, readTimeout)
	if ack > 3*time.Second {
		t.Errorf("help acknowledged after %s with %d trickling connections open, want within 3 s", ack, conns)
	}
	if worst > readTimeout+5*time.Second {
		t.Errorf("a trickling connection stayed open %s, want about the read timeout (%s)", worst, readTimeout)
	}
}

// whoami asks who user is linked to and returns the private answer's text.
func whoami(t *testing.T, e *demo.Env, user string) string {
	t.Helper()
	mark := e.Mark()
	command(t, e, user, demo.ChanRandom, "whoami")
	return textOf(waitEvent(t, e, mark, "the whoami answer", privateTo(user)))
}

// With identity.require_email_match false, the callback page names the
// Slack user and workspace and links nothing; only its form, with the token
// of that very sign-in, links, once.
func TestSignInConfirmation(t *testing.T) {
	e, _ := start(t, demo.Options{Tune: func(c *configT) { c.Identity.RequireEmailMatch = false }})
	ctx := deadline(t, time.Minute)
	status, page, err := e.SignIn(ctx, demo.Alice)
	if err != nil || status != http.StatusOK {
		t.Fatalf("callback: %d %v\n%s", status, err, page)
	}
	form, ok := demo.ParseConfirmForm(page)
	if !ok || form.CSRF == "" || form.State == "" || form.Code == "" {
		t.Fatalf("no confirmation form on the callback page:\n%s", page)
	}
	for _, w := range []string{"alice", demo.Alice, "fake", e.Slack.TeamID()} {
		if !strings.Contains(page, w) {
			t.Errorf("the confirmation page does not name %q:\n%s", w, page)
		}
	}
	if text := whoami(t, e, demo.Alice); !strings.Contains(text, "not linked") {
		t.Fatalf("linked before the confirmation: %s", text)
	}

	_, carolPage, err := e.SignIn(ctx, demo.Carol)
	carol, ok := demo.ParseConfirmForm(carolPage)
	if err != nil || !ok {
		t.Fatalf("Carol's callback: %v\n%s", err, carolPage)
	}
	for name, tok := range map[string]string{"without the token": "", "with another sign-in's token": carol.CSRF} {
		status, page, err := e.Confirm(ctx, demo.ConfirmForm{State: form.State, Code: form.Code, CSRF: tok})
		if err != nil || status != http.StatusBadRequest || !strings.Contains(page, "not linked") {
			t.Fatalf("confirmation %s: %d %v\n%s", name, status, err, page)
		}
		if text := whoami(t, e, demo.Alice); !strings.Contains(text, "not linked") {
			t.Fatalf("a confirmation %s linked: %s", name, text)
		}
	}

	status, page, err = e.Confirm(ctx, form)
	if err != nil || status != http.StatusOK || !strings.Contains(page, "Account linked") {
		t.Fatalf("confirmation: %d %v\n%s", status, err, page)
	}
	if text := whoami(t, e, demo.Alice); !strings.Contains(text, "alice@contoso.com") {
		t.Fatalf("not linked after the confirmation: %s", text)
	}
	if status, page, _ := e.Confirm(ctx, form); status != http.StatusBadRequest {
		t.Fatalf("the same form twice: %d\n%s", status, page)
	}
}

// deviceCodeRE finds the code in the device-code sign-in prompt.
var deviceCodeRE = regexp.MustCompile("enter the code `([^`]+)`")

// loginByDevice runs login as user and returns the code the prompt shows.
func loginByDevice(t *testing.T, e *demo.Env, user string) string {
	t.Helper()
	mark := e.Mark()
	command(t, e, user, demo.ChanRandom, "login")
	ev := waitEvent(t, e, mark, "the device-code prompt", privateTo(user, "enter the code"))
	m := deviceCodeRE.FindStringSubmatch(textOf(ev))
	if m == nil {
		t.Fatalf("no code in the prompt: %s", textOf(ev))
	}
	return m[1]
}

// 20 device-code sign-ins waiting (up to 15 minutes each) leave a 21st
// user's help and an approver's click answered at once.
func TestPendingDeviceLoginsStarveNothing(t *testing.T) {
	e, _ := start(t, demo.Options{Tune: func(c *configT) { c.Identity.Flow = "device_code" }})
	mark := e.Mark()
	if err := e.Entra.ApproveDevice(loginByDevice(t, e, demo.Alice), "alice@contoso.com"); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, e, mark, "Alice linked", privateTo(demo.Alice, "Microsoft account linked"))
	msg, req := askForApproval(t, e, addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6e01"))

	var codes []string
	for i := range 20 {
		u := fmt.Sprintf("U0LOAD%03d", i)
		email := fmt.Sprintf("load%03d@contoso.com", i)
		e.Slack.AddUser(slackfake.User{ID: u, Name: "load" + u, Email: email})
		e.Entra.AddUser(entratest.User{Username: email, Email: email})
		codes = append(codes, loginByDevice(t, e, u))
	}

	t0 := time.Now()
	mark = e.Mark()
	command(t, e, demo.Dave, demo.ChanRandom, "help")
	waitEventFor(t, e, mark, 10*time.Second, "Dave's help", privateTo(demo.Dave, "login"))
	helpAfter := time.Since(t0)

	t0 = time.Now()
	mark = e.Mark()
	click(t, e, demo.Bob, msg, handlers.ActionApprove, req)
	waitEventFor(t, e, mark, 10*time.Second, "the approval recorded", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventUpdate && ev.Message.TS == msg.Message.TS && strings.Contains(textOf(ev), "approved by <@"+demo.Bob+">")
	})
	clickAfter := time.Since(t0)
	t.Logf("with 20 device-code sign-ins pending: help answered in %s, the approval in %s", helpAfter, clickAfter)
	if helpAfter > 5*time.Second || clickAfter > 5*time.Second {
		t.Errorf("help answered after %s and the click after %s, want both within 5 s", helpAfter, clickAfter)
	}

	// The waits are alive all along: the last of them still links.
	mark = e.Mark()
	if err := e.Entra.ApproveDevice(codes[19], "load019@contoso.com"); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, e, mark, "the 20th user linked", privateTo("U0LOAD019", "Microsoft account linked"))
}

// The callback page says what went wrong in fixed words: nothing of the
// URL's error_description (or error) is shown on the bot's origin.
func TestCallbackShowsNoTextFromTheURL(t *testing.T) {
	e, _ := start(t, demo.Options{})
	for _, tt := range []struct{ errCode, want string }{
		{"access_denied", "cancelled"},
		{"<b>Call_the_helpdesk</b>", "did not complete the sign-in"},
	} {
		q := "state=s&error=" + url.QueryEscape(tt.errCode) + "&error_description=" + url.QueryEscape("Your account is locked. Call +1-555-0100 or visit https://evil.example/unlock")
		resp, err := http.Get(e.BaseURL + "/auth/callback?" + q)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		page := string(b)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, tt.want) {
			t.Errorf("error %q: %d, page lacks %q:\n%s", tt.errCode, resp.StatusCode, tt.want, page)
		}
		for _, leak := range []string{"555-0100", "evil.example", "locked", "helpdesk"} {
			if strings.Contains(strings.ToLower(page), strings.ToLower(leak)) {
				t.Errorf("the page shows %q from the URL:\n%s", leak, page)
			}
		}
	}
}
