package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mdebot/mdebot/evidence"
	"github.com/mdebot/mdebot/handlers"
	"github.com/mdebot/mdebot/mde/mdetest"
	"github.com/mdebot/mdebot/store"
	"github.com/mdebot/mdebot/triage"
)

// The triage tests run the triage job on the real store and a real file
// evidence store holding the fake Defender's packages, with the recorders
// of harness_test.go for Slack and the queue.

// evEnv is an env whose service keeps packages in a file evidence store.
type evEnv struct {
	*env
	ev  *evidence.File
	dir string // the file store's folder
}

func newEvEnv(t *testing.T, db *store.DB, tune func(*handlers.Options)) *evEnv {
	t.Helper()
	dir := t.TempDir()
	ev, err := evidence.NewFile(evidence.FileOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, db, func(o *handlers.Options) {
		o.Evidence = ev
		if tune != nil {
			tune(o)
		}
	})
	return &evEnv{env: e, ev: ev, dir: dir}
}

// packageBytes is a package of the kind as the fake Defender serves it
// (the realistic one at its smallest).
func packageBytes(t *testing.T, kind mdetest.PackageKind) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := mdetest.WritePackage(&b, kind, 0); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// channelOf is where the harness's policy delivers in each mode.
func channelOf(mode handlers.Delivery) string {
	if mode == handlers.DeliveryLink {
		return "C0OTHER01"
	}
	return channel
}

// delivered stores a request delivered by mode, for user, with pkg kept
// in the evidence store, as a delivery would leave it.
func (e *evEnv) delivered(t *testing.T, id, user string, mode handlers.Delivery, created time.Time, pkg []byte) *handlers.Request {
	t.Helper()
	ctx := context.Background()
	c, err := e.ev.Put(ctx, id, bytes.NewReader(pkg), evidence.Custody{ActionID: actionID, MachineName: "ws-01.contoso.local",
		Requester: evidence.Person{SlackID: user}, FileName: "investigation-package-" + actionID + ".zip"})
	if err != nil {
		t.Fatal(err)
	}
	r := &handlers.Request{ID: id, Team: team, Channel: channelOf(mode), ChannelName: "inc-x", User: user,
		Kind: handlers.KindGet, ActionID: actionID, Target: actionID, Delivery: mode, State: handlers.StateDelivered,
		MachineID: "1e5bc9d7e413ddd7902c2932e418702b84d0cc07", MachineName: "ws-01.contoso.local",
		RequiredApprovals: 1, Approvers: []string{"S0SOCLEAD"}, MessageTS: "1700000000.000555",
		SHA256: c.SHA256, Bytes: c.Size, CreatedAt: created, UpdatedAt: created, ToldAt: created}
	if err := e.db.CreateRequest(ctx, r); err != nil {
		t.Fatal(err)
	}
	return r
}

// triageSent lists the triage summaries sent.
func (e *env) triageSent() []sent {
	e.msgs.mu.Lock()
	defer e.msgs.mu.Unlock()
	var out []sent
	for _, s := range e.msgs.sent {
		if strings.Contains(s.msg.Header.Plain(), "Triage summary") {
			out = append(out, s)
		}
	}
	return out
}

// accesses lists the custody record's accesses of a kind.
func (e *evEnv) accesses(t *testing.T, id string, kind evidence.AccessKind) []evidence.Access {
	t.Helper()
	c, err := e.ev.Custody(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []evidence.Access
	for _, a := range c.Accesses {
		if a.Kind == kind {
			out = append(out, a)
		}
	}
	return out
}

func field(m handlers.Message, label string) (handlers.Text, bool) {
	for _, f := range m.Fields {
		if f.Label == label {
			return f.Value, true
		}
	}
	return nil, false
}

// codes are a text's code spans.
func codes(t handlers.Text) []string {
	var out []string
	for _, p := range t {
		if p.Kind == handlers.PartCode {
			out = append(out, p.Text)
		}
	}
	return out
}

// The summary of the realistic package says exactly what the package
// holds (mdetest.RealisticFacts, written down by hand): the foreign
// addresses of ESTABLISHED connections and no other (not TIME_WAIT,
// CLOSE_WAIT or listening ones, not loopback), the counts, the folders,
// the failed collectors. It goes to the request's thread for channel
// deliveries and privately for link ones; the audit event holds it as
// JSON data, the custody record as plain words.
func TestTriageSummaryOfRealisticPackage(t *testing.T) {
	facts := mdetest.RealisticFacts()
	pkg := packageBytes(t, mdetest.PackageRealistic)
	forEachStore(t, func(t *testing.T, open func() *store.DB) {
		db := open()
		for i, mode := range []handlers.Delivery{handlers.DeliveryUpload, handlers.DeliveryLinkInChannel, handlers.DeliveryLink} {
			t.Run(string(mode), func(t *testing.T) {
				e := newEvEnv(t, db, nil)
				id := "tri0000000000" + string(rune('a'+i)) + "01"
				r := e.delivered(t, id, requester, mode, t0, pkg)
				if next, err := e.svc.RunTriage(context.Background(), id); err != nil || next.After != 0 {
					t.Fatalf("RunTriage = %+v, %v", next, err)
				}
				got := e.triageSent()
				if len(got) != 1 {
					t.Fatalf("%d triage summaries sent, want 1: %+v", len(got), got)
				}
				s := got[0]
				switch mode {
				case handlers.DeliveryLink:
					if s.kind != "private" || s.to != requester {
						t.Errorf("a link delivery's summary went %s to %s, want privately to the requester", s.kind, s.to)
					}
				default:
					if s.kind != "post" || s.to != r.Channel || s.thread != r.MessageTS {
						t.Errorf("summary posted %s in %s thread %q, want a post in %s thread %s", s.kind, s.to, s.thread, r.Channel, r.MessageTS)
					}
				}
				checkRealisticSummary(t, s.msg, facts)
				checkSummaryData(t, e, id, facts)
				if after := e.get(t, id); after.State != handlers.StateDelivered || after.Version != r.Version {
					t.Errorf("the triage changed the request: %s v%d, was delivered v%d", after.State, after.Version, r.Version)
				}
			})
		}
	})
}

func checkRealisticSummary(t *testing.T, m handlers.Message, facts mdetest.PackageFacts) {
	t.Helper()
	if h := m.Header.Plain(); h != "Triage summary of ws-01.contoso.local" {
		t.Errorf("header %q", h)
	}
	est, ok := field(m, "Established connections (foreign addresses)")
	if !ok {
		t.Fatalf("no established connections field: %+v", m.Fields)
	}
	addrs := codes(est)
	want := slices.Clone(facts.Established)
	slices.Sort(want)
	gotSorted := slices.Clone(addrs)
	slices.Sort(gotSorted)
	if !slices.Equal(gotSorted, want) {
		t.Errorf("established addresses %v, want exactly %v", addrs, facts.Established)
	}
	for _, a := range append(facts.NotEstablished, "127.0.0.1", "::1") {
		if slices.Contains(addrs, a) {
			t.Errorf("%s is listed among established connections: %s", a, est.Plain())
		}
	}
	if !strings.Contains(est.Plain(), "52.168.117.170 ×2") {
		t.Errorf("the address with two connections does not say so: %s", est.Plain())
	}
	fields := []struct{ label, want string }{
		{"Processes", "17, 5 outside Windows and Program Files"},
		{"Running services", "8 of 12"},
		{"Scheduled tasks", "6"},
		{"Autorun entries", "5"},
		{"Local Administrators", "4: " + strings.Join(facts.Administrators, ", ")},
		{"Prefetch files", "6"},
	}
	for _, f := range fields {
		v, ok := field(m, f.label)
		if !ok || v.Plain() != f.want {
			t.Errorf("field %s = %q, want %q", f.label, v.Plain(), f.want)
		}
	}
	if facts.Processes != 17 || facts.RunningServices != 8 || facts.Services != 12 || facts.ScheduledTasks != 6 ||
		facts.AutorunEntries != 5 || facts.PrefetchFiles != 6 || len(facts.Outside) != 5 {
		t.Fatalf("the realistic facts changed (%+v): update the expected fields", facts)
	}
	text := m.Text.Plain()
	for name, n := range facts.Folders {
		if name == "" {
			name = "top level"
		}
		if want := name + " (" + strconv.Itoa(n) + ")"; !strings.Contains(text, want) {
			t.Errorf("the folders line lacks %q: %s", want, text)
		}
	}
	for _, f := range append(slices.Clone(facts.FailedInReport), facts.ErrorOnlyFiles...) {
		if !strings.Contains(text, f) {
			t.Errorf("the failed collectors lack %q: %s", f, text)
		}
	}
	for _, p := range facts.Outside {
		if !slices.Contains(codes(m.Text), p) {
			t.Errorf("%s is not shown (as code) among executables outside Windows and Program Files", p)
		}
	}
}

// checkSummaryData checks the audit event and the custody access.
func checkSummaryData(t *testing.T, e *evEnv, id string, facts mdetest.PackageFacts) {
	t.Helper()
	evs := e.audited(t, id, "triage.summary")
	if len(evs) != 1 || evs[0].Outcome != "ok" {
		t.Fatalf("triage.summary events %+v, want one ok", evs)
	}
	var d struct {
		Files           int
		Folders         map[string]int
		Established     []string
		Processes       *int
		Services        *int
		RunningServices *int `json:"running_services"`
		ScheduledTasks  *int `json:"scheduled_tasks"`
		Autoruns        *int
		Administrators  []string
		Prefetch        *int
		Failed          []string
	}
	if err := json.Unmarshal([]byte(evs[0].Detail), &d); err != nil {
		t.Fatalf("the audit detail is not JSON: %v: %s", err, evs[0].Detail)
	}
	if !slices.Equal(d.Established, facts.Established) {
		t.Errorf("audited established %v, want %v", d.Established, facts.Established)
	}
	counts := []struct {
		name string
		got  *int
		want int
	}{
		{"processes", d.Processes, facts.Processes}, {"services", d.Services, facts.Services},
		{"running_services", d.RunningServices, facts.RunningServices}, {"scheduled_tasks", d.ScheduledTasks, facts.ScheduledTasks},
		{"autoruns", d.Autoruns, facts.AutorunEntries}, {"prefetch", d.Prefetch, facts.PrefetchFiles},
	}
	for _, c := range counts {
		if c.got == nil || *c.got != c.want {
			t.Errorf("audited %s %v, want %d", c.name, c.got, c.want)
		}
	}
	if !slices.Equal(d.Administrators, facts.Administrators) || len(d.Folders) != len(facts.Folders) || len(d.Failed) != 3 {
		t.Errorf("audited administrators %v, folders %v, failed %v", d.Administrators, d.Folders, d.Failed)
	}
	if strings.ContainsAny(evs[0].Detail, "`*") || strings.Contains(evs[0].Detail, "<@") {
		t.Errorf("the audit detail holds markup: %s", evs[0].Detail)
	}
	acc := e.accesses(t, id, evidence.AccessTriaged)
	if len(acc) != 1 || acc[0].Actor != "mdebot" || !strings.HasPrefix(acc[0].Detail, "Triage summary of ws-01.contoso.local\n") ||
		!strings.Contains(acc[0].Detail, "Established connections (foreign addresses): 10.1.2.1, 52.168.117.170 ×2") || strings.Contains(acc[0].Detail, "`") {
		t.Errorf("custody accesses %+v, want one triaged access by mdebot with the summary in plain words", acc)
	}
}

// A package that cannot be summarised (each hostile kind, and the
// realistic one over triage.max_entries) is noted "could not be
// summarised: <reason>", with triage's own reason; the note is audited as
// data and the request stays delivered.
func TestTriageRefusedPackages(t *testing.T) {
	type row struct {
		name string
		kind mdetest.PackageKind
		lim  triage.Limits
		want string // in the reason
	}
	var rows []row
	for _, k := range mdetest.HostileKinds() {
		rows = append(rows, row{name: string(k), kind: k})
	}
	rows = append(rows, row{name: "realistic over max_entries", kind: mdetest.PackageRealistic, lim: triage.Limits{MaxEntries: 10}, want: "limit of 10"})
	forEachStore(t, func(t *testing.T, open func() *store.DB) {
		db := open()
		for i, tt := range rows {
			t.Run(tt.name, func(t *testing.T) {
				pkg := packageBytes(t, tt.kind)
				_, serr := triage.Summarize(context.Background(), bytes.NewReader(pkg), int64(len(pkg)), tt.lim)
				reason, ok := triage.Refusal(serr)
				if !ok || !strings.Contains(reason, tt.want) {
					t.Fatalf("triage itself: %v; the test expects a refusal naming %q", serr, tt.want)
				}
				e := newEvEnv(t, db, func(o *handlers.Options) { o.Triage = tt.lim })
				id := "ref000000000" + string(rune('a'+i)) + "001"
				r := e.delivered(t, id, requester, handlers.DeliveryUpload, t0, pkg)
				if _, err := e.svc.RunTriage(context.Background(), id); err != nil {
					t.Fatalf("RunTriage: %v", err)
				}
				got := e.triageSent()
				if len(got) != 1 {
					t.Fatalf("%d notes sent, want 1", len(got))
				}
				if text := got[0].msg.Text.Plain(); !strings.Contains(text, "could not be summarised: "+reason) {
					t.Errorf("note %q lacks %q", text, "could not be summarised: "+reason)
				}
				if len(got[0].msg.Fields) != 0 {
					t.Errorf("a refused package's note has fields: %+v", got[0].msg.Fields)
				}
				evs := e.audited(t, id, "triage.summary")
				var d struct{ Refused string }
				if len(evs) != 1 || json.Unmarshal([]byte(evs[0].Detail), &d) != nil || d.Refused != reason {
					t.Errorf("audit %+v, want one triage.summary with {\"refused\": %q}", evs, reason)
				}
				if after := e.get(t, id); after.State != handlers.StateDelivered || after.Version != r.Version {
					t.Errorf("request now %s v%d, want delivered v%d", after.State, after.Version, r.Version)
				}
			})
		}
	})
}

// failingMessenger refuses every message, as a Slack outage would.
type failingMessenger struct{ *messenger }

var errSlackDown = errors.New("slack is down")

func (failingMessenger) Private(context.Context, handlers.Recipient, handlers.Message) error {
	return errSlackDown
}
func (failingMessenger) DM(context.Context, string, string, handlers.Message) error {
	return errSlackDown
}
func (failingMessenger) Post(context.Context, string, string, handlers.Message) (string, error) {
	return "", errSlackDown
}

// brokenEvidence cannot open packages while broken is set (a storage outage).
type brokenEvidence struct {
	*evidence.File
	broken bool
}

func (b *brokenEvidence) Open(ctx context.Context, id string) (*evidence.Package, error) {
	if b.broken {
		return nil, errors.New("storage unreachable")
	}
	return b.File.Open(ctx, id)
}

// The job posts at most once: a second run posts nothing, nor does a run
// finding the custody record's triaged access (left by a run that crashed
// before it posted). A failure never touches the request: Slack refusing
// the post is audited (the summary kept), a storage outage makes the job
// retry without posting, a purged package or a request not delivered gives
// nothing to do.
func TestTriageOnceAndFailures(t *testing.T) {
	pkg := packageBytes(t, mdetest.PackageRealistic)
	ctx := context.Background()
	forEachStore(t, func(t *testing.T, open func() *store.DB) {
		db := open()
		t.Run("run twice posts once", func(t *testing.T) {
			e := newEvEnv(t, db, nil)
			e.delivered(t, "once000000000001", requester, handlers.DeliveryUpload, t0, pkg)
			for range 2 {
				if _, err := e.svc.RunTriage(ctx, "once000000000001"); err != nil {
					t.Fatal(err)
				}
			}
			if n, a, c := len(e.triageSent()), len(e.audited(t, "once000000000001", "triage.summary")), len(e.accesses(t, "once000000000001", evidence.AccessTriaged)); n != 1 || a != 1 || c != 1 {
				t.Errorf("%d posts, %d audit events, %d custody accesses; want one each", n, a, c)
			}
		})
		t.Run("claimed by a crashed run", func(t *testing.T) {
			e := newEvEnv(t, db, nil)
			e.delivered(t, "crash00000000001", requester, handlers.DeliveryUpload, t0, pkg)
			if err := e.ev.Record(ctx, "crash00000000001", evidence.Access{Kind: evidence.AccessTriaged, Actor: "mdebot", Detail: "Triage summary of ws-01"}); err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.RunTriage(ctx, "crash00000000001"); err != nil {
				t.Fatal(err)
			}
			if n := len(e.triageSent()); n != 0 {
				t.Errorf("%d posts after a crashed run's claim, want 0 (at most once)", n)
			}
		})
		t.Run("slack refuses the post", func(t *testing.T) {
			e := newEvEnv(t, db, func(o *handlers.Options) { o.Messenger = failingMessenger{&messenger{}} })
			for _, mode := range []handlers.Delivery{handlers.DeliveryUpload, handlers.DeliveryLink} {
				id := "slack0000000000" + string(mode[0])
				r := e.delivered(t, id, requester, mode, t0, pkg)
				if next, err := e.svc.RunTriage(ctx, id); err != nil || next.After != 0 {
					t.Fatalf("%s: RunTriage = %+v, %v; a failed post is not retried", mode, next, err)
				}
				evs := e.audited(t, id, "triage.summary")
				if len(evs) != 1 || evs[0].Outcome != "error" || !strings.Contains(evs[0].Detail, `"processes":17`) {
					t.Errorf("%s: audit %+v, want one triage.summary with outcome error and the summary", mode, evs)
				}
				if after := e.get(t, id); after.State != handlers.StateDelivered || after.Version != r.Version {
					t.Errorf("%s: request now %s v%d, want delivered v%d", mode, after.State, after.Version, r.Version)
				}
			}
		})
		t.Run("storage outage retries", func(t *testing.T) {
			var be *brokenEvidence
			e := newEvEnv(t, db, func(o *handlers.Options) {
				be = &brokenEvidence{File: o.Evidence.(*evidence.File), broken: true}
				o.Evidence = be
			})
			r := e.delivered(t, "store00000000001", requester, handlers.DeliveryUpload, t0, pkg)
			if _, err := e.svc.RunTriage(ctx, r.ID); err == nil {
				t.Fatal("RunTriage succeeded while the store was unreachable; want an error, so that the job is retried")
			}
			if n, c := len(e.triageSent()), len(e.accesses(t, r.ID, evidence.AccessTriaged)); n != 0 || c != 0 {
				t.Errorf("%d posts and %d triaged accesses during the outage, want none", n, c)
			}
			be.broken = false
			if _, err := e.svc.RunTriage(ctx, r.ID); err != nil {
				t.Fatal(err)
			}
			if n := len(e.triageSent()); n != 1 {
				t.Errorf("%d posts after the outage, want 1", n)
			}
			if after := e.get(t, r.ID); after.State != handlers.StateDelivered || after.Version != r.Version {
				t.Errorf("request now %s v%d, want delivered v%d", after.State, after.Version, r.Version)
			}
		})
		t.Run("nothing to summarise", func(t *testing.T) {
			e := newEvEnv(t, db, nil)
			purged := e.delivered(t, "purged0000000001", requester, handlers.DeliveryUpload, t0, pkg)
			if err := e.ev.Purge(ctx, purged.ID, t0.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			failed := e.delivered(t, "failed0000000001", requester, handlers.DeliveryUpload, t0, pkg)
			failed.State = handlers.StateFailed
			if err := db.UpdateRequest(ctx, failed, handlers.Cond{State: handlers.StateDelivered}); err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{purged.ID, failed.ID, "unknown000000001"} {
				if next, err := e.svc.RunTriage(ctx, id); err != nil || next.After != 0 {
					t.Errorf("RunTriage(%s) = %+v, %v; want done", id, next, err)
				}
			}
			if n := len(e.triageSent()); n != 0 {
				t.Errorf("%d summaries of a purged package or a failed request", n)
			}
		})
	})
}

// failingTriageJobs cannot queue triage jobs.
type failingTriageJobs struct{ *jobs }

func (failingTriageJobs) StartTriage(context.Context, string) error {
	return errors.New("queue unavailable")
}

// Reaching delivered queues the triage when packages are kept, not
// otherwise; a queue that fails leaves the delivery recorded.
func TestDeliveryQueuesTriage(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() *store.DB) {
		db := open()
		tests := []struct {
			name      string
			keep      bool
			failQueue bool
			want      int
		}{
			{"kept", true, false, 1},
			{"not kept", false, false, 0},
			{"queue fails", true, true, 0},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var e *env
				tune := func(o *handlers.Options) {
					if tt.failQueue {
						o.Jobs = failingTriageJobs{o.Jobs.(*jobs)}
					}
				}
				if tt.keep {
					e = newEvEnv(t, db, tune).env
				} else {
					e = newEnvWith(t, db, tune)
				}
				r := e.pending(t, "queue00000000"+string(rune('a'+i))+"01")
				r.State, r.LeaseOwner, r.LeaseUntil = handlers.StateFetching, "w1", t0.Add(time.Minute)
				if err := db.UpdateRequest(context.Background(), r, handlers.Cond{State: handlers.StateAwaitingApproval}); err != nil {
					t.Fatal(err)
				}
				if ok, err := e.svc.Move(context.Background(), r, handlers.StateDelivered, time.Time{}, ""); err != nil || !ok {
					t.Fatalf("Move to delivered: %v %v", ok, err)
				}
				e.jobs.mu.Lock()
				n := len(e.jobs.triages)
				e.jobs.mu.Unlock()
				if n != tt.want {
					t.Errorf("%d triage jobs queued, want %d", n, tt.want)
				}
				if got := e.get(t, r.ID); got.State != handlers.StateDelivered {
					t.Errorf("request %s, want delivered", got.State)
				}
			})
		}
	})
}
