package mdetest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/mdebot/mdebot/mde"
)

const odataBase = "https://api.security.microsoft.com/api/$metadata#"

// actionBody is a machine action with its OData context, as Defender sends it.
type actionBody struct {
	Context string `json:"@odata.context"`
	mde.MachineAction
}

func (s *Server) getAction(w http.ResponseWriter, r *http.Request, _ string) {
	s.mu.Lock()
	st, ok := s.actions[r.PathValue("id")]
	var a mde.MachineAction
	if ok {
		a = st.a
		st.polled(s.opts.Now().UTC())
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "NotFound", "Machine action was not found")
		return
	}
	writeJSON(w, http.StatusOK, actionBody{odataBase + "MachineActions/$entity", a})
}

func (s *Server) getPackageURI(w http.ResponseWriter, r *http.Request, _ string) {
	at := s.opts.Now()
	s.mu.Lock()
	st, ok := s.actions[r.PathValue("id")]
	var a mde.MachineAction
	if ok {
		a = st.a
	}
	s.mu.Unlock()
	switch {
	case !ok:
		writeError(w, http.StatusNotFound, "NotFound", "Machine action was not found")
		return
	case a.Type != mde.TypeCollectInvestigationPackage:
		writeError(w, http.StatusBadRequest, "BadRequest", "Machine action is not of type CollectInvestigationPackage")
		return
	case a.Status != mde.StatusSucceeded:
		writeError(w, http.StatusNotFound, "NotFound", "Investigation package is not available: the action has not completed")
		return
	}
	token := newLinkToken()
	s.mu.Lock()
	s.links[token] = at.Add(s.opts.PackageTTL)
	s.issued = append(s.issued, token)
	s.uriServed = append(s.uriServed, at)
	s.mu.Unlock()
	s.bindLink(token, a.ID)
	// From the request's own host: the same server, however it was reached.
	link := "http://" + r.Host + packagePath + "?token=" + token
	if !s.opts.UnquotedValue {
		link = `"` + link + `"` // as the documented example: "value": "\"https://...\""
	}
	writeJSON(w, http.StatusOK, map[string]string{"@odata.context": odataBase + "Edm.String", "value": link})
}

func (s *Server) collect(w http.ResponseWriter, r *http.Request, token string) {
	id := r.PathValue("id")
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var body map[string]json.RawMessage
	if err != nil || json.Unmarshal(raw, &body) != nil {
		writeError(w, http.StatusBadRequest, "InvalidRequestBody", "Request body is not a JSON object")
		return
	}
	var comment string
	// Parameter names are case-sensitive: "comment" is not "Comment".
	if c, ok := body["Comment"]; !ok || json.Unmarshal(c, &comment) != nil {
		writeError(w, http.StatusBadRequest, "InvalidRequestBody", "Comment is required (a string)")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.machineByID(id)
	if !ok {
		writeError(w, http.StatusNotFound, "NotFound", "Machine was not found")
		return
	}
	for _, aid := range s.actionOrder {
		a := s.actions[aid].a
		if a.MachineID == m.ID && a.Type == mde.TypeCollectInvestigationPackage &&
			(a.Status == mde.StatusPending || a.Status == mde.StatusInProgress) {
			writeError(w, http.StatusBadRequest, "ActiveRequestAlreadyExists",
				"Action is already in progress")
			return
		}
	}
	aid := s.addAction(mde.MachineAction{
		Type:             mde.TypeCollectInvestigationPackage,
		Scope:            "Full",
		Requestor:        s.requestor(token),
		RequestorComment: comment,
		RequestSource:    "PublicApi",
		Status:           mde.StatusPending,
		MachineID:        m.ID,
		ComputerDNSName:  m.ComputerDNSName,
	}, s.collectScript)
	writeJSON(w, http.StatusCreated, actionBody{odataBase + "MachineActions/$entity", s.actions[aid].a})
}

func (s *Server) getMachine(w http.ResponseWriter, r *http.Request, _ string) {
	key := r.PathValue("id")
	s.mu.Lock()
	var found *mde.Machine
	for i := range s.machines {
		if m := &s.machines[i]; m.ID == key || strings.EqualFold(m.ComputerDNSName, key) {
			c := *m
			found = &c
			break
		}
	}
	s.mu.Unlock()
	if found == nil {
		writeError(w, http.StatusNotFound, "NotFound", "Machine was not found")
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Context string `json:"@odata.context"`
		mde.Machine
	}{odataBase + "Machines/$entity", *found})
}

func (s *Server) listMachines(w http.ResponseWriter, r *http.Request, _ string) {
	match, err := parseFilter(r.URL.Query().Get("$filter"), machineFields)
	if err != nil {
		writeError(w, http.StatusBadRequest, "InvalidRequestBody", "Invalid filter: "+err.Error())
		return
	}
	s.mu.Lock()
	out := []mde.Machine{}
	for _, m := range s.machines {
		if match(machineField(&m)) {
			out = append(out, m)
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"@odata.context": odataBase + "Machines", "value": out})
}

var actionFields = map[string]bool{
	"id": true, "type": true, "status": true, "machineId": true, "requestor": true,
	"computerDnsName": true, "requestSource": true, "scope": true,
}

func actionField(a *mde.MachineAction) func(string) string {
	return func(f string) string {
		switch f {
		case "id":
			return a.ID
		case "type":
			return a.Type
		case "status":
			return a.Status
		case "machineId":
			return a.MachineID
		case "requestor":
			return a.Requestor
		case "computerDnsName":
			return a.ComputerDNSName
		case "requestSource":
			return a.RequestSource
		case "scope":
			return a.Scope
		}
		return ""
	}
}

var machineFields = map[string]bool{
	"id": true, "computerDnsName": true, "osPlatform": true, "healthStatus": true,
	"lastIpAddress": true, "riskScore": true, "exposureLevel": true, "onboardingStatus": true,
}

func machineField(m *mde.Machine) func(string) string {
	return func(f string) string {
		switch f {
		case "id":
			return m.ID
		case "computerDnsName":
			return m.ComputerDNSName
		case "osPlatform":
			return m.OSPlatform
		case "healthStatus":
			return m.HealthStatus
		case "lastIpAddress":
			return m.LastIPAddress
		case "riskScore":
			return m.RiskScore
		case "exposureLevel":
			return m.ExposureLevel
		case "onboardingStatus":
			return m.OnboardingStatus
		}
		return ""
	}
}
