package handlers

import (
	"context"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/mdebot/mdebot/mde"
)

// The message shortcut (callback_id mde_package_from_message): from any
// message (a Defender alert, a Sentinel incident post, a colleague's note) it
// finds machine action IDs, device IDs and host names, offers the matching
// get or collect privately with a Confirm button (a choice when several are
// found), and a click runs it exactly as if the clicker had typed it.
const ShortcutCallback = "mde_package_from_message"

// maxFound bounds the candidates offered (one button each).
const maxFound = 5

// found is one thing worth fetching that a message names.
type found struct {
	verb   string // VerbGet or VerbCollect
	target string
}

// command is the slash command text that fetches it.
func (f found) command() string { return f.verb + " " + f.target }

// label is its button's text.
func (f found) label() string {
	if f.verb == VerbGet {
		return "Get package of action " + short(f.target)
	}
	return "Collect from " + short(f.target)
}

func short(s string) string {
	if len(s) > 40 {
		return s[:12] + "…"
	}
	return s
}

var (
	guidRe    = regexp.MustCompile(`(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`)
	hex40Re   = regexp.MustCompile(`(?i)\b[0-9a-f]{40}\b`)
	urlRe     = regexp.MustCompile(`(?i)\bhttps?://[^\s<>|"']+`)
	emailRe   = regexp.MustCompile(`(?i)\b[a-z0-9._%+-]+@[a-z0-9.-]+\b`)
	fqdnRe    = regexp.MustCompile(`(?i)\b[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?)+\b`)
	labeledRe = regexp.MustCompile(`(?i)\b(?:device|host|computer|machine|endpoint)(?:[ _-]?(?:name|dns ?name))?\s*[:=]\s*([a-z0-9][a-z0-9.-]{0,252})`)
	// fileExt are name endings that make a dotted word a file, not a host.
	fileExt = []string{"exe", "dll", "sys", "ps1", "psm1", "bat", "cmd", "vbs", "js", "jse", "hta", "msi", "lnk", "scr",
		"zip", "rar", "7z", "gz", "iso", "img", "txt", "log", "csv", "json", "xml", "html", "htm", "pdf", "doc", "docx",
		"docm", "xls", "xlsx", "xlsm", "ppt", "pptx", "png", "jpg", "jpeg", "gif", "eml", "msg", "tmp", "dat", "ini", "py", "sh"}
)

// findTargets lists, in the order the text names them, the machine action
// IDs (GUIDs: get), device IDs (40 hex characters: collect) and host names
// (a value labelled device, host, computer or machine, or a dotted name that
// is no file, e-mail domain or link host: collect), at most maxFound.
func findTargets(text string) []found {
	type hit struct {
		at int
		f  found
	}
	var hits []hit
	add := func(at int, verb, target string) {
		hits = append(hits, hit{at, found{verb, strings.ToLower(strings.TrimRight(target, "."))}})
	}
	for _, m := range guidRe.FindAllStringIndex(text, -1) {
		add(m[0], VerbGet, text[m[0]:m[1]])
	}
	for _, m := range hex40Re.FindAllStringIndex(text, -1) {
		add(m[0], VerbCollect, text[m[0]:m[1]])
	}
	// Host names never come from links or e-mail addresses: blank those out
	// (keeping offsets), and skip names that are a link's host.
	linkHosts := map[string]bool{}
	plain := []byte(text)
	for _, m := range urlRe.FindAllStringIndex(text, -1) {
		if u, err := url.Parse(text[m[0]:m[1]]); err == nil {
			linkHosts[strings.ToLower(u.Hostname())] = true
		}
		blank(plain, m)
	}
	for _, m := range emailRe.FindAllStringIndex(string(plain), -1) {
		blank(plain, m)
	}
	isHost := func(s string) bool {
		s = strings.ToLower(strings.TrimRight(s, "."))
		return mde.ValidateHostname(s) == nil && !linkHosts[s] && !guidRe.MatchString(s) && !hex40Re.MatchString(s)
	}
	for _, m := range labeledRe.FindAllStringSubmatchIndex(string(plain), -1) {
		if v := string(plain[m[2]:m[3]]); isHost(v) && !isFile(v) {
			add(m[2], VerbCollect, v)
		}
	}
	for _, m := range fqdnRe.FindAllStringIndex(string(plain), -1) {
		v := string(plain[m[0]:m[1]])
		if isHost(v) && !isFile(v) && !isNumeric(v) {
			add(m[0], VerbCollect, v)
		}
	}
	slices.SortStableFunc(hits, func(a, b hit) int { return a.at - b.at })
	var out []found
	for _, h := range hits {
		if len(out) == maxFound {
			break
		}
		if !slices.Contains(out, h.f) {
			out = append(out, h.f)
		}
	}
	return out
}

func blank(b []byte, m []int) {
	for i := m[0]; i < m[1]; i++ {
		b[i] = ' '
	}
}

// isFile reports whether a dotted name ends like a file name.
func isFile(s string) bool {
	i := strings.LastIndexByte(s, '.')
	return i >= 0 && slices.Contains(fileExt, strings.ToLower(s[i+1:]))
}

// isNumeric reports whether the last label is all digits (an IP address, a version).
func isNumeric(s string) bool {
	last := s[strings.LastIndexByte(s, '.')+1:]
	return strings.Trim(last, "0123456789") == ""
}

// Shortcut answers a message shortcut: the offer comes after the
// acknowledgement, privately.
func (s *Service) Shortcut(_ context.Context, sc Shortcut) Ack {
	if sc.CallbackID != ShortcutCallback {
		return Ack{Reply: &Message{Header: T("Unknown shortcut"), Text: Tf("This bot offers the shortcut %s only.", Code(ShortcutCallback))}}
	}
	if !s.opt.Shortcut {
		return Ack{Reply: &Message{Header: T("This shortcut is turned off"), Text: Tf("Ask the bot's operators (slack.features), or type %s.", Code(s.opt.Command+" help"))}}
	}
	return Ack{Work: func(ctx context.Context) { s.offerFromMessage(ctx, sc) }}
}

// offerFromMessage tells the user what the message names, with a button each.
func (s *Service) offerFromMessage(ctx context.Context, sc Shortcut) {
	rec := Recipient{Team: sc.Team, Channel: sc.Channel, User: sc.User, ResponseURL: sc.ResponseURL}
	fs := findTargets(sc.Text)
	s.audit(ctx, AuditEvent{Team: sc.Team, Channel: sc.Channel, Actor: sc.User, Event: "shortcut.used", Outcome: "ok",
		Detail: strings.Join(commands(fs), "; ")})
	switch len(fs) {
	case 0:
		s.reply(ctx, rec, sc.RequestID, Message{
			Header: T("Nothing to fetch in this message"),
			Text: Tf("It names no machine action ID (a GUID), device ID (40 hex characters) or host name. Type %s or %s instead.",
				Code(s.opt.Command+" <action-id>"), Code(s.opt.Command+" collect <host>")),
		})
		return
	case 1:
		f := fs[0]
		m := Message{
			Text:    Tf("Confirm to run %s here, as you. The usual checks follow: your Microsoft link, this channel's policy and its approvals.", Code(s.opt.Command+" "+f.command())),
			Buttons: []Button{{Label: "Confirm", ActionID: ActionFromMessage, Value: f.command(), Style: "primary"}},
		}
		if f.verb == VerbGet {
			m.Header = Tf("Get the investigation package of action %s?", Code(f.target))
		} else {
			m.Header = Tf("Collect an investigation package from %s?", Code(f.target))
		}
		s.reply(ctx, rec, sc.RequestID, m)
		return
	}
	m := Message{
		Header: Tf("This message names %d things to fetch: pick one", len(fs)),
		Next:   T("The one you pick runs here, as you, exactly as if you had typed it; the usual checks follow."),
	}
	for _, f := range fs {
		m.Text = Lines(m.Text, Tf("• %s", Code(s.opt.Command+" "+f.command())))
		m.Buttons = append(m.Buttons, Button{Label: f.label(), ActionID: ActionFromMessage, Value: f.command()})
	}
	s.reply(ctx, rec, sc.RequestID, m)
}

func commands(fs []found) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.command()
	}
	return out
}

// fromMessage runs the command a shortcut's button carries, as its clicker
// typing it in the channel of the click. The value is checked like typed
// text: only get and collect.
func (s *Service) fromMessage(ctx context.Context, c Click) {
	rec := Recipient{Team: c.Team, Channel: c.Channel, User: c.User, ResponseURL: c.ResponseURL}
	p, err := Parse(c.Value)
	switch {
	case err != nil:
	case p.Verb != VerbGet && p.Verb != VerbCollect:
		err = errorf(CodeInvalid, "This button runs get or collect only.")
	case c.Channel == "":
		err = errorf(CodeInvalid, "This button works only on the message the shortcut answered, in its channel.")
	}
	if err != nil {
		s.reply(ctx, rec, c.RequestID, Message{Header: T("That did not work"), Text: s.explain(ctx, err)})
		return
	}
	ack := s.Command(ctx, Command{RequestID: c.RequestID, Team: c.Team, Channel: c.Channel, User: c.User,
		Command: s.opt.Command, Text: c.Value, ResponseURL: c.ResponseURL, TriggerID: c.TriggerID, ReceivedAt: s.now()})
	if ack.Reply != nil {
		s.reply(ctx, rec, c.RequestID, *ack.Reply)
	}
	if ack.Work != nil {
		ack.Work(ctx)
	}
}
