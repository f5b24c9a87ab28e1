package handlers_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdebot/mdebot/handlers"
	"github.com/mdebot/mdebot/identity/account"
	"github.com/mdebot/mdebot/mde"
	"github.com/mdebot/mdebot/store"
	"github.com/mdebot/mdebot/store/storetest"
)

// The lifecycle tests run the use cases on the real store (SQLite and
// PostgreSQL) with an injected clock; the ports to Slack, Defender, identity
// and the job queue are small recorders, since what is under test is what
// the use cases decide and what the store lets through.

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

const (
	team      = "T01"
	channel   = "C0APPROV1"
	requester = "U0ALICE"
	approver  = "U0BOB"
	approver2 = "U0CAROL"
	outsider  = "U0MALLORY"
)

// clock is the injected time.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.now = t }

// sent is one message the use cases sent.
type sent struct {
	kind   string // private, dm, post, update
	to     string // user (private, dm) or channel (post, update)
	msg    handlers.Message
	thread string // a post's thread
}

// messenger records messages.
type messenger struct {
	mu   sync.Mutex
	sent []sent
}

func (m *messenger) add(s sent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, s)
	return nil
}
func (m *messenger) Private(_ context.Context, to handlers.Recipient, msg handlers.Message) error {
	return m.add(sent{kind: "private", to: to.User, msg: msg})
}
func (m *messenger) DM(_ context.Context, _, user string, msg handlers.Message) error {
	return m.add(sent{kind: "dm", to: user, msg: msg})
}
func (m *messenger) Post(_ context.Context, ch, thread string, msg handlers.Message) (string, error) {
	return "1700000000.000100", m.add(sent{kind: "post", to: ch, msg: msg, thread: thread})
}
func (m *messenger) Update(_ context.Context, ch, _ string, msg handlers.Message) error {
	return m.add(sent{kind: "update", to: ch, msg: msg})
}
func (m *messenger) Upload(context.Context, handlers.Upload) error {
	return errors.New("no uploads here")
}

// to lists the private messages user received (in the channel; a DM may
// repeat one after a wait) whose header or text contains word.
func (m *messenger) to(user, word string) []handlers.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []handlers.Message
	for _, s := range m.sent {
		if s.kind == "private" && s.to == user && strings.Contains(s.msg.Header.Plain()+" "+s.msg.Text.Plain(), word) {
			out = append(out, s.msg)
		}
	}
	return out
}

type directory struct{}

func (directory) ChannelName(context.Context, string) (string, error) { return "inc-approvals", nil }
func (directory) GroupMembers(context.Context, string) ([]string, error) {
	return []string{approver, approver2}, nil
}
func (directory) ChannelExternal(context.Context, string) (bool, error) { return false, nil }
func (directory) IsGuest(context.Context, string) (bool, error)         { return false, nil }

// jobs records what the use cases asked the queue to run.
type jobs struct {
	mu       sync.Mutex
	requests []string
	fetches  []string
	expiries map[string]time.Time
	triages  []string
}

func (j *jobs) StartRequest(_ context.Context, id string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.requests = append(j.requests, id)
	return nil
}
func (j *jobs) StartFetch(_ context.Context, a string, _ time.Time) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.fetches = append(j.fetches, a)
	return nil
}
func (j *jobs) RecoverFetch(context.Context, string, string) error { return nil }
func (j *jobs) ScheduleExpiry(_ context.Context, id string, at time.Time) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.expiries == nil {
		j.expiries = map[string]time.Time{}
	}
	j.expiries[id] = at
	return nil
}
func (j *jobs) StartTriage(_ context.Context, id string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.triages = append(j.triages, id)
	return nil
}
func (j *jobs) expiry(id string) time.Time { j.mu.Lock(); defer j.mu.Unlock(); return j.expiries[id] }

// identity: everyone is linked.
type identity struct{}

func (identity) Token(context.Context, string, string) (string, error) { return "delegated-token", nil }
func (identity) StartLogin(context.Context, string, string) (*account.Prompt, error) {
	return nil, errors.New("not in these tests")
}
func (identity) CompleteLogin(context.Context, string, string) (*account.Link, error) {
	return nil, errors.New("not in these tests")
}
func (identity) PendingLogin(context.Context, string, string) (*account.Pending, error) {
	return nil, errors.New("not in these tests")
}
func (identity) ConfirmLogin(context.Context, string, string, string) (*account.Link, error) {
	return nil, errors.New("not in these tests")
}
func (identity) Linked(_ context.Context, team, user string) (*account.Link, error) {
	return &account.Link{Team: team, User: user, Username: user + "@contoso.example"}, nil
}
func (identity) Unlink(context.Context, string, string) error { return nil }

// defender knows one succeeded collection; the lifecycle tests never fetch.
type defender struct{}

const actionID = "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6a01"

func (defender) GetMachineAction(_ context.Context, _ mde.TokenSource, id string) (*mde.MachineAction, error) {
	return &mde.MachineAction{ID: id, Type: mde.TypeCollectInvestigationPackage, Status: mde.StatusSucceeded,
		MachineID: "1e5bc9d7e413ddd7902c2932e418702b84d0cc07", ComputerDNSName: "ws-01.contoso.local"}, nil
}
func (d defender) ListMachineActionsByID(ctx context.Context, ts mde.TokenSource, ids []string) (map[string]mde.MachineAction, error) {
	out := map[string]mde.MachineAction{}
	for _, id := range ids {
		a, _ := d.GetMachineAction(ctx, ts, id)
		out[id] = *a
	}
	return out, nil
}
func (defender) GetPackageURI(context.Context, mde.TokenSource, string) (mde.PackageURL, error) {
	return mde.PackageURL{}, errors.New("not in these tests")
}
func (defender) ListMachineActions(context.Context, mde.TokenSource, string) ([]mde.MachineAction, error) {
	return nil, nil
}
func (defender) CollectInvestigationPackage(context.Context, mde.TokenSource, string, string) (*mde.MachineAction, error) {
	return nil, errors.New("not in these tests")
}
func (defender) FindMachine(context.Context, mde.TokenSource, string) ([]mde.Machine, error) {
	return nil, errors.New("not in these tests")
}
func (defender) OpenPackage(context.Context, mde.PackageURL) (*mde.Package, error) {
	return nil, errors.New("not in these tests")
}
func (defender) RunLiveResponseGetFile(context.Context, mde.TokenSource, string, string, string) (*mde.MachineAction, error) {
	return nil, errors.New("not in these tests")
}
func (defender) GetLiveResponseResultDownloadLink(context.Context, mde.TokenSource, string, int) (mde.ResultURL, error) {
	return mde.ResultURL{}, errors.New("not in these tests")
}

// env is one Service on one database.
type env struct {
	db    *store.DB
	svc   *handlers.Service
	clock *clock
	msgs  *messenger
	jobs  *jobs
}

// approvalWindow is approval.expires_after in the approval channel.
const approvalWindow = 10 * time.Minute

func newEnv(t *testing.T, db *store.DB) *env { t.Helper(); return newEnvWith(t, db, nil) }

// newEnvWith is newEnv with the options changed by mod before the service is built.
func newEnvWith(t *testing.T, db *store.DB, mod func(*handlers.Options)) *env {
	t.Helper()
	e := &env{db: db, clock: &clock{now: t0}, msgs: &messenger{}, jobs: &jobs{}}
	o := handlers.Options{
		Store: db, Limiter: db.Limiter(mde.BudgetPackageURI, mdeLimits, e.clock.Now), Defender: defender{},
		Identity: identity{}, Messenger: e.msgs, Directory: directory{}, Jobs: e.jobs, Now: e.clock.Now,
		Policy: handlers.Policy{Channels: []handlers.ChannelRule{
			{Match: channel, Delivery: handlers.DeliveryUpload, Approval: handlers.ApprovalRule{
				Required: true, Approvers: []string{"S0SOCLEAD"}, RequiredApprovals: 1, ExpiresAfter: approvalWindow}},
			{Match: "C0OTHER01", Delivery: handlers.DeliveryLink},
		}},
	}
	if mod != nil {
		mod(&o)
	}
	svc, err := handlers.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	e.svc = svc
	return e
}

// forEachStore runs fn on a fresh SQLite file and a fresh PostgreSQL database.
func forEachStore(t *testing.T, fn func(t *testing.T, open func() *store.DB)) {
	t.Run("sqlite", func(t *testing.T) {
		dsn := "file:" + filepath.Join(t.TempDir(), "mdebot.db")
		fn(t, func() *store.DB { return openStore(t, store.DriverSQLite, dsn) })
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := storetest.FreshPostgres(t)
		fn(t, func() *store.DB { return openStore(t, store.DriverPostgres, dsn) })
	})
}

func openStore(t *testing.T, driver, dsn string) *store.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := store.Open(ctx, driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// pending stores a get request awaiting approval whose window closes at t0+approvalWindow.
func (e *env) pending(t *testing.T, id string) *handlers.Request {
	t.Helper()
	r := &handlers.Request{ID: id, Team: team, Channel: channel, ChannelName: "inc-approvals", User: requester,
		Kind: handlers.KindGet, ActionID: actionID, Target: actionID, Delivery: handlers.DeliveryUpload,
		State: handlers.StateAwaitingApproval, RequiredApprovals: 1, Approvers: []string{"S0SOCLEAD"},
		ExpiresAt: t0.Add(approvalWindow), ExpiresAfter: approvalWindow, MessageTS: "1700000000.000100",
		CreatedAt: t0, UpdatedAt: t0}
	if err := e.db.CreateRequest(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	return r
}

// click runs a button click to completion, as the transport would.
func (e *env) click(user, action, id string) {
	ack := e.svc.Click(context.Background(), handlers.Click{RequestID: "click-" + user, Team: team, Channel: channel,
		User: user, ActionID: action, Value: id, MessageTS: "1700000000.000100"})
	if ack.Work != nil {
		ack.Work(context.Background())
	}
}

func (e *env) get(t *testing.T, id string) *handlers.Request {
	t.Helper()
	r, err := e.db.GetRequest(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// audited lists the request's audit events named event.
func (e *env) audited(t *testing.T, id, event string) []handlers.AuditEvent {
	t.Helper()
	return e.auditWhere(t, func(a handlers.AuditEvent) bool { return a.RequestID == id && a.Event == event })
}

// auditWhere lists the audit events keep keeps, oldest first.
func (e *env) auditWhere(t *testing.T, keep func(handlers.AuditEvent) bool) []handlers.AuditEvent {
	t.Helper()
	all, err := e.db.ListAudit(context.Background(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var out []handlers.AuditEvent
	for _, a := range all {
		if keep(a) {
			out = append(out, a)
		}
	}
	return out
}

var mdeLimits = mde.Limits{PerMinute: 2, PerHour: 120}
