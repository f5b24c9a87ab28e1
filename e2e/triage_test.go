package e2e

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mdebot/mdebot/bot/slackfake"
	"github.com/mdebot/mdebot/demo"
	"github.com/mdebot/mdebot/handlers"
	"github.com/mdebot/mdebot/mde"
	"github.com/mdebot/mdebot/mde/mdetest"
	"github.com/mdebot/mdebot/store"
)

// startUnthrottled is start with Defender's getPackageUri limit raised, bot
// and fake alike, so that several deliveries in one test do not wait for it.
func startUnthrottled(t *testing.T) (*demo.Env, *syncBuffer) {
	t.Helper()
	return start(t, demo.Options{
		MDE:  func(o *mdetest.Options) { o.PackageURILimits = mde.Limits{PerMinute: 60, PerHour: 600} },
		Tune: func(c *configT) { c.MDE.PackageURILimit.PerMinute, c.MDE.PackageURILimit.PerHour = 60, 600 },
	})
}

// triageIn matches the triage summary posted in channel's thread.
func triageIn(channel, thread string) func(slackfake.Event) bool {
	return func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventMessage && ev.Message.Channel == channel && ev.Message.ThreadTS == thread &&
			strings.Contains(ev.Message.Text, "Triage summary")
	}
}

var codeSpan = regexp.MustCompile("`([^`]*)`")

// fieldCodes returns the code spans of the message field labelled label.
func fieldCodes(t *testing.T, ev slackfake.Event, label string) []string {
	t.Helper()
	var raw json.RawMessage
	if ev.Message != nil {
		raw = ev.Message.Blocks
	} else if ev.Response != nil {
		raw = ev.Response.Blocks
	}
	var blocks []struct {
		Fields []struct {
			Text string `json:"text"`
		} `json:"fields"`
	}
	if err := json.Unmarshal(raw, &blocks); err != nil {
		t.Fatalf("blocks: %v", err)
	}
	for _, b := range blocks {
		for _, f := range b.Fields {
			if value, ok := strings.CutPrefix(f.Text, "*"+label+"*\n"); ok {
				var out []string
				for _, m := range codeSpan.FindAllStringSubmatch(value, -1) {
					out = append(out, m[1])
				}
				return out
			}
		}
	}
	t.Fatalf("no field %q in %s", label, raw)
	return nil
}

// checkEstablished: the summary names exactly the established foreign
// addresses of the realistic package.
func checkEstablished(t *testing.T, where string, ev slackfake.Event) {
	t.Helper()
	got := fieldCodes(t, ev, "Established connections (foreign addresses)")
	want := mdetest.RealisticFacts().Established
	if !slices.Equal(got, want) {
		t.Errorf("%s: established addresses %v, want exactly %v", where, got, want)
	}
}

// auditEvents reads the audit export (the bot's SQLite store, opened
// beside it) for the events named event.
func auditEvents(t *testing.T, e *demo.Env, event string) []handlers.AuditEvent {
	t.Helper()
	db, err := store.Open(deadline(t, 10*time.Second), store.DriverSQLite, "file:"+filepath.Join(e.Dir, "mdebot.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	all, err := db.ListAudit(deadline(t, 10*time.Second), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var out []handlers.AuditEvent
	for _, a := range all {
		if a.Event == event {
			out = append(out, a)
		}
	}
	return out
}

// waitAudit waits (the audit event follows the post) until n events named
// event are in the audit export, and returns them; more than n fails.
func waitAudit(t *testing.T, e *demo.Env, event string, n int) []handlers.AuditEvent {
	t.Helper()
	var got []handlers.AuditEvent
	for range 50 {
		if got = auditEvents(t, e, event); len(got) >= n {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(got) != n {
		t.Fatalf("%d %s audit events, want %d", len(got), event, n)
	}
	return got
}

// After each kind of delivery of the realistic package the bot posts a
// Triage summary: in the upload's thread, in the thread of the request's
// card for a link in the channel, privately for a private link. Each names
// exactly the package's established foreign addresses (not its TIME_WAIT,
// CLOSE_WAIT or listening ones); the audit export holds each summary as
// plain JSON data.
func TestTriageSummaryAfterDelivery(t *testing.T) {
	e, _ := startUnthrottled(t)
	login(t, e, demo.Alice)
	upload := addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f7a01")
	inChannel := addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f7a02")
	private := addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f7a03")
	mark := e.Mark()
	command(t, e, demo.Alice, demo.ChanUpload, upload)
	command(t, e, demo.Alice, demo.ChanLink, inChannel)
	command(t, e, demo.Alice, demo.ChanPrivate, private)

	up := waitEvent(t, e, mark, "the upload", func(ev slackfake.Event) bool { return ev.Kind == slackfake.EventFileShared })
	checkEstablished(t, "upload", waitEvent(t, e, mark, "the triage summary in the upload's thread", triageIn(demo.ChanUpload, up.Upload.ThreadTS)))

	card := waitEvent(t, e, mark, "the request's card in the link channel", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventMessage && ev.Message.Channel == demo.ChanLink && ev.Message.ThreadTS == "" && strings.Contains(textOf(ev), inChannel)
	})
	checkEstablished(t, "link in channel", waitEvent(t, e, mark, "the triage summary in the card's thread", triageIn(demo.ChanLink, card.Message.TS)))

	priv := waitEvent(t, e, mark, "the private triage summary", privateTo(demo.Alice, "Triage summary"))
	checkEstablished(t, "private link", priv)
	if priv.Kind == slackfake.EventMessage && priv.Message.DMUser == "" {
		t.Errorf("the private delivery's summary was posted in a channel")
	}
	for _, ev := range e.Slack.Events() {
		if ev.Kind == slackfake.EventMessage && ev.Message.Channel == demo.ChanPrivate && strings.Contains(ev.Message.Text, "Triage summary") {
			t.Errorf("a triage summary of a private delivery was posted in its channel")
		}
	}

	summaries := waitAudit(t, e, "triage.summary", 3)
	for _, a := range summaries {
		var d struct {
			Established []string `json:"established"`
			Processes   *int     `json:"processes"`
		}
		if err := json.Unmarshal([]byte(a.Detail), &d); err != nil {
			t.Errorf("audit detail of %s is not JSON: %v: %s", a.RequestID, err, a.Detail)
			continue
		}
		if !slices.Equal(d.Established, mdetest.RealisticFacts().Established) || d.Processes == nil || *d.Processes != 17 || a.Outcome != "ok" {
			t.Errorf("audit of %s: %+v (%s)", a.RequestID, d, a.Outcome)
		}
		if strings.ContainsAny(a.Detail, "`*") || strings.Contains(a.Detail, "&lt;") || strings.Contains(a.Detail, "<@") {
			t.Errorf("audit detail holds markup: %s", a.Detail)
		}
	}
}

// Hostile packages (not a zip, a zip bomb, 20000 entries, "../" and
// absolute entry names) are delivered as usual, bytes intact, with the
// note "could not be summarised: <reason>" in the thread; nothing is
// written outside the bot's folder and evidence store, nothing panics,
// and the bot still answers.
func TestTriageHostilePackages(t *testing.T) {
	outside := []string{
		filepath.Join(os.TempDir(), "outside.txt"), "/etc/cron.d/mdebot", "/tmp/outside.txt",
	}
	existed := map[string]bool{}
	for _, p := range outside {
		if _, err := os.Lstat(p); err == nil {
			existed[p] = true
		}
	}
	e, logs := startUnthrottled(t)
	login(t, e, demo.Alice)
	type asked struct {
		kind   mdetest.PackageKind
		action string
		mark   int
	}
	var all []asked
	for i, kind := range mdetest.HostileKinds() {
		id := addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f7b0"+string(rune('1'+i)))
		if err := e.MDE.SetPackage(id, kind); err != nil {
			t.Fatal(err)
		}
		all = append(all, asked{kind, id, e.Mark()})
		command(t, e, demo.Alice, demo.ChanUpload, id)
	}
	for _, a := range all {
		_, sum := e.MDE.PackageOf(a.action)
		// Five deliveries at once, one of them 8 MiB: longer than one step's wait.
		up := waitEventFor(t, e, a.mark, 90*time.Second, string(a.kind)+" delivered", func(ev slackfake.Event) bool {
			return ev.Kind == slackfake.EventFileShared && ev.Upload.SHA256 == sum
		})
		note := waitEventFor(t, e, a.mark, 90*time.Second, string(a.kind)+" note", triageIn(demo.ChanUpload, up.Upload.ThreadTS))
		if !strings.Contains(note.Message.Text, "could not be summarised: ") {
			t.Errorf("%s: the thread's note does not say it could not be summarised: %s", a.kind, note.Message.Text)
		}
	}
	// What the bot's folder may hold: the database, and the evidence store's
	// packages, custody records and lock.
	allowed := regexp.MustCompile(`^(mdebot\.db(-wal|-shm|-journal|\.migrate-lock|\.run-lock)?|mdebot-evidence|mdebot-evidence/([0-9a-f]{16}\.(package|custody\.json)|\.lock))$`)
	err := filepath.WalkDir(e.Dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == e.Dir {
			return err
		}
		rel, _ := filepath.Rel(e.Dir, path)
		if !allowed.MatchString(filepath.ToSlash(rel)) {
			t.Errorf("unexpected file in the bot's folder: %s", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range outside {
		if _, err := os.Lstat(p); !existed[p] && !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s exists after the hostile packages' triage", p)
		}
	}
	if strings.Contains(logs.String(), "panic") {
		t.Errorf("the bot logged a panic")
	}
	if resp, err := e.HTTP.Get(e.BaseURL + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Errorf("the bot does not answer /healthz after the hostile packages: %v", err)
	} else {
		resp.Body.Close()
	}
	waitAudit(t, e, "triage.summary", len(all))
}

// search finds a term in the UTF-16LE netstat output and in CSVs (UTF-8
// and Windows-1252), by request ID and by action ID, privately; it is
// refused for a person who may not see the package, and bad terms are
// refused with a clear message in the acknowledgement. Searches are
// audited with their term and count, never the lines found.
func TestSearchPackageE2E(t *testing.T) {
	e, _ := startUnthrottled(t)
	login(t, e, demo.Alice)
	action := addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f7c01")
	mark := e.Mark()
	command(t, e, demo.Alice, demo.ChanUpload, action)
	summary := waitEvent(t, e, mark, "the upload summary", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventMessage && strings.Contains(textOf(ev), "Investigation package uploaded") && hasButton(ev, handlers.ActionDownload)
	})
	id := buttonValue(summary, handlers.ActionDownload)
	// The upload's summary precedes the delivered state; the triage summary follows it.
	waitEvent(t, e, mark, "the triage summary", triageIn(demo.ChanUpload, summary.Message.ThreadTS))
	facts := mdetest.RealisticFacts()
	tests := []struct {
		name, user, channel, target, term string
		want                              []string
	}{
		{"UTF-16 netstat", demo.Alice, demo.ChanPrivate, id, facts.Needles[0].Term,
			[]string{"1 matching line", "Network connections/ActiveNetConnections.txt:30: TCP"}},
		{"CSV, UTF-8 and Windows-1252", demo.Alice, demo.ChanUpload, id, "zoë",
			[]string{"3 matching lines", "Processes/Processes.csv:19:", "Scheduled tasks/ScheduledTasks.csv:3:"}},
		{"by action ID", demo.Alice, demo.ChanUpload, action, "UPDATER.EXE",
			[]string{"6 matching lines", "Autoruns/HKCU_Run.txt:3:", "Services/Services.csv:9:"}},
		{"a member of the upload channel", demo.Carol, demo.ChanUpload, id, "svchost",
			[]string{"matching lines", "Processes/Processes.csv:"}},
		{"not from the delivery channel", demo.Carol, demo.ChanPrivate, id, "svchost",
			[]string{"You may not search this package"}},
		{"by action ID, not from the delivery channel", demo.Carol, demo.ChanLink, action, "svchost",
			[]string{"You may not search this package"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mark := e.Mark()
			command(t, e, tt.user, tt.channel, "search "+tt.target+" "+tt.term)
			ev := waitEvent(t, e, mark, "the answer", privateTo(tt.user, tt.want[0]))
			for _, w := range tt.want[1:] {
				if !strings.Contains(textOf(ev), w) {
					t.Errorf("answer lacks %q: %s", w, textOf(ev))
				}
			}
			if ev.Kind == slackfake.EventMessage && ev.Message.DMUser == "" {
				t.Errorf("the answer was posted in the channel")
			}
		})
	}
	for _, tt := range []struct{ text, want string }{
		{"search " + id + " x", "at least 2 characters"},
		{"search " + id + " " + strings.Repeat("ab", 101), "at most 200 characters"},
		{"search " + id, "Usage"},
		{"search zz" + id[2:] + " term", "neither a request ID"},
	} {
		a := command(t, e, demo.Alice, demo.ChanUpload, tt.text)
		if !strings.Contains(a.Reply.Text, tt.want) {
			t.Errorf("%q answered %q, want %q", tt.text, a.Reply.Text, tt.want)
		}
	}
	// The refused and invalid searches are not searches.
	searched := waitAudit(t, e, "evidence.searched", 4)
	for _, a := range searched {
		if !strings.HasPrefix(a.Detail, "term ") || !strings.Contains(a.Detail, "matching lines in") || strings.Contains(a.Detail, "49715") || strings.Contains(a.Detail, "AppData") {
			t.Errorf("audit detail %q: want the term and the count, never the lines", a.Detail)
		}
	}
	if refused := auditEvents(t, e, "evidence.refused"); len(refused) != 2 {
		t.Errorf("%d evidence.refused events, want 2", len(refused))
	}
}
