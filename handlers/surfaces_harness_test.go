package handlers_test

import (
	"context"
	"crypto/rand"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdebot/mdebot/handlers"
	idpkg "github.com/mdebot/mdebot/identity"
	"github.com/mdebot/mdebot/identity/account"
	"github.com/mdebot/mdebot/mde"
	"github.com/mdebot/mdebot/store"
)

// Recorders and fakes of the ports the Slack surfaces add: Home tabs,
// Workflow Builder step completions, and who is linked.

// homes records the Home tabs published, per user.
type homes struct {
	mu    sync.Mutex
	views map[string][]handlers.Home
}

func (h *homes) ShowHome(_ context.Context, user string, v handlers.Home) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.views == nil {
		h.views = map[string][]handlers.Home{}
	}
	h.views[user] = append(h.views[user], v)
	return nil
}

func (h *homes) count(user string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.views[user])
}

// wait returns the first Home tab published for user after the first
// `after` whose text contains every word.
func (h *homes) wait(t *testing.T, user string, after int, words ...string) handlers.Home {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		h.mu.Lock()
		vs := append([]handlers.Home(nil), h.views[user]...)
		h.mu.Unlock()
		for _, v := range vs[min(after, len(vs)):] {
			if containsAll(homeText(v), words) {
				return v
			}
		}
		if time.Now().After(deadline) {
			last := "none"
			if len(vs) > 0 {
				last = homeText(vs[len(vs)-1])
			}
			t.Fatalf("no Home tab for %s with %q; the last one:\n%s", user, words, last)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func containsAll(s string, words []string) bool {
	for _, w := range words {
		if !strings.Contains(s, w) {
			return false
		}
	}
	return true
}

// homeText is a Home tab as plain text: titles, texts, items and their
// buttons as [Label=value].
func homeText(h handlers.Home) string {
	var b strings.Builder
	for _, s := range h.Sections {
		b.WriteString("# " + s.Title + "\n")
		if !s.Text.IsEmpty() {
			b.WriteString(s.Text.Plain() + "\n")
		}
		for _, it := range s.Items {
			b.WriteString("- " + it.Text.Plain())
			for _, bt := range it.Buttons {
				b.WriteString(" [" + bt.Label + "=" + bt.Value + "]")
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

// section returns the text of one section of a Home tab.
func section(h handlers.Home, title string) string {
	for _, s := range h.Sections {
		if s.Title == title {
			return homeText(handlers.Home{Sections: []handlers.HomeSection{s}})
		}
	}
	return ""
}

// completion is one functions.completeSuccess or completeError.
type completion struct {
	token, execution string
	success          bool
	outputs          map[string]string
	message          string
}

// functions records step completions; err, when set, is every call's answer.
type functions struct {
	mu   sync.Mutex
	done []completion
	err  error
}

func (f *functions) CompleteFunction(_ context.Context, token, id string, outputs map[string]string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.done = append(f.done, completion{token: token, execution: id, success: true, outputs: outputs})
	return nil
}

func (f *functions) FailFunction(_ context.Context, token, id, message string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.done = append(f.done, completion{token: token, execution: id, message: message})
	return nil
}

func (f *functions) completions() []completion {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]completion(nil), f.done...)
}

func (f *functions) setErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

// someLinked is identity with some users not linked.
type someLinked struct {
	identity
	unlinked map[string]bool
}

func (i someLinked) Linked(ctx context.Context, team, user string) (*account.Link, error) {
	if i.unlinked[user] {
		return nil, account.ErrNotLinked
	}
	return i.identity.Linked(ctx, team, user)
}

func (i someLinked) Token(ctx context.Context, team, user string) (string, error) {
	if i.unlinked[user] {
		return "", account.ErrNotLinked
	}
	return i.identity.Token(ctx, team, user)
}

// finder is defender that knows one device.
type finder struct{ defender }

const (
	deviceID   = "1e5bc9d7e413ddd7902c2932e418702b84d0cc07"
	deviceName = "ws-01.contoso.local"
)

func (finder) FindMachine(_ context.Context, _ mde.TokenSource, q string) ([]mde.Machine, error) {
	if q != deviceID && q != deviceName {
		return nil, &mde.Error{Kind: mde.KindNotFound, Endpoint: "machines"}
	}
	return []mde.Machine{{ID: deviceID, ComputerDNSName: deviceName, OSPlatform: "Windows11"}}, nil
}

// surfaceEnv is an env with every surface on.
type surfaceEnv struct {
	*env
	homes *homes
	fns   *functions
	steps *store.Steps
}

func newSurfaceEnv(t *testing.T, db *store.DB, unlinked ...string) *surfaceEnv {
	t.Helper()
	return newSurfaceEnvWith(t, db, nil, unlinked...)
}

// newSurfaceEnvWith is newSurfaceEnv with mod applied to the options last.
func newSurfaceEnvWith(t *testing.T, db *store.DB, mod func(*handlers.Options), unlinked ...string) *surfaceEnv {
	t.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	sealer, err := idpkg.NewStepSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	se := &surfaceEnv{homes: &homes{}, fns: &functions{}, steps: db.Steps(sealer)}
	skip := map[string]bool{}
	for _, u := range unlinked {
		skip[u] = true
	}
	se.env = newEnvWith(t, db, func(o *handlers.Options) {
		o.Home, o.HomeEvery, o.HomeSpacing = se.homes, 20*time.Millisecond, time.Millisecond
		o.Steps, o.Functions, o.Shortcut = se.steps, se.fns, true
		o.Identity = someLinked{unlinked: skip}
		o.Defender = finder{}
		if mod != nil {
			mod(o)
		}
	})
	return se
}

// run runs an Ack's work as the transport would after acknowledging.
func run(ack handlers.Ack) {
	if ack.Work != nil {
		ack.Work(context.Background())
	}
}

// homeClick clicks a button on user's Home tab, as the transport reports it.
func (e *env) homeClick(user, action, id string) {
	run(e.svc.Click(context.Background(), handlers.Click{RequestID: "home-" + user, Team: team, User: user,
		ActionID: action, Value: id, Surface: handlers.SurfaceHome}))
}

// opened reports user opening their Home tab.
func (e *env) opened(user string) {
	run(e.svc.Event(context.Background(), handlers.Event{RequestID: "ev-" + user, ID: "Ev1", Team: team,
		Kind: handlers.EventHomeOpened, User: user, Tab: "home"}))
}
