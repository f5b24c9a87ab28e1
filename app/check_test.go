package app_test

import (
	"context"
	"github.com/mdebot/mdebot/store/storetest"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mdebot/mdebot/app"
	"github.com/mdebot/mdebot/config"
	"github.com/mdebot/mdebot/demo"
)

const postgresDSNEnv = "MDEBOT_TEST_POSTGRES_DSN"

// startFakes starts the demo's fakes of Slack, Entra and Defender (no bot)
// with a valid configuration pointing at them and SQLite in a temp dir.
func startFakes(t *testing.T, mode string) *demo.Env {
	t.Helper()
	e, err := demo.Start(context.Background(), demo.Options{NoApp: true, Mode: mode, Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("demo.Start: %v", err)
	}
	t.Cleanup(e.Close)
	return e
}

// standIn is a server answering every request with status and body, in
// place of a dependency that misbehaves in a way the fakes do not offer.
func standIn(t *testing.T, tls bool, status int, body string) *httptest.Server {
	t.Helper()
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	})
	var s *httptest.Server
	if tls {
		s = httptest.NewTLSServer(h)
	} else {
		s = httptest.NewServer(h)
	}
	t.Cleanup(s.Close)
	return s
}

// hangingServer accepts requests and answers none until the test ends.
func hangingServer(t *testing.T) *httptest.Server {
	t.Helper()
	release := make(chan struct{})
	s := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); s.Close() })
	return s
}

func TestCheck(t *testing.T) {
	unreachablePG := "postgres://mdebot:pw-s3cret-in-dsn@127.0.0.1:1/mdebot?connect_timeout=5"
	tests := []struct {
		name string
		mode string
		// breakIt damages one dependency; opts may be changed too.
		breakIt func(t *testing.T, e *demo.Env, o *app.CheckOptions)
		// failed: check name -> what its detail must say. Every other check must be ok.
		failed map[string]string
		// notIn: strings no detail may contain.
		notIn []string
	}{
		{name: "http mode, all ok", mode: "http"},
		{name: "socket mode, all ok", mode: "socket"},
		{
			name: "slack down", mode: "socket",
			breakIt: func(_ *testing.T, e *demo.Env, _ *app.CheckOptions) { e.Slack.Close() },
			failed: map[string]string{
				"slack auth.test":             `Post "http://127.0.0.1:`,
				"slack apps.connections.open": `Post "http://127.0.0.1:`,
			},
		},
		{
			name: "wrong bot token", mode: "http",
			breakIt: func(_ *testing.T, e *demo.Env, _ *app.CheckOptions) {
				e.Config.Slack.BotToken = "xoxb-revoked-bot-token"
			},
			failed: map[string]string{"slack auth.test": "invalid_auth"},
			notIn:  []string{"xoxb-revoked-bot-token"},
		},
		{
			name: "wrong app token", mode: "socket",
			breakIt: func(_ *testing.T, e *demo.Env, _ *app.CheckOptions) {
				e.Config.Slack.AppToken = "xapp-revoked-app-token"
			},
			failed: map[string]string{"slack apps.connections.open": "invalid_auth"},
			notIn:  []string{"xapp-revoked-app-token"},
		},
		{
			name: "wrong tenant", mode: "http",
			breakIt: func(_ *testing.T, e *demo.Env, _ *app.CheckOptions) {
				e.Config.Identity.TenantID = "99999999-8888-7777-6666-555555555555"
			},
			failed: map[string]string{"entra": "/99999999-8888-7777-6666-555555555555/v2.0/.well-known/openid-configuration: 400: invalid_tenant: AADSTS90002: Tenant '99999999-8888-7777-6666-555555555555' not found."},
			notIn:  []string{"Trace ID"},
		},
		{
			name: "entra down", mode: "http",
			breakIt: func(_ *testing.T, e *demo.Env, _ *app.CheckOptions) { e.Entra.Close() },
			failed:  map[string]string{"entra": "connection refused"},
		},
		{
			name: "entra certificate not trusted", mode: "http",
			breakIt: func(_ *testing.T, _ *demo.Env, o *app.CheckOptions) { o.EntraClient = &http.Client{} },
			failed:  map[string]string{"entra": "certificate signed by unknown authority"},
		},
		{
			name: "entra answers for another tenant", mode: "http",
			breakIt: func(t *testing.T, e *demo.Env, o *app.CheckOptions) {
				s := standIn(t, true, http.StatusOK, `{"issuer":"https://login.example/00000000-0000-0000-0000-000000000000/v2.0"}`)
				e.Config.Identity.Authority, o.EntraClient = s.URL, s.Client()
			},
			failed: map[string]string{"entra": "issuer https://login.example/00000000-0000-0000-0000-000000000000/v2.0 does not name tenant " + demo.TenantID},
		},
		{
			name: "defender down", mode: "http",
			breakIt: func(_ *testing.T, e *demo.Env, _ *app.CheckOptions) { e.MDE.Close() },
			failed:  map[string]string{"defender": "/api/machineactions: dial tcp"},
		},
		{
			name: "defender answers 503", mode: "http",
			breakIt: func(t *testing.T, e *demo.Env, _ *app.CheckOptions) {
				e.Config.MDE.BaseURL = standIn(t, false, http.StatusServiceUnavailable, `{"error":{"code":"ServiceUnavailable"}}`).URL
			},
			failed: map[string]string{"defender": "/api/machineactions: 503 Service Unavailable"},
		},
		{
			name: "defender does not answer", mode: "http",
			breakIt: func(t *testing.T, e *demo.Env, o *app.CheckOptions) {
				e.Config.MDE.BaseURL = hangingServer(t).URL
				o.Timeout = 3 * time.Second
			},
			failed: map[string]string{"defender": "context deadline exceeded (no answer within 3s)"},
		},
		{
			name: "sqlite path unreachable", mode: "http",
			breakIt: func(t *testing.T, e *demo.Env, _ *app.CheckOptions) {
				e.Config.Store.DSN = "file:" + filepath.Join(t.TempDir(), "no", "such", "dir", "mdebot.db")
			},
			failed: map[string]string{"database": "sqlite file:"},
		},
		{
			name: "postgres unreachable, password kept out", mode: "http",
			breakIt: func(_ *testing.T, e *demo.Env, _ *app.CheckOptions) {
				e.Config.Store.Driver, e.Config.Store.DSN = "postgres", unreachablePG
			},
			failed: map[string]string{"database": "postgres postgres://mdebot:xxxxx@127.0.0.1:1/mdebot?connect_timeout=5: store: connect: failed to connect to `user=mdebot database=mdebot`: 127.0.0.1:1 (127.0.0.1): dial error"},
			notIn:  []string{"pw-s3cret-in-dsn"},
		},
		{
			name: "postgres key=value DSN unreachable, password kept out", mode: "http",
			breakIt: func(_ *testing.T, e *demo.Env, _ *app.CheckOptions) {
				e.Config.Store.Driver = "postgres"
				e.Config.Store.DSN = "host=127.0.0.1 port=1 user=mdebot password=pw-s3cret-in-kv dbname=mdebot connect_timeout=5"
			},
			failed: map[string]string{"database": "postgres host=127.0.0.1 port=1 user=mdebot password=xxxxx dbname=mdebot"},
			notIn:  []string{"pw-s3cret-in-kv"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := startFakes(t, tt.mode)
			o := app.CheckOptions{EntraClient: e.Entra.Client()}
			if tt.breakIt != nil {
				tt.breakIt(t, e, &o)
			}
			results := app.Check(context.Background(), e.Config, o)

			wantNames := []string{"slack auth.test", "entra", "defender", "database"}
			if tt.mode == "socket" {
				wantNames = slices.Insert(wantNames, 1, "slack apps.connections.open")
			}
			var names []string
			for _, r := range results {
				names = append(names, r.Name)
			}
			if !slices.Equal(names, wantNames) {
				t.Fatalf("checks %v, want %v", names, wantNames)
			}
			okDetail := map[string]string{
				"slack auth.test":             "team T0001 as U0BOT",
				"slack apps.connections.open": "app-level token accepted",
				"entra":                       "tenant " + demo.TenantID + " known, issuer " + e.Entra.URL() + "/" + demo.TenantID + "/v2.0",
				"defender":                    "/api/machineactions: 401 Unauthorized without a token (reachable)",
				"database":                    "sqlite file:" + e.Dir,
			}
			secrets := append(app.Secrets(e.Config), tt.notIn...)
			for _, r := range results {
				want, shouldFail := tt.failed[r.Name]
				switch {
				case shouldFail && r.OK:
					t.Errorf("%s: ok (%s), want a failure saying %q", r.Name, r.Detail, want)
				case shouldFail && !strings.Contains(r.Detail, want):
					t.Errorf("%s failed with %q, want it to say %q", r.Name, r.Detail, want)
				case !shouldFail && !r.OK:
					t.Errorf("%s failed (%s), want ok", r.Name, r.Detail)
				case !shouldFail && !strings.Contains(r.Detail, okDetail[r.Name]):
					t.Errorf("%s ok with %q, want it to say %q", r.Name, r.Detail, okDetail[r.Name])
				}
				for _, s := range secrets {
					if s != "" && strings.Contains(r.Detail, s) {
						t.Errorf("%s detail shows a secret: %q", r.Name, r.Detail)
					}
				}
				t.Log(r)
			}
		})
	}
}

// The database check against a real PostgreSQL, with a password in the DSN
// (trust auth ignores it) that must not be shown.
func TestCheckPostgres(t *testing.T) {
	dsn := freshPostgres(t)
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		t.Fatalf("%s must be a postgres:// URL with a user", postgresDSNEnv)
	}
	u.User = url.UserPassword(u.User.Username(), "pw-s3cret-pg")
	e := startFakes(t, "http")
	e.Config.Store.Driver, e.Config.Store.DSN = "postgres", u.String()
	results := app.Check(context.Background(), e.Config, app.CheckOptions{EntraClient: e.Entra.Client()})
	for _, r := range results {
		if !r.OK {
			t.Errorf("%s failed: %s", r.Name, r.Detail)
		}
		if strings.Contains(r.Detail, "pw-s3cret-pg") {
			t.Errorf("%s detail shows the DSN password: %q", r.Name, r.Detail)
		}
	}
	if db := results[len(results)-1]; db.Name != "database" || !strings.Contains(db.Detail, "postgres postgres://"+u.User.Username()+":xxxxx@") {
		t.Errorf("database check: %+v", db)
	}
}

// freshPostgres is a throw-away database on the test server (skips loudly without it).
func freshPostgres(t *testing.T) string { return storetest.FreshPostgres(t) }

func TestCheckResultString(t *testing.T) {
	tests := []struct {
		r    app.CheckResult
		want string
	}{
		{app.CheckResult{Name: "slack auth.test", OK: true, Detail: "team T0001 as U0BOT"}, "ok     slack auth.test: team T0001 as U0BOT"},
		{app.CheckResult{Name: "defender", Detail: "GET https://api.security.microsoft.com/api/machineactions: 503 Service Unavailable"},
			"FAILED defender: GET https://api.security.microsoft.com/api/machineactions: 503 Service Unavailable"},
	}
	for _, tt := range tests {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

// Check never gets a config that failed Validate from the CLI, but a
// misconfigured one must still come back as failures, not a panic.
func TestCheckBadValues(t *testing.T) {
	cfg := config.Defaults()
	cfg.Slack.BotToken = "not-a-token"
	cfg.MDE.Cloud = "moon"
	cfg.Store.Driver = "oracle"
	cfg.Identity.Authority = "https://127.0.0.1:1"
	cfg.Identity.TenantID = "11111111-2222-3333-4444-555555555555"
	results := app.Check(context.Background(), cfg, app.CheckOptions{Timeout: 5 * time.Second})
	want := map[string]string{
		"slack auth.test":             "slack.bot_token must be a bot token",
		"slack apps.connections.open": "slack.bot_token must be a bot token",
		"entra":                       "connection refused",
		"defender":                    `unknown cloud "moon"`,
		"database":                    `unknown driver "oracle"`,
	}
	if len(results) != len(want) {
		t.Fatalf("%d results, want %d: %v", len(results), len(want), results)
	}
	for _, r := range results {
		if r.OK || !strings.Contains(r.Detail, want[r.Name]) {
			t.Errorf("%s: ok=%v %q, want a failure saying %q", r.Name, r.OK, r.Detail, want[r.Name])
		}
	}
}
