package identity_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/mdebot/mdebot/identity"
)

func TestNewRejectsBadOptions(t *testing.T) {
	e := newEnv(t, identity.FlowAuthCode)
	cases := []struct {
		name string
		mod  func(o *identity.Options)
		want string // part of the message, naming the key
	}{
		{"no tenant", func(o *identity.Options) { o.TenantID = "" }, "identity.tenant_id"},
		{"multi-tenant alias", func(o *identity.Options) { o.TenantID = "common" }, "identity.tenant_id"},
		{"no client id", func(o *identity.Options) { o.ClientID = "" }, "identity.client_id"},
		{"unknown flow", func(o *identity.Options) { o.Flow = "password" }, "identity.flow"},
		{"auth code without secret", func(o *identity.Options) { o.ClientSecret = "" }, "identity.client_secret"},
		{"auth code without redirect", func(o *identity.Options) { o.RedirectURL = "" }, "redirect URL"},
		{"relative redirect", func(o *identity.Options) { o.RedirectURL = "/auth/callback" }, "redirect URL"},
		{"http authority", func(o *identity.Options) { o.Authority = "http://login.example.test" }, "identity.authority"},
		{"authority with tenant path", func(o *identity.Options) { o.Authority = "https://login.microsoftonline.com/" + tenantID }, "identity.authority"},
		{"short key", func(o *identity.Options) { o.Key = make([]byte, 16) }, "store.encryption_key"},
		{"no key", func(o *identity.Options) { o.Key = nil }, "store.encryption_key"},
		{"no store", func(o *identity.Options) { o.Store = nil }, "Store"},
		{"email match without lookup", func(o *identity.Options) { o.Emails = nil }, "identity.require_email_match"},
		{"only openid scopes", func(o *identity.Options) { o.Scopes = []string{"openid", "offline_access"} }, "identity.scopes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := e.options()
			c.mod(&o)
			s, err := identity.New(o)
			if err == nil {
				s.Close()
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not name %q", err, c.want)
			}
		})
	}

	t.Run("every problem at once", func(t *testing.T) {
		_, err := identity.New(identity.Options{})
		if err == nil || strings.Count(err.Error(), "\n") < 3 {
			t.Fatalf("error = %v, want one line per problem", err)
		}
	})
}

func TestOptionsDefaults(t *testing.T) {
	e := newEnv(t, identity.FlowAuthCode)
	cases := []struct {
		name       string
		scopes     []string
		wantScopes []string
		flow       string
	}{
		{"defaults", nil, identity.DefaultScopes(), identity.FlowAuthCode},
		{"openid scopes dropped", []string{"openid", "api://x/Read", "profile", "offline_access", "api://x/Read"}, []string{"api://x/Read"}, identity.FlowAuthCode},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := e.options()
			o.Flow, o.Scopes, o.StateTTL = "", c.scopes, 0
			s, err := identity.New(o)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.Flow() != c.flow || !slices.Equal(s.Scopes(), c.wantScopes) {
				t.Fatalf("flow %q scopes %v, want %q %v", s.Flow(), s.Scopes(), c.flow, c.wantScopes)
			}
			p, err := s.StartLogin(context.Background(), team, "U1")
			if err != nil {
				t.Fatal(err)
			}
			if d := p.ExpiresAt.Sub(e.clock.Now()); d.Minutes() != 10 {
				t.Fatalf("state lifetime %v, want 10m", d)
			}
		})
	}
}

// New makes no network call, so Microsoft's hosts (instance discovery on)
// are accepted offline.
func TestNewAcceptsMicrosoftAuthorities(t *testing.T) {
	e := newEnv(t, identity.FlowAuthCode)
	for _, a := range []string{"", "https://login.microsoftonline.com", "https://login.microsoftonline.us/", "https://login.chinacloudapi.cn"} {
		o := e.options()
		o.Authority, o.HTTPClient = a, nil
		s, err := identity.New(o)
		if err != nil {
			t.Fatalf("Authority %q: %v", a, err)
		}
		s.Close()
	}
}

func TestDefaultScopesAreTheMDEDelegatedScopes(t *testing.T) {
	want := []string{
		"https://api.securitycenter.microsoft.com/Machine.CollectForensics",
		"https://api.securitycenter.microsoft.com/Machine.Read",
		"https://api.securitycenter.microsoft.com/Machine.LiveResponse",
	}
	if got := identity.DefaultScopes(); !slices.Equal(got, want) {
		t.Fatalf("DefaultScopes() = %v", got)
	}
}
