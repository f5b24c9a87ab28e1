package main

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/mdebot/mdebot/demo"
	"github.com/mdebot/mdebot/mde"
)

// addAction adds the i-th succeeded collection of the demo workstation.
func addAction(e *demo.Env, i int) string {
	return e.MDE.AddAction(mde.MachineAction{
		ID:   fmt.Sprintf("7f3c2a10-5b7e-4a8e-9b1d-%012x", 0xec0000+i),
		Type: mde.TypeCollectInvestigationPackage, MachineID: demo.MachineWS, Status: mde.StatusSucceeded,
	})
}

// call is one getPackageUri call as the fake Defender saw it.
type call struct {
	at     time.Time
	action string
	status int
}

// packageCalls lists every getPackageUri call, whatever the answer, in arrival order.
func packageCalls(e *demo.Env) []call {
	var out []call
	for _, r := range e.MDE.Requests() {
		if id, ok := strings.CutSuffix(strings.TrimPrefix(r.Path, "/api/machineactions/"), "/getPackageUri"); ok {
			out = append(out, call{at: r.At, action: id, status: r.Status})
		}
	}
	return out
}

// callsFor is when getPackageUri was called for action, whatever the answer.
func callsFor(e *demo.Env, action string) []call {
	var out []call
	for _, c := range packageCalls(e) {
		if c.action == action {
			out = append(out, c)
		}
	}
	return out
}

// times are the calls' arrival times, optionally only those Defender admitted (not 429).
func times(cs []call, admittedOnly bool) []time.Time {
	var out []time.Time
	for _, c := range cs {
		if !admittedOnly || c.status != http.StatusTooManyRequests {
			out = append(out, c.at)
		}
	}
	return out
}
