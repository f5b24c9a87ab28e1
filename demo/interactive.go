package demo

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/mdebot/mdebot/bot/slackfake"
	"github.com/mdebot/mdebot/store"
)

// Timing of the session. After a command that reaches the bot, the prompt
// comes back once Slack has been quiet for settleGap (at most settleMax), so
// that what the command caused prints before the next prompt.
const (
	settleGap      = 300 * time.Millisecond
	settleMax      = 5 * time.Second
	commandTimeout = 2 * time.Minute
	defaultWait    = 20 * time.Second
	maxWait        = 10 * time.Minute
)

// Interactive runs the demo environment and lets a person drive it: one
// command a line from in (a terminal or a pipe), the conversation printed to
// out as it happens. It ends at quit, at the end of in, or when ctx ends.
func Interactive(ctx context.Context, in io.Reader, out io.Writer) error {
	return interactive(ctx, in, out, nil)
}

// interactive is Interactive; started, when set, sees the environment once it runs.
func interactive(ctx context.Context, in io.Reader, out io.Writer, started func(*Env)) error {
	con := newConsole(out, !isTerminal(in))
	t := NewTranscript(con)
	t.Say("== mdebot interactive demo. Slack, Entra ID and Defender are fakes on this machine; the bot's")
	t.Say("== HTTP server, slack-go, MSAL Go, the Defender client, River and SQLite are the real thing.")
	token := "demo-console-" + randomString(24)
	e, err := Start(ctx, Options{OnSlack: t.Event, MDE: allowConsole(token)})
	if err != nil {
		return err
	}
	defer e.Close()
	db, err := store.Open(ctx, e.Config.Store.Driver, e.Config.Store.DSN)
	if err != nil {
		return fmt.Errorf("opening the bot's database to watch it: %w", err)
	}
	defer db.Close()
	if started != nil {
		started(e)
	}
	s := &session{e: e, t: t, con: con, db: db, consoleToken: token, user: Alice, channel: ChanUpload}
	t.Say("== You are alice in #%s. Type help for the commands; quit (or end of input) leaves.", ChannelName(s.channel))
	return s.run(ctx, in)
}

// session is one person at the keyboard of the interactive demo.
type session struct {
	e            *Env
	t            *Transcript
	con          *console
	db           *store.DB // the bot's own database, read to tell when it is idle
	consoleToken string    // lets the session list Defender's devices and actions
	user         string    // who types (Slack user ID)
	channel      string    // where (channel ID)
	lastAction   string    // $action
	acks         []ackSurface
	seq          int
}

// run reads and runs commands until quit, the end of in, or ctx's end.
func (s *session) run(ctx context.Context, in io.Reader) error {
	lines := make(chan string)
	readErr := make(chan error, 1)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-stop:
				return
			}
		}
		readErr <- sc.Err()
	}()
	for {
		s.con.showPrompt(fmt.Sprintf("%s@#%s> ", s.person().Name, ChannelName(s.channel)))
		select {
		case <-ctx.Done():
			s.con.ended()
			s.t.Say("== interrupted; stopping the bot")
			return nil
		case line, ok := <-lines:
			if !ok {
				s.con.ended()
				if err := <-readErr; err != nil {
					return fmt.Errorf("reading commands: %w", err)
				}
				s.t.Say("== end of input; stopping the bot")
				return nil
			}
			s.con.took(line)
			if s.do(ctx, line) {
				s.t.Say("== bye; stopping the bot")
				return nil
			}
		}
	}
}

// do runs one line; it reports whether the session is over. Mistakes are
// told in one line and the session goes on.
func (s *session) do(ctx context.Context, line string) (quit bool) {
	line = strings.TrimSpace(line)
	if line == "" || strings.HasPrefix(line, "#") {
		return false
	}
	word, rest, _ := strings.Cut(line, " ")
	timeout := commandTimeout
	if strings.EqualFold(word, "wait") {
		timeout += maxWait
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	args := strings.Fields(rest)
	var err error
	switch strings.ToLower(word) {
	case "quit", "exit":
		return true
	case "help", "?":
		s.help()
	case "as":
		err = s.as(args)
	case "in":
		err = s.in(args)
	case "click":
		err = s.click(ctx, args)
	case "login":
		err = s.login(ctx, args)
	case "action":
		err = s.action(ctx, args)
	case "actions":
		err = noArgs(word, args, func() error { return s.listActions(ctx) })
	case "machines":
		err = noArgs(word, args, func() error { return s.listMachines(ctx) })
	case "people":
		err = noArgs(word, args, func() error { return s.people(ctx) })
	case "channels":
		err = noArgs(word, args, func() error { s.channels(); return nil })
	case "requests":
		err = noArgs(word, args, func() error { return s.requests(ctx) })
	case "wait":
		err = s.wait(ctx, args)
	default:
		if strings.HasPrefix(word, "/") {
			err = s.slash(ctx, word, strings.TrimSpace(rest))
			break
		}
		err = fmt.Errorf("unknown command %q (help lists the commands)", word)
	}
	if err != nil {
		s.t.Say("error: %s", oneLine(err.Error()))
	}
	return false
}

// helpLines are the commands and what they do; {cmd} is the slash command.
var helpLines = [][2]string{
	{"as <name>", "type as alice, bob, carol or dave (people)"},
	{"in <#channel>", "move to a channel, by name or ID (channels)"},
	{"{cmd} <text>", "type the slash command here as yourself, e.g. {cmd} $action"},
	{"click <Label> [as <name>]", "press the latest [Label] button you (or name) can see"},
	{"login [as <name>]", "link a Microsoft account: the bot's private link, then sign-in"},
	{"action new [<steps>]", "a new collection on ws-0042 in Defender; steps like"},
	{"", "Pending:2,InProgress:2,Succeeded (polls each step lasts);"},
	{"", "without steps it stays Pending until you move it"},
	{"action <id> next", "move an action on (its next step, or Pending, InProgress, Succeeded)"},
	{"action <id> <Status>", "set Pending, InProgress, Succeeded, Failed, TimeOut or Cancelled"},
	{"actions, machines", "Defender's actions and devices"},
	{"people, channels, requests", "the workspace, the channel policy, the bot's requests"},
	{"wait [seconds]", "let the bot work until it is idle (at most {wait} s by default)"},
	{"help, quit", ""},
}

func (s *session) help() {
	r := strings.NewReplacer("{cmd}", s.e.Config.Slack.Command, "{wait}", strconv.Itoa(int(defaultWait/time.Second)))
	lines := []string{"Commands, one a line (# starts a comment):"}
	for _, l := range helpLines {
		lines = append(lines, strings.TrimRight(fmt.Sprintf("  %-28s %s", r.Replace(l[0]), r.Replace(l[1])), " "))
	}
	lines = append(lines, "$action stands for the last action made with action new; an ID prefix also does.")
	s.t.Say("%s", strings.Join(lines, "\n"))
}

func (s *session) person() Person {
	p, _ := PersonByID(s.user)
	return p
}

// findPerson reads a name (or Slack user ID).
func findPerson(name string) (Person, error) {
	if p, ok := PersonByName(strings.ToLower(strings.TrimPrefix(name, "@"))); ok {
		return p, nil
	}
	if p, ok := PersonByID(strings.ToUpper(name)); ok {
		return p, nil
	}
	return Person{}, fmt.Errorf("unknown person %q: the workspace has alice, bob, carol and dave", name)
}

// findChannel reads #name, name or a channel ID.
func findChannel(ref string) (string, error) {
	name := strings.TrimPrefix(ref, "#")
	for id, n := range channels {
		if strings.EqualFold(n, name) || strings.EqualFold(id, name) {
			return id, nil
		}
	}
	return "", fmt.Errorf("unknown channel %q (channels lists them)", ref)
}

func (s *session) as(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: as <name>, e.g. as bob")
	}
	p, err := findPerson(args[0])
	if err != nil {
		return err
	}
	s.user = p.ID
	return nil
}

func (s *session) in(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: in <#channel>, e.g. in #ir-approvals")
	}
	id, err := findChannel(args[0])
	if err != nil {
		return err
	}
	s.channel = id
	return nil
}

// asWho reads an optional trailing "as <name>" (default the current user).
func (s *session) asWho(args []string) ([]string, Person, error) {
	if n := len(args); n >= 2 && strings.EqualFold(args[n-2], "as") {
		p, err := findPerson(args[n-1])
		return args[:n-2], p, err
	}
	return args, s.person(), nil
}

// expand replaces $action with the last action made.
func (s *session) expand(text string) (string, error) {
	if !strings.Contains(text, "$action") {
		return text, nil
	}
	if s.lastAction == "" {
		return "", errors.New("$action is not set yet: action new makes one")
	}
	return strings.ReplaceAll(text, "$action", s.lastAction), nil
}

// responseURL is a fresh response_url whose id names the user and channel,
// so that what the bot posts to it is shown to the right person.
func (s *session) responseURL(user, channel string) string {
	s.seq++
	return s.e.Slack.ResponseURL(fmt.Sprintf("%s-%s-%d", user, channel, s.seq))
}

// slash sends a signed slash command as the current user in the current channel.
func (s *session) slash(ctx context.Context, command, text string) error {
	if command != s.e.Config.Slack.Command {
		return fmt.Errorf("unknown slash command %s: this bot's is %s", command, s.e.Config.Slack.Command)
	}
	text, err := s.expand(text)
	if err != nil {
		return err
	}
	p := s.person()
	form := slackfake.CommandForm(slackfake.CommandParams{
		TeamID: s.e.Slack.TeamID(), ChannelID: s.channel, ChannelName: ChannelName(s.channel), UserID: p.ID, UserName: p.Name,
		Command: command, Text: text, ResponseURL: s.responseURL(p.ID, s.channel),
	})
	a, err := s.e.PostSigned(ctx, "/slack/commands", form)
	if err != nil {
		return fmt.Errorf("sending the command: %w", err)
	}
	if a.Status != 200 {
		return fmt.Errorf("the bot answered HTTP %d: %s", a.Status, oneLine(string(a.Body)))
	}
	if a.Reply.Text != "" || len(a.Reply.Blocks) > 0 {
		viewer, to := p.ID, " → "+p.Name+" only"
		if a.Reply.ResponseType == "in_channel" {
			viewer, to = "", ""
		}
		s.acks = append(s.acks, ackSurface{mark: s.e.Mark(), surface: surface{channel: s.channel, viewer: viewer, blocks: a.Reply.Blocks}})
		s.t.Say("[#%s] mdebot%s (in the acknowledgement):\n%s", ChannelName(s.channel), to, renderBlocks(a.Reply.Text, a.Reply.Blocks))
	}
	s.settle(ctx)
	return nil
}

// click presses the most recent button with that label the clicker can see.
func (s *session) click(ctx context.Context, args []string) error {
	args, p, err := s.asWho(args)
	if err != nil {
		return err
	}
	label := strings.TrimSuffix(strings.TrimPrefix(strings.Join(args, " "), "["), "]")
	if label == "" {
		return errors.New("usage: click <Label> [as <name>], e.g. click Approve as bob")
	}
	all := surfaces(s.e.Slack.Events(), s.acks)
	b, ok := findButton(all, p.ID, label)
	if !ok {
		seen := "no buttons"
		if labels := visibleLabels(all, p.ID); len(labels) > 0 {
			seen = strings.Join(labels, " ")
		}
		return fmt.Errorf("no [%s] button that %s can see (%s sees %s)", label, p.Name, p.Name, seen)
	}
	channel := b.channel
	if channel == "" {
		channel = s.channel
	}
	where := "#" + ChannelName(channel)
	if ChannelName(channel) == "" {
		where = "DM"
	}
	s.t.Say("[%s] %s clicks [%s]", where, p.Name, b.label)
	form := slackfake.BlockActionsPayload(slackfake.ClickParams{
		TeamID: s.e.Slack.TeamID(), UserID: p.ID, UserName: p.Name, ChannelID: channel, ChannelName: ChannelName(channel),
		MessageTS: b.ts, ActionID: b.actionID, Value: b.value, BlockID: b.blockID, Label: b.label,
		ResponseURL: s.responseURL(p.ID, channel),
	})
	a, err := s.e.PostSigned(ctx, "/slack/interactivity", form)
	if err != nil {
		return fmt.Errorf("sending the click: %w", err)
	}
	if a.Status != 200 {
		return fmt.Errorf("the bot answered HTTP %d: %s", a.Status, oneLine(string(a.Body)))
	}
	s.settle(ctx)
	return nil
}

// login links a person's Microsoft account the way they would by hand.
func (s *session) login(ctx context.Context, args []string) error {
	args, p, err := s.asWho(args)
	if err != nil {
		return err
	}
	if len(args) > 0 {
		return errors.New("usage: login [as <name>]")
	}
	s.t.Say("[#%s] %s: %s login", ChannelName(ChanRandom), p.Name, s.e.Config.Slack.Command)
	page, err := s.e.Login(ctx, p.ID)
	if err != nil {
		return fmt.Errorf("signing %s in: %w", p.Name, err)
	}
	s.t.Say("[browser] %s opens the link, signs in at Microsoft (fake) as %s; the bot's page says: %q", p.Name, p.Email, pageTitle(page))
	s.settle(ctx)
	return nil
}

func (s *session) action(ctx context.Context, args []string) error {
	switch {
	case len(args) >= 1 && strings.EqualFold(args[0], "new"):
		return s.newAction(args[1:])
	case len(args) == 2:
		return s.moveAction(ctx, args[0], args[1])
	}
	return errors.New("usage: action new [<steps>] | action <id> next | action <id> <Status>")
}

// settle waits until Slack has been quiet for a moment, so that what a
// command caused prints before the next prompt.
func (s *session) settle(ctx context.Context) {
	s.quiet(ctx, settleGap, settleMax)
}

// quiet returns once no Slack event arrived for gap, or after max.
func (s *session) quiet(ctx context.Context, gap, max time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, max)
	defer cancel()
	for ctx.Err() == nil {
		mark := s.e.Mark()
		wctx, wcancel := context.WithTimeout(ctx, gap)
		_, err := s.e.WaitAfter(wctx, mark, func(slackfake.Event) bool { return true })
		wcancel()
		if err != nil {
			return
		}
	}
}

// noArgs runs f, or refuses arguments the command does not take.
func noArgs(word string, args []string, f func() error) error {
	if len(args) > 0 {
		return fmt.Errorf("%s takes no arguments", word)
	}
	return f()
}

// oneLine keeps an error to one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
