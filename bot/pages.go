package bot

import (
	"html/template"
	"net/http"
)

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 4em auto; padding: 0 1em">
<h1>{{.Title}}</h1>
<p>{{.Text}}</p>
</body>
</html>
`))

// serveCallback is GET /auth/callback, the OAuth redirect target of the
// sign-in link. The query holds a one-time code: it is never logged.
func (s *Server) serveCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page := struct {
		OK          bool
		Title, Text string
	}{Title: "Sign-in unavailable", Text: "The bot is not ready; please try again in a minute."}
	status := http.StatusServiceUnavailable
	if s.o.Handler != nil {
		p := s.o.Handler.LoginCallback(r.Context(), q.Get("state"), q.Get("code"), q.Get("error"), q.Get("error_description"))
		page.OK, page.Title, page.Text = p.OK, p.Title, p.Text
		status = http.StatusBadRequest
		if p.OK {
			status = http.StatusOK
		}
		if page.Title == "" {
			page.Title = "Sign-in"
		}
		s.log.Info("sign-in callback", "ok", p.OK, "error", q.Get("error"))
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer") // the URL carries the code
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.WriteHeader(status)
	if err := pageTmpl.Execute(w, page); err != nil {
		s.log.Warn("writing callback page", "err", err)
	}
}

// serveHealth is GET /healthz: the process is up.
func (s *Server) serveHealth(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok"))
}

// serveReady is GET /readyz: Options.Ready says whether the bot can work.
func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if s.o.Ready != nil {
		if err := s.o.Ready(r.Context()); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("not ready: " + err.Error() + "\n"))
			return
		}
	}
	_, _ = w.Write([]byte("ok"))
}
