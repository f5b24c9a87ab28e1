package slackfake

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxAPIBody caps a Web API request body.
const maxAPIBody = 1 << 20

// result is a method's answer: the fields besides "ok", or a Slack error code.
type result struct {
	fields map[string]any
	err    string
}

func ok(fields map[string]any) result { return result{fields: fields} }
func fail(code string) result         { return result{err: code} }

// methods are the Web API methods the fake implements.
var methods = map[string]func(s *Server, p url.Values) result{
	"auth.test":                    (*Server).authTest,
	"chat.postMessage":             (*Server).postMessage,
	"chat.postEphemeral":           (*Server).postEphemeral,
	"chat.update":                  (*Server).update,
	"chat.delete":                  (*Server).deleteMessage,
	"users.info":                   (*Server).usersInfo,
	"usergroups.users.list":        (*Server).groupUsers,
	"conversations.info":           (*Server).conversationsInfo,
	"conversations.open":           (*Server).conversationsOpen,
	"files.getUploadURLExternal":   (*Server).getUploadURL,
	"files.completeUploadExternal": (*Server).completeUpload,
	"apps.connections.open":        (*Server).connectionsOpen,
	"views.publish":                (*Server).publishView,
}

// tokenMethods are the methods whose answer depends on the token used.
var tokenMethods = map[string]func(s *Server, p url.Values, token string) result{
	"functions.completeSuccess": (*Server).completeFunctionSuccess,
	"functions.completeError":   (*Server).completeFunctionError,
}

// serveAPI is /api/{method}: faults first, then the token, then the method.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	method := r.PathValue("method")
	params, raw, token, perr := readParams(r)
	call := &Call{Method: method, Params: params, JSON: raw}
	answer := func(status int, res result) {
		call.Error = res.err
		s.record(Event{Kind: EventCall, Call: call})
		body := map[string]any{"ok": res.err == ""}
		if res.err != "" {
			body["error"] = res.err
		}
		for k, v := range res.fields {
			body[k] = v
		}
		writeJSON(w, status, body)
	}

	if f, ok := s.takeFault(method); ok {
		if f.status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", retryAfterHeader(f.retryAfter))
		}
		answer(f.status, fail(f.slackError))
		return
	}
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		answer(http.StatusMethodNotAllowed, fail("method_not_allowed"))
		return
	}
	if perr != "" {
		answer(http.StatusOK, fail(perr))
		return
	}
	if why := s.checkToken(method, token); why != "" {
		answer(http.StatusOK, fail(why))
		return
	}
	if wait, limited := s.overLimit(method); limited {
		w.Header().Set("Retry-After", retryAfterHeader(wait))
		answer(http.StatusTooManyRequests, fail("ratelimited"))
		return
	}
	if m, found := tokenMethods[method]; found {
		answer(http.StatusOK, m(s, params, token))
		return
	}
	m, found := methods[method]
	if !found {
		answer(http.StatusOK, fail("unknown_method"))
		return
	}
	answer(http.StatusOK, m(s, params))
}

// checkToken says why token cannot call method ("" when it can): the
// app-level token opens sockets only; the bot token, or a running
// execution's token (bot_access_token of function_executed), does the rest.
func (s *Server) checkToken(method, token string) string {
	switch {
	case token == "":
		return "not_authed"
	case method == "apps.connections.open":
		if token != s.o.AppToken {
			return "invalid_auth"
		}
	case token == s.o.BotToken:
	default:
		s.mu.Lock()
		_, isExecToken := s.execTokens[token]
		s.mu.Unlock()
		if !isExecToken {
			return "invalid_auth"
		}
	}
	return ""
}

// readParams reads form or JSON parameters and the token (Authorization:
// Bearer, or the form's token field) the way slack-go sends them.
func readParams(r *http.Request) (p url.Values, raw json.RawMessage, token, errCode string) {
	p = url.Values{}
	if bearer, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); found {
		token = bearer
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxAPIBody))
		if err != nil {
			return p, nil, token, "invalid_json"
		}
		if len(strings.TrimSpace(string(body))) == 0 || string(body) == "null" {
			return p, nil, token, ""
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(body, &fields); err != nil {
			return p, body, token, "invalid_json"
		}
		for k, v := range fields {
			var str string
			if json.Unmarshal(v, &str) == nil {
				p.Set(k, str)
			} else {
				p.Set(k, string(v))
			}
		}
		return p, body, token, ""
	}
	r.Body = http.MaxBytesReader(nil, r.Body, maxAPIBody)
	if err := r.ParseForm(); err != nil {
		return p, nil, token, "invalid_form_data"
	}
	for k, v := range r.Form {
		p[k] = slices.Clone(v)
	}
	if token == "" {
		token = p.Get("token")
	}
	p.Del("token") // never recorded
	return p, nil, token, ""
}

// flag reads an optional boolean parameter as sent.
func flag(p url.Values, name string) *bool {
	if !p.Has(name) {
		return nil
	}
	b, _ := strconv.ParseBool(p.Get(name))
	return &b
}

// blocks returns the blocks parameter as raw JSON (nil when absent).
func blocks(p url.Values) json.RawMessage {
	if !p.Has("blocks") {
		return nil
	}
	return json.RawMessage(p.Get("blocks"))
}

func (s *Server) authTest(url.Values) result {
	return ok(map[string]any{
		"url":     "https://" + s.o.TeamName + ".slack.com/",
		"team":    s.o.TeamName,
		"user":    "mdebot",
		"team_id": s.o.TeamID,
		"user_id": s.o.BotUserID,
		"bot_id":  "B0001",
	})
}

func (s *Server) postMessage(p url.Values) result {
	channel := p.Get("channel")
	if p.Get("text") == "" && p.Get("blocks") == "" && p.Get("attachments") == "" {
		return fail("no_text")
	}
	if p.Has("blocks") && !json.Valid([]byte(p.Get("blocks"))) {
		return fail("invalid_blocks")
	}
	s.mu.Lock()
	if why := s.canPost(channel); why != "" {
		s.mu.Unlock()
		return fail(why)
	}
	m := &Message{
		Channel:     channel,
		TS:          s.nextTS(),
		ThreadTS:    p.Get("thread_ts"),
		DMUser:      s.dms[channel],
		Text:        p.Get("text"),
		Blocks:      blocks(p),
		UnfurlLinks: flag(p, "unfurl_links"),
		UnfurlMedia: flag(p, "unfurl_media"),
	}
	s.messages = append(s.messages, m)
	snap := *m
	s.mu.Unlock()
	s.record(Event{Kind: EventMessage, Message: &snap})
	return ok(map[string]any{
		"channel": channel,
		"ts":      snap.TS,
		"message": map[string]any{"type": "message", "text": snap.Text, "ts": snap.TS, "thread_ts": snap.ThreadTS},
	})
}

func (s *Server) postEphemeral(p url.Values) result {
	channel, user := p.Get("channel"), p.Get("user")
	if p.Get("text") == "" && p.Get("blocks") == "" && p.Get("attachments") == "" {
		return fail("no_text")
	}
	if p.Has("blocks") && !json.Valid([]byte(p.Get("blocks"))) {
		return fail("invalid_blocks")
	}
	s.mu.Lock()
	if _, known := s.users[user]; !known {
		s.mu.Unlock()
		return fail("user_not_found")
	}
	if why := s.canPost(channel); why != "" {
		s.mu.Unlock()
		return fail(why)
	}
	m := Message{
		Channel:     channel,
		TS:          s.nextTS(),
		ThreadTS:    p.Get("thread_ts"),
		User:        user,
		DMUser:      s.dms[channel],
		Text:        p.Get("text"),
		Blocks:      blocks(p),
		UnfurlLinks: flag(p, "unfurl_links"),
		UnfurlMedia: flag(p, "unfurl_media"),
		Ephemeral:   true,
	}
	s.mu.Unlock()
	s.record(Event{Kind: EventEphemeral, Message: &m})
	return ok(map[string]any{"message_ts": m.TS})
}

// findMessage returns the live channel message at (channel, ts). Callers hold s.mu.
func (s *Server) findMessage(channel, ts string) *Message {
	for _, m := range s.messages {
		if m.Channel == channel && m.TS == ts && !m.Deleted {
			return m
		}
	}
	return nil
}

func (s *Server) update(p url.Values) result {
	channel, ts := p.Get("channel"), p.Get("ts")
	if p.Has("blocks") && !json.Valid([]byte(p.Get("blocks"))) {
		return fail("invalid_blocks")
	}
	s.mu.Lock()
	m := s.findMessage(channel, ts)
	if m == nil {
		s.mu.Unlock()
		return fail("message_not_found")
	}
	if p.Has("text") {
		m.Text = p.Get("text")
	}
	if p.Has("blocks") {
		m.Blocks = blocks(p)
	}
	m.UnfurlLinks, m.UnfurlMedia = flag(p, "unfurl_links"), flag(p, "unfurl_media")
	snap := *m
	s.mu.Unlock()
	s.record(Event{Kind: EventUpdate, Message: &snap})
	return ok(map[string]any{"channel": channel, "ts": ts, "text": snap.Text})
}

func (s *Server) deleteMessage(p url.Values) result {
	channel, ts := p.Get("channel"), p.Get("ts")
	s.mu.Lock()
	m := s.findMessage(channel, ts)
	if m == nil {
		s.mu.Unlock()
		return fail("message_not_found")
	}
	m.Deleted = true
	snap := *m
	s.mu.Unlock()
	s.record(Event{Kind: EventDelete, Message: &snap})
	return ok(map[string]any{"channel": channel, "ts": ts})
}

func (s *Server) usersInfo(p url.Values) result {
	s.mu.Lock()
	u, found := s.users[p.Get("user")]
	s.mu.Unlock()
	if !found {
		return fail("user_not_found")
	}
	return ok(map[string]any{"user": map[string]any{
		"id":                  u.ID,
		"team_id":             or(u.TeamID, s.o.TeamID),
		"name":                u.Name,
		"real_name":           u.Name,
		"deleted":             false,
		"is_bot":              u.IsBot,
		"is_app_user":         false,
		"is_admin":            false,
		"is_owner":            false,
		"is_restricted":       u.Guest != NotGuest,
		"is_ultra_restricted": u.Guest == SingleChannelGuest,
		"profile":             map[string]any{"email": u.Email, "real_name": u.Name, "display_name": u.Name},
	}})
}

func (s *Server) groupUsers(p url.Values) result {
	s.mu.Lock()
	members, found := s.groups[p.Get("usergroup")]
	members = slices.Clone(members)
	s.mu.Unlock()
	if !found {
		return fail("no_such_subteam")
	}
	if members == nil {
		members = []string{}
	}
	return ok(map[string]any{"users": members})
}

func (s *Server) conversationsInfo(p url.Values) result {
	id := p.Get("channel")
	s.mu.Lock()
	defer s.mu.Unlock()
	if user, isDM := s.dms[id]; isDM {
		return ok(map[string]any{"channel": map[string]any{
			"id": id, "is_im": true, "user": user, "is_member": true, "is_org_shared": false, "is_ext_shared": false,
		}})
	}
	c, found := s.channels[id]
	if !found {
		return fail("channel_not_found")
	}
	connected := c.ConnectedTeams
	if connected == nil {
		connected = []string{}
	}
	return ok(map[string]any{"channel": map[string]any{
		"id":                    c.ID,
		"name":                  c.Name,
		"context_team_id":       s.o.TeamID,
		"is_channel":            !c.IsPrivate,
		"is_group":              c.IsPrivate,
		"is_private":            c.IsPrivate,
		"is_member":             c.BotIsMember,
		"is_im":                 false,
		"is_mpim":               false,
		"is_archived":           false,
		"is_shared":             c.ExtShared || c.OrgShared,
		"is_ext_shared":         c.ExtShared,
		"is_org_shared":         c.OrgShared,
		"is_pending_ext_shared": c.PendingExtShared,
		"connected_team_ids":    slices.Clone(connected),
	}})
}

func (s *Server) conversationsOpen(p url.Values) result {
	users := strings.Split(p.Get("users"), ",")
	if p.Get("users") == "" || len(users) != 1 {
		// mdebot only opens one-to-one DMs; group DMs are not faked.
		return fail("users_list_not_supplied")
	}
	user := users[0]
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, known := s.users[user]; !known {
		return fail("user_not_found")
	}
	for ch, u := range s.dms {
		if u == user {
			return ok(map[string]any{"channel": map[string]any{"id": ch}, "already_open": true})
		}
	}
	ch := s.nextID("D")
	s.dms[ch] = user
	return ok(map[string]any{"channel": map[string]any{"id": ch}})
}

func (s *Server) getUploadURL(p url.Values) result {
	name := p.Get("filename")
	length, err := strconv.ParseInt(p.Get("length"), 10, 64)
	if name == "" || err != nil || length <= 0 {
		return fail("invalid_arguments")
	}
	s.mu.Lock()
	id := s.nextID("F")
	s.uploads[id] = &Upload{FileID: id, Filename: name, Declared: length, Received: -1}
	s.upOrder = append(s.upOrder, id)
	s.mu.Unlock()
	return ok(map[string]any{"upload_url": s.ts.URL + "/upload/" + id, "file_id": id})
}

func (s *Server) completeUpload(p url.Values) result {
	var files []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	if err := json.Unmarshal([]byte(p.Get("files")), &files); err != nil || len(files) == 0 {
		return fail("invalid_arguments")
	}
	channel, thread := p.Get("channel_id"), p.Get("thread_ts")
	s.mu.Lock()
	if channel != "" {
		if why := s.canPost(channel); why != "" {
			s.mu.Unlock()
			return fail(why)
		}
	}
	for _, f := range files {
		u, found := s.uploads[f.ID]
		if !found {
			s.mu.Unlock()
			return fail("file_not_found")
		}
		if u.Received != u.Declared {
			// The bytes never arrived, or not as many as announced.
			s.mu.Unlock()
			return fail("file_upload_incomplete")
		}
	}
	var shared []Event
	out := make([]map[string]any, 0, len(files))
	for _, f := range files {
		u := s.uploads[f.ID]
		u.Completed, u.Channel, u.ThreadTS, u.Title = true, channel, thread, f.Title
		u.InitialComment = p.Get("initial_comment")
		snap := *u
		snap.Bytes = slices.Clone(u.Bytes)
		shared = append(shared, Event{Kind: EventFileShared, Upload: &snap})
		out = append(out, map[string]any{"id": f.ID, "title": f.Title})
	}
	s.mu.Unlock()
	s.record(shared...)
	return ok(map[string]any{"files": out})
}

func (s *Server) connectionsOpen(url.Values) result {
	s.mu.Lock()
	ticket := s.nextID("ticket-")
	s.tickets[ticket] = true
	s.mu.Unlock()
	wsURL := "ws" + strings.TrimPrefix(s.ts.URL, "http") + "/socket/" + ticket
	return ok(map[string]any{"url": wsURL})
}

// retryAfterHeader formats d as Slack's Retry-After (whole seconds, rounded up).
func retryAfterHeader(d time.Duration) string {
	return fmt.Sprint(int(math.Ceil(d.Seconds())))
}
