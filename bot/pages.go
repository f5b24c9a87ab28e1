package bot

import (
	"context"
	"html/template"
	"net/http"
	"regexp"
	"time"

	"github.com/mdebot/mdebot/handlers"
)

// The sign-in pages show fixed texts from the use cases and, on the
// confirmation page, the names of the Slack user and workspace being linked.
// Nothing of the request URL is shown: an error_description there is
// whatever the link's author wrote, on the bot's own origin.
var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 4em auto; padding: 0 1em">
<h1>{{.Title}}</h1>
<p>{{.Text}}</p>
{{with .Confirm}}<ul>
<li>Slack user: <strong>{{.UserName}}</strong> ({{.User}})</li>
<li>Slack workspace: <strong>{{.TeamName}}</strong> ({{.Team}})</li>
</ul>
<form method="post" action="confirm">
<input type="hidden" name="state" value="{{.State}}">
<input type="hidden" name="code" value="{{.Code}}">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<button type="submit">Yes, this is my Slack account: link it</button>
</form>
<p>Not you? Close this window: nothing has been stored.</p>{{end}}
</body>
</html>
`))

// page is what pageTmpl renders.
type page struct {
	Title, Text string
	Confirm     *confirmView
}

// confirmView is handlers.LinkConfirm with names for the IDs.
type confirmView struct {
	handlers.LinkConfirm
	UserName, TeamName string
}

// maxConfirmBody caps the confirmation form (state, code and token: a few KiB).
const maxConfirmBody = 16 << 10

// callbackWriteTimeout covers the code redemption (identity bounds it at a
// minute), which may outlast http.write_timeout.
const callbackWriteTimeout = 90 * time.Second

// serveCallback is GET /auth/callback, the OAuth redirect target of the
// sign-in link. The query holds a one-time code: it is never logged.
func (s *Server) serveCallback(w http.ResponseWriter, r *http.Request) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(callbackWriteTimeout))
	q := r.URL.Query()
	s.renderPage(w, r, func(h Handler) handlers.Page {
		p := h.LoginCallback(r.Context(), q.Get("state"), q.Get("code"), q.Get("error"))
		s.log.Info("sign-in callback", "ok", p.OK, "confirm", p.Confirm != nil, "error", oauthErrorCode(q.Get("error")))
		return p
	})
}

// serveConfirm is POST /auth/confirm, the confirmation form of the
// callback page. The form holds the code and a CSRF token: never logged.
func (s *Server) serveConfirm(w http.ResponseWriter, r *http.Request) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(callbackWriteTimeout))
	r.Body = http.MaxBytesReader(w, r.Body, maxConfirmBody)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	s.renderPage(w, r, func(h Handler) handlers.Page {
		p := h.LoginConfirm(r.Context(), r.PostForm.Get("state"), r.PostForm.Get("code"), r.PostForm.Get("csrf"))
		s.log.Info("sign-in confirmation", "ok", p.OK)
		return p
	})
}

// renderPage writes the page the handler returns (200 when OK or asking
// for a confirmation, else 400; 503 without a handler).
func (s *Server) renderPage(w http.ResponseWriter, r *http.Request, get func(Handler) handlers.Page) {
	v := page{Title: "Sign-in unavailable", Text: "The bot is not ready; please try again in a minute."}
	status := http.StatusServiceUnavailable
	if s.o.Handler != nil {
		p := get(s.o.Handler)
		v.Title, v.Text = p.Title, p.Text
		if v.Title == "" {
			v.Title = "Sign-in"
		}
		status = http.StatusBadRequest
		if p.OK || p.Confirm != nil {
			status = http.StatusOK
		}
		if p.Confirm != nil {
			v.Confirm = s.confirmView(r.Context(), *p.Confirm)
		}
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer") // the URL carries the code
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY") // no clickjacking of the confirmation button
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(status)
	if err := pageTmpl.Execute(w, v); err != nil {
		s.log.Warn("writing sign-in page", "err", err)
	}
}

// confirmView names the user (users.info, bounded) and the workspace; an
// ID stands in for a name that cannot be had.
func (s *Server) confirmView(ctx context.Context, c handlers.LinkConfirm) *confirmView {
	v := &confirmView{LinkConfirm: c, UserName: c.User, TeamName: c.Team}
	if c.Team == s.o.OwnTeam && s.o.OwnTeamName != "" {
		v.TeamName = s.o.OwnTeamName
	}
	if s.o.Names != nil {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if name, err := s.o.Names.UserName(ctx, c.User); err == nil && name != "" {
			v.UserName = name
		} else if err != nil {
			s.log.Warn("naming the Slack user on the confirmation page", "user", c.User, "err", err)
		}
	}
	return v
}

// oauthCodeRE is the shape of an OAuth error code (RFC 6749 section 5.2).
var oauthCodeRE = regexp.MustCompile(`^[a-z_]{1,64}$`)

// oauthErrorCode is the error parameter, for logs: a well-formed code, or a
// marker for anything else (the parameter is whatever the URL's author put).
func oauthErrorCode(e string) string {
	switch {
	case e == "":
		return ""
	case oauthCodeRE.MatchString(e):
		return e
	}
	return "(malformed)"
}

// serveHealth is GET /healthz: the process is up.
func (s *Server) serveHealth(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok"))
}

// serveReady is GET /readyz: Options.Ready says whether the bot can work.
// The reason stays in the log, under a reference: a database error may name
// hosts and users, and /readyz may be reachable by anyone.
func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if s.o.Ready != nil {
		if err := s.o.Ready(r.Context()); err != nil {
			ref := newRequestID()
			s.log.Warn("not ready", "ref", ref, "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("not ready (ref " + ref + ")\n"))
			return
		}
	}
	_, _ = w.Write([]byte("ok"))
}
