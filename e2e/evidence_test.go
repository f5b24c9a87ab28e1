package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mdebot/mdebot/bot/slackfake"
	"github.com/mdebot/mdebot/demo"
	"github.com/mdebot/mdebot/evidence"
	"github.com/mdebot/mdebot/evidence/azureblob/azuritetest"
	"github.com/mdebot/mdebot/handlers"
	"github.com/mdebot/mdebot/mde/mdetest"
)

// evidenceLink finds the download link in a message: <URL|Download ...>.
var evidenceLink = regexp.MustCompile(`<(https?://[^|>\s]+/evidence/[^|>\s]+|https?://[^|>\s]+/devstoreaccount1/[^|>\s]+)\|Download`)

// linkIn returns the evidence link a message holds, or "".
func linkIn(ev slackfake.Event) string {
	if m := evidenceLink.FindStringSubmatch(textOf(ev)); m != nil {
		return strings.ReplaceAll(m[1], "&amp;", "&")
	}
	return ""
}

// fetch downloads url with plain net/http: status, body hash, X-Content-SHA256.
func fetch(t *testing.T, url string) (status int, sum, header string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	h := sha256.New()
	if _, err := io.Copy(h, resp.Body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, hex.EncodeToString(h.Sum(nil)), resp.Header.Get("X-Content-SHA256")
}

// downloadClick presses Download on msg as user and returns the private reply.
func downloadClick(t *testing.T, e *demo.Env, user string, msg slackfake.Event, words ...string) slackfake.Event {
	t.Helper()
	mark := e.Mark()
	channel := msg.Message.Channel
	if a, err := e.Click(deadline(t, 10*time.Second), user, channel, msg.Message.TS, handlers.ActionDownload, buttonValue(msg, handlers.ActionDownload)); err != nil || a.Status != 200 {
		t.Fatalf("Download click: %v %+v", err, a)
	}
	return waitEvent(t, e, mark, "the answer to Download", privateTo(user, words...))
}

// Defender's link dies 20 s after it is issued; a Download click 30 s later
// still gets the package, from the evidence store: bytes and X-Content-SHA256
// match, one getPackageUri call in all, and no Slack message ever showed
// Defender's URL or its token.
func TestDownloadAfterDefendersLinkDied(t *testing.T) {
	if testing.Short() {
		t.Skip("waits 30 s for Defender's link to die; skipped in -short mode")
	}
	e, _ := start(t, demo.Options{MDE: func(o *mdetest.Options) { o.PackageTTL = 20 * time.Second }})
	login(t, e, demo.Alice)
	id := addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6e21")
	mark := e.Mark()
	command(t, e, demo.Alice, demo.ChanPrivate, id)
	delivery := waitEvent(t, e, mark, "the private delivery with a Download button", func(ev slackfake.Event) bool {
		return privateTo(demo.Alice, "Investigation package ready")(ev) && hasButton(ev, handlers.ActionDownload)
	})
	if first := linkIn(delivery); first == "" {
		t.Errorf("the delivery holds no first link: %s", textOf(delivery))
	}
	time.Sleep(30 * time.Second)
	reply := downloadClick(t, e, demo.Alice, delivery, "Your download link")
	url := linkIn(reply)
	if url == "" {
		t.Fatalf("no link in the Download answer: %s", textOf(reply))
	}
	status, sum, header := fetch(t, url)
	if status != 200 || sum != e.MDE.PackageSHA256() || header != sum {
		t.Errorf("download: status %d, sha %s, X-Content-SHA256 %s; want 200 and %s", status, sum, header, e.MDE.PackageSHA256())
	}
	if n := len(e.MDE.PackageURICalls()); n != 1 {
		t.Errorf("getPackageUri called %d times, want 1", n)
	}
	noDefenderLink(t, e)
}

// noDefenderLink fails if any recorded Slack message holds Defender's package
// URL or one of the tokens it issued.
func noDefenderLink(t *testing.T, e *demo.Env) {
	t.Helper()
	tokens := e.MDE.IssuedPackageTokens()
	if len(tokens) == 0 {
		t.Fatal("Defender issued no package link")
	}
	for _, ev := range e.Slack.Events() {
		text := textOf(ev)
		if ev.Upload != nil {
			text += ev.Upload.InitialComment + ev.Upload.Title
		}
		if strings.Contains(text, "/safedownload/") {
			t.Errorf("a %s message shows Defender's package URL: %s", ev.Kind, text)
		}
		for _, tok := range tokens {
			if strings.Contains(text, tok) {
				t.Errorf("a %s message holds Defender's link token", ev.Kind)
			}
		}
	}
}

// A link is refused once evidence.link_ttl has passed, a second click gives a
// new one that works, and a click by someone who may not see the package is
// refused privately.
func TestDownloadLinkExpiresAndIsPersonal(t *testing.T) {
	e, _ := start(t, demo.Options{Handlers: func(h *handlers.Options) { h.LinkTTL = 2 * time.Second }})
	login(t, e, demo.Alice)
	id := addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6e22")
	mark := e.Mark()
	command(t, e, demo.Alice, demo.ChanPrivate, id)
	delivery := waitEvent(t, e, mark, "the private delivery", func(ev slackfake.Event) bool {
		return privateTo(demo.Alice, "Investigation package ready")(ev) && hasButton(ev, handlers.ActionDownload)
	})
	first := downloadClick(t, e, demo.Alice, delivery, "Your download link")
	url := linkIn(first)
	time.Sleep(3 * time.Second)
	if status, _, _ := fetch(t, url); status != http.StatusForbidden {
		t.Errorf("a link past its TTL answered %d, want 403", status)
	}
	second := linkIn(downloadClick(t, e, demo.Alice, delivery, "Your download link"))
	if second == "" || second == url {
		t.Fatalf("the second click gave %q", second)
	}
	if status, sum, _ := fetch(t, second); status != 200 || sum != e.MDE.PackageSHA256() {
		t.Errorf("the new link: %d %s", status, sum)
	}
	// Carol is neither the requester nor an approver, and link is a private delivery.
	downloadClick(t, e, demo.Carol, delivery, "You may not download this package")
}

// Retention purges the stored package (the custody record stays) and a
// Download click then says it was purged and when.
func TestRetentionPurges(t *testing.T) {
	e, _ := start(t, demo.Options{Handlers: func(h *handlers.Options) {
		h.Retention, h.PurgeEvery = 3*time.Second, time.Second
	}})
	login(t, e, demo.Alice)
	id := addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6e23")
	mark := e.Mark()
	command(t, e, demo.Alice, demo.ChanUpload, id)
	summary := waitEvent(t, e, mark, "the upload summary with a Download button", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventMessage && strings.Contains(textOf(ev), "Investigation package uploaded") && hasButton(ev, handlers.ActionDownload)
	})
	// Stored at about the upload; the sweep (every 2 s here) purges it 3 s later.
	for attempt := 0; ; attempt++ {
		time.Sleep(2 * time.Second)
		reply := downloadClick(t, e, demo.Alice, summary)
		if strings.Contains(textOf(reply), "purged") {
			if !strings.Contains(textOf(reply), "evidence.retention") {
				t.Errorf("the purge answer does not say why: %s", textOf(reply))
			}
			break
		}
		if attempt == 10 {
			t.Fatalf("not purged after %d clicks: %s", attempt+1, textOf(reply))
		}
	}
}

// link_in_channel with the evidence store: the channel gets the package's
// hash, a first link of the store's and the Download button; anyone in the
// channel may click it; Defender's link is shown nowhere.
func TestLinkInChannelFromTheStore(t *testing.T) {
	e, _ := start(t, demo.Options{})
	login(t, e, demo.Carol)
	id := addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6e24")
	mark := e.Mark()
	command(t, e, demo.Carol, demo.ChanLink, "get "+id)
	ev := waitEvent(t, e, mark, "the channel message", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventMessage && ev.Message.Channel == demo.ChanLink && hasButton(ev, handlers.ActionDownload)
	})
	if !strings.Contains(textOf(ev), e.MDE.PackageSHA256()) || linkIn(ev) == "" {
		t.Errorf("the channel message lacks the hash or the first link: %s", textOf(ev))
	}
	if ev.Message.UnfurlLinks == nil || *ev.Message.UnfurlLinks {
		t.Error("the channel message unfurls its link")
	}
	// Alice was not involved, but the package was delivered in her channel.
	reply := downloadClick(t, e, demo.Alice, ev, "Your download link")
	if status, sum, _ := fetch(t, linkIn(reply)); status != 200 || sum != e.MDE.PackageSHA256() {
		t.Errorf("a channel member's link: %d %s", status, sum)
	}
	noDefenderLink(t, e)
}

// A real `mdebot serve` SIGKILLed while the package is being written to the
// evidence store: nothing half-written is visible (no custody record), the
// recovery fetch stores it again and the request ends delivered once, and
// `mdebot evidence verify` finds every stored package intact.
func TestCrashWhileStoringEvidence(t *testing.T) {
	if testing.Short() {
		t.Skip("process crash test (a lease must lapse); skipped in -short mode")
	}
	e, err := demo.Start(deadline(t, 20*time.Second), demo.Options{NoApp: true, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	cfg := filepath.Join(e.Dir, "config.yaml")
	if err := e.WriteConfig(cfg); err != nil {
		t.Fatal(err)
	}
	p := serve(t, e, cfg, e.BaseURL)
	login(t, e, demo.Alice)
	id := addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6e25")
	e.MDE.StallDownloadAfter(100<<10, 2*time.Minute)
	mark := e.Mark()
	command(t, e, demo.Alice, demo.ChanUpload, id)
	// The link was obtained; the download (its first 100 KiB, then a stall)
	// starts at once and reaches the store's temporary file.
	waitUntil(t, 60*time.Second, "the link call", func() bool { return len(e.MDE.PackageURICalls()) > 0 })
	time.Sleep(2 * time.Second)
	p.kill()

	store, err := evidence.NewFile(evidence.FileOptions{Dir: e.Config.EvidenceDir()})
	if err != nil {
		t.Fatal(err)
	}
	if records, err := store.List(deadline(t, 5*time.Second)); err != nil || len(records) != 0 {
		t.Fatalf("after the kill the store lists %d packages (%v), want none visible", len(records), err)
	}
	serve(t, e, cfg, e.BaseURL)
	waitEventFor(t, e, mark, 180*time.Second, "the delivery after the crash", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventFileShared && strings.Contains(ev.Upload.Filename, id)
	})
	time.Sleep(2 * time.Second)
	if n := completedUploads(e); n != 1 {
		t.Errorf("%d uploads, want 1", n)
	}
	out, err := exec.Command(mdebotBinary(t), "evidence", "verify", "--config", cfg).CombinedOutput()
	if err != nil {
		t.Fatalf("evidence verify: %v\n%s", err, out)
	}
	if records, err := store.List(deadline(t, 5*time.Second)); err != nil || len(records) != 1 || records[0].SHA256 != e.MDE.PackageSHA256() {
		t.Errorf("the store lists %+v (%v), want the one package with Defender's hash", records, err)
	}
}

// The same on azure_blob (Azurite): the package is stored once in a blob,
// a Download click gives a read-only SAS URL that plain net/http fetches
// with the package's bytes, and no Slack message shows Defender's link.
func TestDownloadFromAzureBlob(t *testing.T) {
	base := azuritetest.URL(t)
	name, _ := azuritetest.Container(t, base)
	e, _ := start(t, demo.Options{Tune: func(c *configT) {
		c.Evidence.Store = "azure_blob"
		c.Evidence.Azure.AccountURL, c.Evidence.Azure.Container, c.Evidence.Azure.AccountKey = base, name, azuritetest.Key
	}})
	login(t, e, demo.Alice)
	id := addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6e26")
	mark := e.Mark()
	command(t, e, demo.Alice, demo.ChanPrivate, id)
	delivery := waitEvent(t, e, mark, "the private delivery", func(ev slackfake.Event) bool {
		return privateTo(demo.Alice, "Investigation package ready")(ev) && hasButton(ev, handlers.ActionDownload)
	})
	reply := downloadClick(t, e, demo.Alice, delivery, "Your download link")
	url := linkIn(reply)
	if !strings.HasPrefix(url, base+"/"+name+"/") || !strings.Contains(url, "sig=") {
		t.Fatalf("the link is not a SAS URL on the container: %q", url)
	}
	if status, sum, _ := fetch(t, url); status != 200 || sum != e.MDE.PackageSHA256() {
		t.Errorf("SAS download: %d %s, want 200 %s", status, sum, e.MDE.PackageSHA256())
	}
	downloadClick(t, e, demo.Carol, delivery, "You may not download this package")
	noDefenderLink(t, e)
}

// A later ask for an action whose package is already kept costs Defender
// nothing: the package is copied from the store, with a custody record of
// its own for the new request.
func TestLaterAskServedFromTheStore(t *testing.T) {
	e, _ := start(t, demo.Options{})
	login(t, e, demo.Alice)
	login(t, e, demo.Carol)
	id := addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6e27")
	mark := e.Mark()
	command(t, e, demo.Alice, demo.ChanUpload, id)
	deliveredOnce(t, e, mark, 60*time.Second)
	mark = e.Mark()
	command(t, e, demo.Carol, demo.ChanUpload, id)
	waitEvent(t, e, mark, "the second delivery", func(ev slackfake.Event) bool { return ev.Kind == slackfake.EventFileShared })
	if n := len(e.MDE.PackageURICalls()); n != 1 {
		t.Errorf("getPackageUri called %d times, want 1", n)
	}
	store, err := evidence.NewFile(evidence.FileOptions{Dir: e.Config.EvidenceDir()})
	if err != nil {
		t.Fatal(err)
	}
	records, err := store.List(deadline(t, 5*time.Second))
	if err != nil || len(records) != 2 {
		t.Fatalf("%d custody records (%v), want one per request", len(records), err)
	}
	people := map[string]bool{}
	for _, c := range records {
		people[c.Requester.SlackID] = true
		if c.SHA256 != e.MDE.PackageSHA256() {
			t.Errorf("record %s holds sha %s, want %s", c.RequestID, c.SHA256, e.MDE.PackageSHA256())
		}
	}
	if !people[demo.Alice] || !people[demo.Carol] {
		t.Errorf("custody records name %v, want alice and carol", people)
	}
}
