package demo

import (
	"time"

	"github.com/mdebot/mdebot/bot/slackfake"
	"github.com/mdebot/mdebot/identity/entratest"
	"github.com/mdebot/mdebot/mde"
)

// Person is someone in the demo workspace, with the same email in Slack and Entra.
type Person struct {
	ID, Name, Email string
}

// People of the demo workspace.
var people = []Person{
	{Alice, "alice", "alice@contoso.com"},
	{Bob, "bob", "bob@contoso.com"},
	{Carol, "carol", "carol@contoso.com"},
	{Dave, "dave", "dave@contoso.com"},
}

// channels of the demo workspace: ID to name.
var channels = map[string]string{
	ChanUpload:   "inc-2041-ransomware",
	ChanLink:     "inc-2042-phishing",
	ChanPrivate:  "inc-2043-beacon",
	ChanApproval: "ir-approvals",
	ChanRandom:   "random",
}

// Devices of the demo tenant (IDs are 40 hex characters, as Defender's).
const (
	MachineWS     = "1e5bc9d7e413ddd7902c2932e418702b84d0cc07"
	MachineDB     = "2b84d0cc071e5bc9d7e413ddd7902c2932e41870"
	MachineKioskA = "3c2932e418702b84d0cc071e5bc9d7e413ddd790"
	MachineKioskB = "4d0cc071e5bc9d7e413ddd7902c2932e418702b8"
)

// PersonByID returns a demo person.
func PersonByID(id string) (Person, bool) {
	for _, p := range people {
		if p.ID == id {
			return p, true
		}
	}
	return Person{}, false
}

// PersonByName returns a demo person by name ("alice").
func PersonByName(name string) (Person, bool) {
	for _, p := range people {
		if p.Name == name {
			return p, true
		}
	}
	return Person{}, false
}

// ChannelName is a demo channel's name.
func ChannelName(id string) string { return channels[id] }

func seed(e *Env) {
	for _, p := range people {
		e.Slack.AddUser(slackfake.User{ID: p.ID, Name: p.Name, Email: p.Email})
		e.Entra.AddUser(entratest.User{Username: p.Email, Email: p.Email, Name: p.Name})
	}
	e.Slack.AddGroup(SOCLeads, Bob, Dave)
	for id, name := range channels {
		e.Slack.AddChannel(slackfake.Channel{ID: id, Name: name, BotIsMember: true})
	}
	seen := time.Now().Add(-3 * time.Minute).UTC()
	for _, m := range []mde.Machine{
		{ID: MachineWS, ComputerDNSName: "ws-0042.contoso.local", OSPlatform: "Windows11", OSVersion: "23H2", LastSeen: seen, HealthStatus: "Active"},
		{ID: MachineDB, ComputerDNSName: "srv-db01.contoso.local", OSPlatform: "WindowsServer2022", LastSeen: seen, HealthStatus: "Active"},
		{ID: MachineKioskA, ComputerDNSName: "kiosk.lobby.contoso.local", OSPlatform: "Windows10", LastSeen: seen, HealthStatus: "Active"},
		{ID: MachineKioskB, ComputerDNSName: "kiosk.dock.contoso.local", OSPlatform: "Windows10", LastSeen: seen, HealthStatus: "Inactive"},
	} {
		e.MDE.AddMachine(m)
	}
}
