package bot

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/mdebot/mdebot/bot/slackfake"
	"github.com/mdebot/mdebot/handlers"
)

// The callback page shows the use cases' fixed texts, HTML-escaped, and
// nothing of the URL: the error_description is not even passed on.
func TestAuthCallback(t *testing.T) {
	tests := []struct {
		name       string
		page       handlers.Page
		query      url.Values
		wantStatus int
		wantBody   []string
		wantCall   [4]string
	}{
		{"linked", handlers.Page{OK: true, Title: "Linked", Text: "You are signed in as <alice@example.com>."},
			url.Values{"state": {"s1"}, "code": {"c1"}}, http.StatusOK,
			[]string{"<h1>Linked</h1>", "&lt;alice@example.com&gt;"}, [4]string{"s1", "c1", "", ""}},
		{"refused", handlers.Page{Title: "<script>alert(1)</script>", Text: "does not match"},
			url.Values{"state": {"s2"}, "error": {"access_denied"}, "error_description": {"Call +1-555-0100 <b>now</b> to restore access"}}, http.StatusBadRequest,
			[]string{"&lt;script&gt;alert(1)&lt;/script&gt;", "does not match"}, [4]string{"s2", "", "access_denied", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newHTTPEnv(t, nil)
			env.h.setPage(tt.page)
			req, _ := http.NewRequest(http.MethodGet, env.url+"/auth/callback?"+tt.query.Encode(), nil)
			status, body := do(t, req)
			if status != tt.wantStatus {
				t.Fatalf("status %d, want %d", status, tt.wantStatus)
			}
			for _, w := range tt.wantBody {
				if !strings.Contains(body, w) {
					t.Fatalf("page lacks %q:\n%s", w, body)
				}
			}
			if strings.Contains(body, "<script>") || strings.Contains(body, "555-0100") || strings.Contains(body, "<form") {
				t.Fatalf("page not escaped, shows the URL's text, or has a form:\n%s", body)
			}
			if got := env.h.Callbacks(); len(got) != 1 || got[0] != tt.wantCall {
				t.Fatalf("LoginCallback got %v, want %v", got, tt.wantCall)
			}
		})
	}
}

// A page with Confirm is a form naming the Slack user and workspace, posting
// state, code and token back to /auth/confirm; the page cannot be framed.
func TestAuthCallbackConfirmationForm(t *testing.T) {
	var names *Slack
	env := newHTTPEnv(t, func(o *Options) { o.OwnTeamName = "Contoso SOC" })
	env.fake.AddUser(slackfake.User{ID: "U0ALICE01", Name: "Alice Analyst"})
	names = newTestSlack(t, env.fake, nil)
	env.srv.o.Names = names
	env.h.setPage(handlers.Page{Title: "Link this Slack account?", Text: "Only if it is yours.",
		Confirm: &handlers.LinkConfirm{Team: env.fake.TeamID(), User: "U0ALICE01", State: "st-1", Code: "0.AX\"code", CSRF: "tok-1"}})
	resp, err := http.Get(env.url + "/auth/callback?state=st-1&code=0.AX%22code")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body := string(b)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d:\n%s", resp.StatusCode, body)
	}
	for _, w := range []string{
		`<form method="post" action="confirm">`,
		`name="state" value="st-1"`, `name="code" value="0.AX&#34;code"`, `name="csrf" value="tok-1"`,
		"Alice Analyst", "U0ALICE01", "Contoso SOC", env.fake.TeamID(), "Only if it is yours.",
	} {
		if !strings.Contains(body, w) {
			t.Errorf("confirmation page lacks %q:\n%s", w, body)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "form-action 'self'") {
		t.Errorf("CSP %q allows framing or foreign form targets", csp)
	}
	if resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("headers %v", resp.Header)
	}
}

// POST /auth/confirm hands the form's fields to LoginConfirm and shows its page.
func TestAuthConfirm(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		page       handlers.Page
		wantStatus int
		wantCall   *[4]string
	}{
		{"confirmed", url.Values{"state": {"st-1"}, "code": {"c1"}, "csrf": {"tok-1"}}.Encode(),
			handlers.Page{OK: true, Title: "Account linked"}, http.StatusOK, &[4]string{"st-1", "c1", "", "tok-1"}},
		{"refused", url.Values{"state": {"st-1"}, "code": {"c1"}}.Encode(),
			handlers.Page{Title: "Account not linked"}, http.StatusBadRequest, &[4]string{"st-1", "c1", "", ""}},
		{"oversized form", "state=" + strings.Repeat("a", maxConfirmBody+1),
			handlers.Page{OK: true}, http.StatusBadRequest, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newHTTPEnv(t, nil)
			env.h.setPage(tt.page)
			req, _ := http.NewRequest(http.MethodPost, env.url+"/auth/confirm", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			status, body := do(t, req)
			if status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", status, tt.wantStatus, body)
			}
			got := env.h.Callbacks()
			switch {
			case tt.wantCall == nil && len(got) != 0:
				t.Fatalf("handler called with %v", got)
			case tt.wantCall != nil && (len(got) != 1 || got[0] != *tt.wantCall):
				t.Fatalf("LoginConfirm got %v, want %v", got, *tt.wantCall)
			}
		})
	}
	env := newHTTPEnv(t, nil)
	req, _ := http.NewRequest(http.MethodGet, env.url+"/auth/confirm", nil)
	if status, _ := do(t, req); status != http.StatusMethodNotAllowed {
		t.Fatalf("GET /auth/confirm answered %d, want 405", status)
	}
}

// /readyz says why only in the log, under the reference it shows.
func TestReadyzHidesTheReason(t *testing.T) {
	var logs bytes.Buffer
	env := newHTTPEnv(t, func(o *Options) {
		o.Ready = func(context.Context) error {
			return errors.New(`store: failed to connect to host=db.internal user=mdebot: password authentication failed`)
		}
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	req, _ := http.NewRequest(http.MethodGet, env.url+"/readyz", nil)
	status, body := do(t, req)
	m := regexp.MustCompile(`^not ready \(ref ([0-9a-f]{16})\)\n$`).FindStringSubmatch(body)
	if status != http.StatusServiceUnavailable || m == nil {
		t.Fatalf("got %d %q, want 503 and a reference only", status, body)
	}
	if !strings.Contains(logs.String(), "ref="+m[1]) || !strings.Contains(logs.String(), "db.internal") {
		t.Fatalf("the log lacks the reference or the reason:\n%s", logs.String())
	}
}
