package mdetest

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"github.com/mdebot/mdebot/mde"
)

// Step is a stage of an action's scripted life: the action stays in Status
// for Polls GETs of it, then moves to the next step. The last step is final.
type Step struct {
	Status string
	Polls  int
}

type actionState struct {
	a      mde.MachineAction
	script []Step
	step   int
	polls  int
	// cmdErrors are what a LiveResponse action's commands report on failure.
	cmdErrors []string
}

func defaultCollectScript() []Step {
	return []Step{{mde.StatusPending, 1}, {mde.StatusInProgress, 1}, {mde.StatusSucceeded, 0}}
}

// AddMachine adds (or replaces, by ID) a device.
func (s *Server) AddMachine(m mde.Machine) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.machines {
		if s.machines[i].ID == m.ID {
			s.machines[i] = m
			return
		}
	}
	s.machines = append(s.machines, m)
}

// AddAction adds (or replaces) an action and returns its ID (generated when
// empty). With a script, the action starts in the first step's status and
// moves on as it is polled; without one it keeps a.Status until SetStatus or
// Advance. Empty Type means CollectInvestigationPackage.
func (s *Server) AddAction(a mde.MachineAction, script ...Step) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addAction(a, script)
}

func (s *Server) addAction(a mde.MachineAction, script []Step) string {
	now := s.opts.Now().UTC()
	if a.ID == "" {
		a.ID = newGUID()
	}
	if a.Type == "" {
		a.Type = mde.TypeCollectInvestigationPackage
	}
	if a.CreationDateTimeUtc.IsZero() {
		a.CreationDateTimeUtc = now
	}
	if a.LastUpdateDateTimeUtc.IsZero() {
		a.LastUpdateDateTimeUtc = a.CreationDateTimeUtc
	}
	if a.ComputerDNSName == "" {
		if m, ok := s.machineByID(a.MachineID); ok {
			a.ComputerDNSName = m.ComputerDNSName
		}
	}
	st := &actionState{a: a, script: append([]Step(nil), script...)}
	if len(st.script) > 0 {
		st.enter(0, a.LastUpdateDateTimeUtc)
	}
	if _, ok := s.actions[a.ID]; !ok {
		s.actionOrder = append(s.actionOrder, a.ID)
	}
	s.actions[a.ID] = st
	return a.ID
}

// SetCollectScript sets the script of actions created by later collect
// calls (default Pending for 1 poll, InProgress for 1 poll, Succeeded).
func (s *Server) SetCollectScript(script ...Step) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.collectScript = append([]Step(nil), script...)
}

// SetStatus fixes an action's status; its script, if any, is dropped.
func (s *Server) SetStatus(id, status string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.actions[id]
	if !ok {
		return false
	}
	st.script = nil
	st.setStatus(status, s.opts.Now().UTC())
	return true
}

// Advance moves an action to its script's next step, or without a script
// along Pending, InProgress, Succeeded. A final status stays.
func (s *Server) Advance(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.actions[id]
	if !ok {
		return false
	}
	now := s.opts.Now().UTC()
	if st.step+1 < len(st.script) {
		st.enter(st.step+1, now)
		return true
	}
	switch st.a.Status {
	case mde.StatusPending:
		st.setStatus(mde.StatusInProgress, now)
	case mde.StatusInProgress:
		st.setStatus(mde.StatusSucceeded, now)
	}
	return true
}

// Action returns an action as it stands.
func (s *Server) Action(id string) (mde.MachineAction, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.actions[id]
	if !ok {
		return mde.MachineAction{}, false
	}
	return st.a, true
}

// polled counts one GET of the action, moving it on per its script.
func (st *actionState) polled(now time.Time) {
	if st.step+1 >= len(st.script) {
		return
	}
	st.polls++
	if st.polls >= st.script[st.step].Polls {
		st.enter(st.step+1, now)
	}
}

// enter moves to step i, passing over steps of zero polls (but the last).
func (st *actionState) enter(i int, now time.Time) {
	for i+1 < len(st.script) && st.script[i].Polls <= 0 {
		i++
	}
	st.step, st.polls = i, 0
	st.setStatus(st.script[i].Status, now)
}

func (st *actionState) setStatus(status string, now time.Time) {
	if st.a.Status != status {
		st.a.Status = status
		st.a.LastUpdateDateTimeUtc = now
		st.syncCommands(now)
	}
}

func (s *Server) machineByID(id string) (mde.Machine, bool) {
	for _, m := range s.machines {
		if m.ID == id {
			return m, true
		}
	}
	return mde.Machine{}, false
}

// requestor names the user behind a token, as Defender records delegated calls.
func (s *Server) requestor(token string) string {
	if s.opts.Requestor != nil {
		return s.opts.Requestor(token)
	}
	parts := strings.Split(token, ".")
	if len(parts) == 3 {
		if raw, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil {
			var claims map[string]any
			if json.Unmarshal(raw, &claims) == nil {
				for _, k := range []string{"upn", "preferred_username", "email", "unique_name"} {
					if v, ok := claims[k].(string); ok && v != "" {
						return v
					}
				}
			}
		}
	}
	return "analyst@fake.invalid"
}
