package demo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/mdebot/mdebot/bot/slackfake"
	"github.com/mdebot/mdebot/handlers"
	"github.com/mdebot/mdebot/mde"
	"github.com/mdebot/mdebot/mde/mdetest"
)

// Run plays the scripted demo and prints the conversation to w: alice links
// her Microsoft account, asks for a package that is still being collected,
// watches the progress and gets the zip uploaded with its SHA-256, then the
// triage summary in the thread, and searches the package; bob downloads it
// after Defender's link died; then she starts a collection in an approval
// channel, a non-approver is refused, and bob approves before it is
// delivered; she fetches one file from the workstation with live response
// (getfile) and gets its .gz with its SHA-256; last, the App Home tab.
func Run(ctx context.Context, w io.Writer) error {
	t := NewTranscript(w)
	t.Say("== mdebot demo. Slack, Entra ID and Defender are fakes on this machine; the bot's HTTP server,")
	t.Say("== slack-go, MSAL Go, the Defender client, River and SQLite are the real thing.")
	// Defender's links die fast here, so the demo can show a Download later.
	e, err := Start(ctx, Options{OnSlack: t.Event, MDE: func(o *mdetest.Options) { o.PackageTTL = 3 * time.Second }})
	if err != nil {
		return err
	}
	defer e.Close()
	s := &script{e: e, t: t}
	steps := []func(context.Context) error{s.link, s.waitAndUpload, s.triageAndSearch, s.downloadLater, s.approvalAndCollect, s.getFile, s.appHome, s.summary}
	for _, step := range steps {
		ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		err := step(ctx)
		cancel()
		if err != nil {
			return err
		}
	}
	return nil
}

type script struct {
	e        *Env
	t        *Transcript
	uploaded slackfake.Event // the summary of step 2's upload, with its Download button
}

// evidenceLink is the store's download link in a message.
var evidenceLink = regexp.MustCompile(`<(https?://[^|>\s]+/evidence/[^|>\s]+)\|`)

// get fetches url and returns its status and the SHA-256 of its body.
func get(ctx context.Context, c *http.Client, url string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	h := sha256.New()
	if _, err := io.Copy(h, resp.Body); err != nil {
		return 0, "", err
	}
	return resp.StatusCode, hex.EncodeToString(h.Sum(nil)), nil
}

func (s *script) typed(user, channel, text string) {
	s.t.Say("\n[#%s] %s: %s %s", ChannelName(channel), who(user), s.e.Config.Slack.Command, text)
}

func (s *script) command(ctx context.Context, user, channel, text string) error {
	s.typed(user, channel, text)
	a, err := s.e.Command(ctx, user, channel, text)
	if err != nil {
		return err
	}
	if a.Status != 200 {
		return fmt.Errorf("the bot answered %d: %s", a.Status, a.Body)
	}
	if a.Reply.Text != "" {
		s.t.Say("[#%s] mdebot → %s only (in the acknowledgement):\n%s", ChannelName(channel), who(user), renderBlocks(a.Reply.Text, a.Reply.Blocks))
	}
	return nil
}

func (s *script) wait(ctx context.Context, mark int, what string, pred func(slackfake.Event) bool) (slackfake.Event, error) {
	ev, err := s.e.WaitAfter(ctx, mark, pred)
	if err != nil {
		return ev, fmt.Errorf("the demo waited in vain for %s: %w", what, err)
	}
	return ev, nil
}

func (s *script) link(ctx context.Context) error {
	s.t.Say("\n-- 1. alice links her own Microsoft account (auth code + PKCE; the bot never acts as itself)")
	s.typed(Alice, ChanRandom, "login")
	page, err := s.e.Login(ctx, Alice)
	if err != nil {
		return err
	}
	s.t.Say("[browser] alice opens the link, signs in at Microsoft (fake) as alice@contoso.com; the bot's page says: %q", pageTitle(page))
	return nil
}

func (s *script) waitAndUpload(ctx context.Context) error {
	s.t.Say("\n-- 2. alice asks for the package of a collection Defender is still running")
	id := s.e.MDE.AddAction(mde.MachineAction{ID: "9b2f4c1e-0d3a-4e5b-8c7d-6f1a2b3c4d5e", MachineID: MachineWS},
		mdetest.Step{Status: mde.StatusPending, Polls: 2}, mdetest.Step{Status: mde.StatusInProgress, Polls: 2}, mdetest.Step{Status: mde.StatusSucceeded})
	mark := s.e.Mark()
	if err := s.command(ctx, Alice, ChanUpload, id); err != nil {
		return err
	}
	up, err := s.wait(ctx, mark, "the upload", func(ev slackfake.Event) bool { return ev.Kind == slackfake.EventFileShared })
	if err != nil {
		return err
	}
	summary, err := s.wait(ctx, mark, "the summary", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventMessage && strings.Contains(string(ev.Message.Blocks), up.Upload.SHA256)
	})
	if err != nil {
		return err
	}
	s.uploaded = summary
	if up.Upload.SHA256 != s.e.MDE.PackageSHA256() {
		return fmt.Errorf("uploaded SHA-256 %s differs from Defender's package %s", up.Upload.SHA256, s.e.MDE.PackageSHA256())
	}
	s.t.Say("== checked: the uploaded file's SHA-256 equals the package Defender served (%s)", up.Upload.SHA256)
	return nil
}

// downloadLater shows the evidence store: once Defender's short-lived link
// has died, a Download click still gets the package, from the bot's store.
func (s *script) downloadLater(ctx context.Context) error {
	s.t.Say("\n-- 2c. later, Defender's link is dead; bob (a SOC lead) needs the package for the case file")
	time.Sleep(4 * time.Second)
	dead := 0
	for _, tok := range s.e.MDE.IssuedPackageTokens() {
		if status, _, err := get(ctx, s.e.HTTP, s.e.MDE.URL+"/safedownload/WDATP_Investigation_Package.zip?token="+tok); err == nil && status == 403 {
			dead++
		}
	}
	s.t.Say("== Defender's link now answers 403 (%d of %d links dead); the bot never showed it to anyone", dead, len(s.e.MDE.IssuedPackageTokens()))
	msg := *s.uploaded.Message // the upload's summary, with its Download button
	s.t.Say("\n[#%s] bob clicks [Download] in the thread", ChannelName(ChanUpload))
	mark := s.e.Mark()
	if _, err := s.e.Click(ctx, Bob, ChanUpload, msg.TS, handlers.ActionDownload, buttonValue(slackfake.Event{Message: &msg}, handlers.ActionDownload)); err != nil {
		return err
	}
	reply, err := s.wait(ctx, mark, "the download link", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventEphemeral && ev.Message.User == Bob && strings.Contains(ev.Message.Text, "Your download link")
	})
	if err != nil {
		return err
	}
	link := evidenceLink.FindStringSubmatch(reply.Message.Text + string(reply.Message.Blocks))
	if link == nil {
		return fmt.Errorf("no link in the Download answer")
	}
	status, sum, err := get(ctx, s.e.HTTP, strings.ReplaceAll(link[1], "&amp;", "&"))
	if err != nil || status != 200 || sum != s.e.MDE.PackageSHA256() {
		return fmt.Errorf("the store's link answered %d with sha %s (%v), want the package %s", status, sum, err, s.e.MDE.PackageSHA256())
	}
	s.t.Say("== checked: bob's fresh link (valid 10 minutes, just for him) downloads the same bytes, SHA-256 %s; Defender was not called again", sum)
	return nil
}

func (s *script) triageAndSearch(ctx context.Context) error {
	requestID := buttonValue(s.uploaded, handlers.ActionDownload)
	thread := s.uploaded.Message.ThreadTS
	if _, err := s.wait(ctx, 0, "the triage summary", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventMessage && ev.Message.ThreadTS == thread && strings.Contains(ev.Message.Text, "Triage summary")
	}); err != nil {
		return err
	}
	s.t.Say("== the triage summary above was read from the stored package in place, without extracting anything")
	s.t.Say("\n-- 2b. alice searches the package (UTF-16 netstat output, CSVs and text files alike; answered privately)")
	mark := s.e.Mark()
	if err := s.command(ctx, Alice, ChanUpload, "search "+requestID+" updater.exe"); err != nil {
		return err
	}
	_, err := s.wait(ctx, mark, "the search results", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventEphemeral && ev.Message.User == Alice && strings.Contains(ev.Message.Text, "matching lines")
	})
	return err
}

func (s *script) approvalAndCollect(ctx context.Context) error {
	s.t.Say("\n-- 3. in #%s packages need a SOC lead's approval; alice starts a collection herself", ChannelName(ChanApproval))
	mark := s.e.Mark()
	if err := s.command(ctx, Alice, ChanApproval, "collect ws-0042 beaconing to 203.0.113.7, INC-2043"); err != nil {
		return err
	}
	confirm, err := s.wait(ctx, mark, "the confirmation", func(ev slackfake.Event) bool {
		return hasButton(ev, handlers.ActionConfirm)
	})
	if err != nil {
		return err
	}
	requestID := buttonValue(confirm, handlers.ActionConfirm)
	s.t.Say("\n[#%s] alice clicks [Confirm]", ChannelName(ChanApproval))
	mark = s.e.Mark()
	if _, err := s.e.Click(ctx, Alice, ChanApproval, "", handlers.ActionConfirm, requestID); err != nil {
		return err
	}
	approval, err := s.wait(ctx, mark, "the approval request", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventMessage && hasButton(ev, handlers.ActionApprove)
	})
	if err != nil {
		return err
	}
	s.t.Say("\n[Slack] bob opens mdebot's App Home: the approvals waiting for him are there too, with the same buttons")
	if err := s.home(ctx, Bob, requestID); err != nil {
		return err
	}
	for _, c := range []struct{ user, why string }{
		{Alice, "her own request"}, {Carol, "carol is not a SOC lead"},
	} {
		s.t.Say("\n[#%s] %s clicks [Approve] (%s)", ChannelName(ChanApproval), who(c.user), c.why)
		mark = s.e.Mark()
		if _, err := s.e.Click(ctx, c.user, ChanApproval, approval.Message.TS, handlers.ActionApprove, requestID); err != nil {
			return err
		}
		if _, err := s.wait(ctx, mark, "the refusal", func(ev slackfake.Event) bool {
			return ev.Kind == slackfake.EventEphemeral && ev.Message.User == c.user && strings.Contains(ev.Message.Text, "Nothing changed")
		}); err != nil {
			return err
		}
	}
	s.t.Say("\n[#%s] bob (SOC lead, no Microsoft link needed) clicks [Approve]", ChannelName(ChanApproval))
	mark = s.e.Mark()
	if _, err := s.e.Click(ctx, Bob, ChanApproval, approval.Message.TS, handlers.ActionApprove, requestID); err != nil {
		return err
	}
	up, err := s.wait(ctx, mark, "the upload", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventFileShared && ev.Upload.ThreadTS == approval.Message.TS
	})
	if err != nil {
		return err
	}
	_, err = s.wait(ctx, mark, "the summary", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventMessage && strings.Contains(string(ev.Message.Blocks), up.Upload.SHA256)
	})
	return err
}

// appHome shows alice's App Home: her Microsoft account and her requests,
// delivered, with their Download buttons.
func (s *script) appHome(ctx context.Context) error {
	s.t.Say("\n-- 5. alice opens mdebot's App Home: her linked account and her last requests, printed as text")
	return s.home(ctx, Alice, "delivered")
}

// home has user open the Home tab and waits until it shows want; the
// transcript prints it.
func (s *script) home(ctx context.Context, user, want string) error {
	s.t.ShowHome(user)
	mark := s.e.Mark()
	if err := s.e.OpenHome(ctx, user); err != nil {
		return err
	}
	_, err := s.wait(ctx, mark, who(user)+"'s App Home", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventHomeView && ev.Home.User == user && strings.Contains(HomeText(*ev.Home), want)
	})
	return err
}

func (s *script) getFile(ctx context.Context) error {
	s.t.Say("\n-- 4. alice fetches one file from the workstation with live response (a .gz, never decompressed by the bot)")
	mark := s.e.Mark()
	if err := s.command(ctx, Alice, ChanUpload, `getfile ws-0042 "C:\Users\alice\AppData\Local\Temp\invoice 2041.js" INC-2041 dropper`); err != nil {
		return err
	}
	confirm, err := s.wait(ctx, mark, "the getfile confirmation", func(ev slackfake.Event) bool {
		return hasButton(ev, handlers.ActionConfirm)
	})
	if err != nil {
		return err
	}
	s.t.Say("\n[#%s] alice clicks [Confirm]", ChannelName(ChanUpload))
	mark = s.e.Mark()
	if _, err := s.e.Click(ctx, Alice, ChanUpload, "", handlers.ActionConfirm, buttonValue(confirm, handlers.ActionConfirm)); err != nil {
		return err
	}
	up, err := s.wait(ctx, mark, "the upload", func(ev slackfake.Event) bool { return ev.Kind == slackfake.EventFileShared })
	if err != nil {
		return err
	}
	if _, err := s.wait(ctx, mark, "the summary", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventMessage && strings.Contains(string(ev.Message.Blocks), up.Upload.SHA256)
	}); err != nil {
		return err
	}
	reqs := s.e.MDE.LiveResponseRequests()
	if len(reqs) != 1 {
		return fmt.Errorf("runliveresponse was called %d times, want 1", len(reqs))
	}
	var served string
	for _, r := range s.e.MDE.Requests() {
		if rest, ok := strings.CutPrefix(r.Path, "/api/machineactions/"); ok && strings.Contains(rest, "/GetLiveResponseResultDownloadLink") {
			id, _, _ := strings.Cut(rest, "/")
			served = s.e.MDE.LiveResponseResultSHA256(id)
		}
	}
	if up.Upload.SHA256 != served {
		return fmt.Errorf("uploaded SHA-256 %s differs from the .gz Defender served (%s)", up.Upload.SHA256, served)
	}
	s.t.Say("== Defender received runliveresponse with this body: %s", reqs[0].Body)
	s.t.Say("== checked: %s's SHA-256 equals the .gz Defender served (%s)", up.Upload.Filename, served)
	return nil
}

func (s *script) summary(ctx context.Context) error {
	var uris []string
	for _, r := range s.e.MDE.Requests() {
		if strings.HasSuffix(r.Path, "/getPackageUri") {
			who := "unknown token"
			if info, ok := s.e.Entra.Introspect(r.Token); ok {
				who = info.User.Username
			}
			uris = append(uris, who)
		}
	}
	s.t.Say("\n== Defender saw getPackageUri %d times, each with the requester's own token: %s", len(uris), strings.Join(uris, ", "))
	var sessions []string
	for _, r := range s.e.MDE.LiveResponseRequests() {
		who := "unknown token"
		if info, ok := s.e.Entra.Introspect(r.Token); ok {
			who = info.User.Username
		}
		sessions = append(sessions, who)
	}
	s.t.Say("== Defender saw runliveresponse %d time(s), with the requester's own token: %s", len(sessions), strings.Join(sessions, ", "))
	s.t.Say("== demo finished: the two packages and the file delivered. Run `go test ./...` to see the same paths tested.")
	return nil
}

// hasButton reports whether a message carries a button with this action id.
func hasButton(ev slackfake.Event, actionID string) bool {
	_, ok := Button(ev, actionID)
	return ok
}

// buttonValue is the value of the button with this action id.
func buttonValue(ev slackfake.Event, actionID string) string {
	v, _ := Button(ev, actionID)
	return v
}

// Button finds the button with this action id in a message's blocks and
// returns its value (tests press buttons with it).
func Button(ev slackfake.Event, actionID string) (value string, ok bool) {
	var raw json.RawMessage
	switch {
	case ev.Message != nil:
		raw = ev.Message.Blocks
	case ev.Response != nil:
		raw = ev.Response.Blocks
	}
	var blocks []block
	if json.Unmarshal(raw, &blocks) != nil {
		return "", false
	}
	for _, b := range blocks {
		for _, el := range b.Elements {
			var btn struct {
				ActionID string `json:"action_id"`
				Value    string `json:"value"`
			}
			if json.Unmarshal(el, &btn) == nil && btn.ActionID == actionID {
				return btn.Value, true
			}
		}
	}
	return "", false
}

func pageTitle(page string) string {
	if i := strings.Index(page, "<title>"); i >= 0 {
		rest := page[i+len("<title>"):]
		if j := strings.Index(rest, "</title>"); j >= 0 {
			return rest[:j]
		}
	}
	return strings.TrimSpace(page)
}
