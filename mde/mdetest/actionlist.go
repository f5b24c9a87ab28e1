package mdetest

import (
	"net/http"

	"github.com/mdebot/mdebot/mde"
)

// listActions answers GET /api/machineactions?$filter=... A filter that
// tests only id (`id eq 'a' or id eq 'b' ...`) is how a client polls many
// actions at once: each action it returns counts as polled, moving on per
// its script as a GET of it would. With Options.RefuseIDFilters such a
// filter is refused with 400.
func (s *Server) listActions(w http.ResponseWriter, r *http.Request, _ string) {
	match, used, err := parseFilterUsing(r.URL.Query().Get("$filter"), actionFields)
	if err != nil {
		writeError(w, http.StatusBadRequest, "InvalidRequestBody", "Invalid filter: "+err.Error())
		return
	}
	if s.opts.RefuseIDFilters && used["id"] {
		writeError(w, http.StatusBadRequest, "BadRequest", "Invalid filter: the property id cannot be filtered on")
		return
	}
	byID := len(used) == 1 && used["id"]
	now := s.opts.Now().UTC()
	s.mu.Lock()
	out := []mde.MachineAction{}
	for _, id := range s.actionOrder {
		st := s.actions[id]
		if a := st.a; match(actionField(&a)) {
			out = append(out, a)
			if byID {
				st.polled(now)
			}
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"@odata.context": odataBase + "MachineActions", "value": out})
}
