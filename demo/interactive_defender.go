package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mdebot/mdebot/mde"
	"github.com/mdebot/mdebot/mde/mdetest"
)

// The lists the session reads from the fake Defender with its console token.
const (
	consoleMachines = "/api/machines"
	consoleActions  = "/api/machineactions"
)

// statuses are Defender's action statuses, for parsing what people type.
var statuses = []string{mde.StatusPending, mde.StatusInProgress, mde.StatusSucceeded,
	mde.StatusFailed, mde.StatusTimeOut, mde.StatusCancelled}

// allowConsole lets token list devices and actions in the fake Defender (as
// a SOC console would), and nothing else; every other token is judged as before.
func allowConsole(token string) func(*mdetest.Options) {
	return func(o *mdetest.Options) {
		prev := o.Authorize
		o.Authorize = func(tok, method, path string) int {
			if tok == token {
				if method == http.MethodGet && (path == consoleMachines || path == consoleActions) {
					return 0
				}
				return http.StatusForbidden
			}
			if prev != nil {
				return prev(tok, method, path)
			}
			return 0
		}
	}
}

// parseStatus reads a status in any letter case.
func parseStatus(s string) (string, error) {
	for _, st := range statuses {
		if strings.EqualFold(s, st) {
			return st, nil
		}
	}
	return "", fmt.Errorf("unknown status %q: use %s", s, strings.Join(statuses, ", "))
}

// maxPolls bounds a step's polls (one poll a second by default).
const maxPolls = 3600

// parseSteps reads an action's script, e.g. "Pending:2,InProgress:2,Succeeded":
// each step's status and how many polls of the action it lasts (default 1;
// the last step is final).
func parseSteps(src string) ([]mdetest.Step, error) {
	var steps []mdetest.Step
	for part := range strings.SplitSeq(src, ",") {
		name, polls, hasPolls := strings.Cut(strings.TrimSpace(part), ":")
		if name == "" {
			return nil, fmt.Errorf("empty step in %q: write steps like Pending:2,InProgress:2,Succeeded", src)
		}
		st, err := parseStatus(name)
		if err != nil {
			return nil, fmt.Errorf("step %q: %w", part, err)
		}
		n := 1
		if hasPolls {
			if n, err = strconv.Atoi(polls); err != nil || n < 0 || n > maxPolls {
				return nil, fmt.Errorf("step %q: polls must be a whole number from 0 to %d", part, maxPolls)
			}
		}
		steps = append(steps, mdetest.Step{Status: st, Polls: n})
	}
	return steps, nil
}

// describeSteps is a script in words.
func describeSteps(steps []mdetest.Step) string {
	var parts []string
	for i, st := range steps {
		if i == len(steps)-1 {
			parts = append(parts, st.Status)
			continue
		}
		parts = append(parts, fmt.Sprintf("%s for %d poll(s)", st.Status, st.Polls))
	}
	return strings.Join(parts, " → ")
}

// newAction adds a collection on ws-0042, requested by the current user.
func (s *session) newAction(args []string) error {
	a := mde.MachineAction{
		MachineID: MachineWS, Requestor: s.person().Email, RequestSource: "Portal",
		RequestorComment: "started from the interactive demo",
	}
	var steps []mdetest.Step
	how := "it stays so until you move it: action $action next"
	if src := strings.Join(args, ""); src != "" {
		var err error
		if steps, err = parseSteps(src); err != nil {
			return err
		}
		how = "scripted: " + describeSteps(steps) + " (the bot's polls count)"
	} else {
		a.Status = mde.StatusPending
	}
	id := s.e.MDE.AddAction(a, steps...)
	s.lastAction = id
	got, _ := s.e.MDE.Action(id)
	s.t.Say("Defender: new %s action %s on %s: %s, %s. Refer to it as $action.",
		got.Type, id, got.ComputerDNSName, got.Status, how)
	return nil
}

// moveAction is `action <id> next|<Status>`.
func (s *session) moveAction(ctx context.Context, ref, to string) error {
	id, err := s.resolveAction(ctx, ref)
	if err != nil {
		return err
	}
	if strings.EqualFold(to, "next") {
		s.e.MDE.Advance(id)
	} else {
		st, err := parseStatus(to)
		if err != nil {
			return err
		}
		s.e.MDE.SetStatus(id, st)
	}
	a, _ := s.e.MDE.Action(id)
	s.t.Say("Defender: action %s is now %s", id, a.Status)
	return nil
}

// resolveAction turns $action, an ID or a unique ID prefix into an action ID.
func (s *session) resolveAction(ctx context.Context, ref string) (string, error) {
	ref, err := s.expand(ref)
	if err != nil {
		return "", err
	}
	if _, ok := s.e.MDE.Action(ref); ok {
		return ref, nil
	}
	var all []mde.MachineAction
	if err := s.defenderList(ctx, consoleActions, &all); err != nil {
		return "", err
	}
	var ids []string
	for _, a := range all {
		if strings.HasPrefix(strings.ToLower(a.ID), strings.ToLower(ref)) {
			ids = append(ids, a.ID)
		}
	}
	switch len(ids) {
	case 0:
		return "", fmt.Errorf("no action %q in Defender (actions lists them)", ref)
	case 1:
		return ids[0], nil
	}
	return "", fmt.Errorf("%q could be any of %s: type more of the ID", ref, strings.Join(ids, ", "))
}

// listActions is `actions`.
func (s *session) listActions(ctx context.Context) error {
	var all []mde.MachineAction
	if err := s.defenderList(ctx, consoleActions, &all); err != nil {
		return err
	}
	if len(all) == 0 {
		s.t.Say("Defender has no machine actions yet (action new adds one).")
		return nil
	}
	lines := []string{fmt.Sprintf("Defender machine actions (%d):", len(all))}
	for _, a := range all {
		mark := ""
		if a.ID == s.lastAction {
			mark = "  ($action)"
		}
		lines = append(lines, fmt.Sprintf("  %s  %-10s  %s on %s, requested by %s%s",
			a.ID, a.Status, a.Type, a.ComputerDNSName, a.Requestor, mark))
	}
	s.t.Say("%s", strings.Join(lines, "\n"))
	return nil
}

// listMachines is `machines`.
func (s *session) listMachines(ctx context.Context) error {
	var all []mde.Machine
	if err := s.defenderList(ctx, consoleMachines, &all); err != nil {
		return err
	}
	slices.SortFunc(all, func(a, b mde.Machine) int { return strings.Compare(a.ComputerDNSName, b.ComputerDNSName) })
	lines := []string{fmt.Sprintf("Defender devices (%d):", len(all))}
	for _, m := range all {
		os := strings.TrimSpace(m.OSPlatform + " " + m.OSVersion)
		lines = append(lines, fmt.Sprintf("  %-26s %s  %-8s %s, last seen %d min ago",
			m.ComputerDNSName, m.ID, m.HealthStatus, os, int(time.Since(m.LastSeen).Minutes())))
	}
	s.t.Say("%s", strings.Join(lines, "\n"))
	return nil
}

// defenderList reads a list endpoint of the fake Defender into out.
func (s *session) defenderList(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.e.MDE.URL+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.consoleToken)
	resp, err := s.e.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("asking Defender: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("reading Defender's answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("defender answered %d to GET %s: %s", resp.StatusCode, path, oneLine(string(body)))
	}
	var list struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return fmt.Errorf("defender's list: %w", err)
	}
	if err := json.Unmarshal(list.Value, out); err != nil {
		return fmt.Errorf("defender's list: %w", err)
	}
	return nil
}
