package identity_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mdebot/mdebot/identity"
	"github.com/mdebot/mdebot/identity/entratest"
)

// startDevice starts a device-code login for U1 and returns the prompt.
func startDevice(t *testing.T, s *identity.Service) *identity.Prompt {
	t.Helper()
	p, err := s.StartLogin(context.Background(), team, "U1")
	if err != nil {
		t.Fatalf("StartLogin: %v", err)
	}
	if p.Flow != identity.FlowDeviceCode || p.UserCode == "" || p.URL == "" || p.Wait == nil || p.Await == nil ||
		!p.ExpiresAt.After(time.Now()) {
		t.Fatalf("prompt = %+v, want a device code", p)
	}
	return p
}

type waitResult struct {
	link *identity.Link
	err  error
}

func waitAsync(p *identity.Prompt, ctx context.Context) <-chan waitResult {
	ch := make(chan waitResult, 1)
	go func() {
		l, err := p.Wait(ctx)
		ch <- waitResult{l, err}
	}()
	return ch
}

func receive(t *testing.T, ch <-chan waitResult) waitResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(30 * time.Second):
		t.Fatal("Wait did not return")
		return waitResult{}
	}
}

// pendingPolls counts device_code polls answered authorization_pending.
func pendingPolls(fake *entratest.Server) int {
	n := 0
	for _, r := range fake.Requests() {
		if r.Endpoint == "token" && r.Error == "authorization_pending" {
			n++
		}
	}
	return n
}

func TestDeviceCodeSuccess(t *testing.T) {
	e := newEnv(t, identity.FlowDeviceCode)
	e.mod = func(o *identity.Options) { o.ClientSecret, o.RedirectURL = "", "" } // not needed for device code
	e.fake.SetAccessTokenTTL(60 * time.Second)                                   // Token must refresh (public client)
	s := e.service(t)
	e.addUser("U1", "alice@contoso.test")
	p := startDevice(t, s)
	res := waitAsync(p, context.Background())

	waitFor(t, "a pending poll", func() bool { return pendingPolls(e.fake) > 0 })
	if err := e.fake.ApproveDevice(p.UserCode, "alice@contoso.test"); err != nil {
		t.Fatal(err)
	}
	r := receive(t, res)
	if r.err != nil || r.link.User != "U1" || r.link.Username != "alice@contoso.test" || r.link.TenantID != tenantID {
		t.Fatalf("Wait = %+v, %v", r.link, r.err)
	}
	for _, req := range e.fake.Requests() {
		if (req.Endpoint == "token" || req.Endpoint == "devicecode") && req.ClientSecret {
			t.Errorf("device-code flow sent a client secret: %+v", req)
		}
	}
	for i := range 2 {
		tok, err := s.Token(context.Background(), team, "U1")
		if err != nil {
			t.Fatalf("Token %d: %v", i, err)
		}
		if owner := tokenOwner(t, e.fake, tok); owner != "alice@contoso.test" {
			t.Fatalf("token for %s", owner)
		}
	}
	if tokenRequests(e.fake, "refresh_token") != 2 {
		t.Fatal("the public client did not refresh")
	}
	// A restart keeps it too.
	if tok, err := e.service(t).Token(context.Background(), team, "U1"); err != nil || tok == "" {
		t.Fatalf("Token from a new service: %v", err)
	}
	if _, err := p.Wait(context.Background()); err == nil {
		t.Fatal("a second Wait on the same prompt succeeded")
	}
}

func TestDeviceCodeExpiry(t *testing.T) {
	cases := []struct {
		name   string
		setup  func(e *env)
		expire func(t *testing.T, e *env)
	}{
		// The authority says so (expired_token).
		{"authority expires the code", func(*env) {}, func(t *testing.T, e *env) {
			waitFor(t, "a pending poll", func() bool { return pendingPolls(e.fake) > 0 })
			e.fake.ExpireDeviceCodes()
		}},
		// The code's own expires_in bounds the wait.
		{"code lifetime runs out", func(e *env) { e.fake.SetDeviceCodeTTL(time.Second) }, func(*testing.T, *env) {}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, identity.FlowDeviceCode)
			c.setup(e)
			s := e.service(t)
			e.addUser("U1", "alice@contoso.test")
			p := startDevice(t, s)
			res := waitAsync(p, context.Background())
			c.expire(t, e)
			r := receive(t, res)
			if r.link != nil {
				t.Fatalf("linked %+v", r.link)
			}
			wantLinkError(t, r.err, identity.ErrExpired, "U1")
			assertNothingStored(t, e, "U1")
			if err := e.fake.ApproveDevice(p.UserCode, "alice@contoso.test"); err == nil {
				t.Fatal("the fake accepted an expired code")
			}
		})
	}
}

func TestDeviceCodeChecksBeforeStoring(t *testing.T) {
	e := newEnv(t, identity.FlowDeviceCode)
	s := e.service(t)
	e.fake.AddUser(entratestUser("mallory@fabrikam.test", otherTenant))
	e.emails.set(team, "U1", "mallory@fabrikam.test")
	p := startDevice(t, s)
	if err := e.fake.ApproveDevice(p.UserCode, "mallory@fabrikam.test"); err != nil {
		t.Fatal(err)
	}
	_, err := p.Wait(context.Background())
	wantLinkError(t, err, identity.ErrWrongTenant, "U1")
	assertNothingStored(t, e, "U1")
}

// Close ends a pending wait and returns only once Await's done has run,
// with ErrInterrupted and a context still usable for telling the user.
func TestCloseStopsDeviceCodeWait(t *testing.T) {
	e := newEnv(t, identity.FlowDeviceCode)
	s := e.service(t)
	e.addUser("U1", "alice@contoso.test")
	p := startDevice(t, s)
	var got error
	var ctxErr error
	done := false
	p.Await(func(ctx context.Context, l *identity.Link, err error) {
		got, ctxErr, done = err, ctx.Err(), true
	})
	waitFor(t, "a pending poll", func() bool { return pendingPolls(e.fake) > 0 })
	s.Close() // returns only once done has returned
	if !done {
		t.Fatal("Close returned before the wait's done ran")
	}
	if !errors.Is(got, identity.ErrInterrupted) || ctxErr != nil {
		t.Fatalf("done got %v (context %v); want ErrInterrupted and a live context", got, ctxErr)
	}
	assertNothingStored(t, e, "U1")
}

func TestDeviceCodeWaitHonoursContext(t *testing.T) {
	e := newEnv(t, identity.FlowDeviceCode)
	s := e.service(t)
	e.addUser("U1", "alice@contoso.test")
	p := startDevice(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	res := waitAsync(p, ctx)
	waitFor(t, "a pending poll", func() bool { return pendingPolls(e.fake) > 0 })
	cancel()
	r := receive(t, res)
	if !errors.Is(r.err, context.Canceled) {
		t.Fatalf("Wait = %v, want context.Canceled", r.err)
	}
}

// awaitAsync is Await delivering its result on a channel.
func awaitAsync(p *identity.Prompt) <-chan waitResult {
	ch := make(chan waitResult, 1)
	p.Await(func(_ context.Context, l *identity.Link, err error) { ch <- waitResult{l, err} })
	return ch
}

// A user's new login replaces the pending one: the old wait ends at once
// with ErrSuperseded (its code no longer links), the new one links.
func TestDeviceCodeNewLoginReplacesOld(t *testing.T) {
	e := newEnv(t, identity.FlowDeviceCode)
	s := e.service(t)
	e.addUser("U1", "alice@contoso.test")
	first := startDevice(t, s)
	old := awaitAsync(first)
	waitFor(t, "a pending poll", func() bool { return pendingPolls(e.fake) > 0 })
	second := startDevice(t, s)
	r := receive(t, old)
	if !errors.Is(r.err, identity.ErrSuperseded) || r.link != nil {
		t.Fatalf("the replaced wait = %+v, %v; want ErrSuperseded", r.link, r.err)
	}
	res := awaitAsync(second)
	if err := e.fake.ApproveDevice(second.UserCode, "alice@contoso.test"); err != nil {
		t.Fatal(err)
	}
	if r := receive(t, res); r.err != nil || r.link.User != "U1" {
		t.Fatalf("the new wait = %+v, %v", r.link, r.err)
	}
}

// Pending device-code sign-ins are bounded in all; a user replacing her own
// does not count twice.
func TestDeviceCodePendingBound(t *testing.T) {
	e := newEnv(t, identity.FlowDeviceCode)
	e.mod = func(o *identity.Options) { o.MaxPendingLogins = 2 }
	s := e.service(t)
	ctx := context.Background()
	for _, u := range []string{"U1", "U2", "U2"} {
		if _, err := s.StartLogin(ctx, team, u); err != nil {
			t.Fatalf("StartLogin(%s): %v", u, err)
		}
	}
	if p, err := s.StartLogin(ctx, team, "U3"); !errors.Is(err, identity.ErrBusy) || p != nil {
		t.Fatalf("a third user's StartLogin = %+v, %v; want ErrBusy", p, err)
	}
}
