package e2e

import (
	"strings"
	"testing"

	"github.com/mdebot/mdebot/bot/slackfake"
	"github.com/mdebot/mdebot/demo"
	"github.com/mdebot/mdebot/handlers"
	"github.com/mdebot/mdebot/mde"
	"github.com/mdebot/mdebot/mde/mdetest"
)

// collect runs `collect target comment` as alice in the upload channel,
// confirms, and returns the uploaded file's event.
func collectAndConfirm(t *testing.T, e *demo.Env, target, comment string) slackfake.Event {
	t.Helper()
	mark := e.Mark()
	command(t, e, demo.Alice, demo.ChanUpload, "collect "+target+" "+comment)
	confirm := waitEvent(t, e, mark, "the confirmation", func(ev slackfake.Event) bool {
		return privateTo(demo.Alice)(ev) && hasButton(ev, handlers.ActionConfirm) && hasButton(ev, handlers.ActionCancel)
	})
	for _, w := range []string{"Windows11", "Last seen", "Health", "ws-0042.contoso.local"} {
		if !strings.Contains(textOf(confirm), w) {
			t.Errorf("the confirmation lacks %q", w)
		}
	}
	if n := collects(e); n != 0 {
		t.Fatalf("a collection was started before the requester confirmed (%d)", n)
	}
	a, err := e.Click(deadline(t, 10e9), demo.Alice, demo.ChanUpload, "", handlers.ActionConfirm, buttonValue(confirm, handlers.ActionConfirm))
	if err != nil || a.Status != 200 {
		t.Fatalf("confirm: %v %+v", err, a)
	}
	return waitEvent(t, e, mark, "the upload", func(ev slackfake.Event) bool { return ev.Kind == slackfake.EventFileShared })
}

func collects(e *demo.Env) int {
	n := 0
	for _, r := range e.MDE.Requests() {
		if strings.HasSuffix(r.Path, "/collectInvestigationPackage") {
			n++
		}
	}
	return n
}

func TestCollectByIDFQDNAndShortName(t *testing.T) {
	for _, target := range []string{demo.MachineWS, "ws-0042.contoso.local", "ws-0042"} {
		t.Run(target, func(t *testing.T) {
			e, _ := start(t, demo.Options{})
			login(t, e, demo.Alice)
			up := collectAndConfirm(t, e, target, "beacon to 203.0.113.7, INC-7")
			if n := collects(e); n != 1 {
				t.Errorf("collectInvestigationPackage called %d times, want 1", n)
			}
			if up.Upload.SHA256 != e.MDE.PackageSHA256() {
				t.Errorf("uploaded sha %s, want %s", up.Upload.SHA256, e.MDE.PackageSHA256())
			}
			// Defender's action records who asked, where, and why.
			id := strings.TrimSuffix(strings.TrimPrefix(up.Upload.Filename, "investigation-package-"), ".zip")
			a, ok := e.MDE.Action(id)
			if !ok {
				t.Fatalf("no action %s in Defender", id)
			}
			for _, w := range []string{demo.Alice, demo.ChanUpload, "beacon to 203.0.113.7, INC-7"} {
				if !strings.Contains(a.RequestorComment, w) {
					t.Errorf("Defender's comment %q lacks %q", a.RequestorComment, w)
				}
			}
			if a.Requestor != "alice@contoso.com" {
				t.Errorf("Defender's requestor is %q, want the analyst", a.Requestor)
			}
		})
	}
}

func TestCollectAmbiguousHostname(t *testing.T) {
	e, _ := start(t, demo.Options{})
	login(t, e, demo.Alice)
	mark := e.Mark()
	command(t, e, demo.Alice, demo.ChanUpload, "collect kiosk")
	ev := waitEvent(t, e, mark, "the list of matches", privateTo(demo.Alice, "Several devices match"))
	for _, w := range []string{demo.MachineKioskA, demo.MachineKioskB, "kiosk.lobby.contoso.local", "kiosk.dock.contoso.local"} {
		if !strings.Contains(textOf(ev), w) {
			t.Errorf("the list lacks %q", w)
		}
	}
	if hasButton(ev, handlers.ActionConfirm) {
		t.Error("an ambiguous name offered a confirmation")
	}
	if n := collects(e); n != 0 {
		t.Errorf("collectInvestigationPackage called %d times", n)
	}
}

// A collection already running on the device is attached to, not failed on.
func TestCollectAttachesToRunningCollection(t *testing.T) {
	e, _ := start(t, demo.Options{})
	login(t, e, demo.Alice)
	running := e.MDE.AddAction(mde.MachineAction{ID: "5d6e7f80-1a2b-4c3d-8e9f-0a1b2c3d4e5f", MachineID: demo.MachineWS},
		mdetest.Step{Status: mde.StatusInProgress, Polls: 3}, mdetest.Step{Status: mde.StatusSucceeded})
	up := collectAndConfirm(t, e, "ws-0042.contoso.local", "")
	if up.Upload.Filename != "investigation-package-"+running+".zip" {
		t.Errorf("delivered %s, want the running collection %s", up.Upload.Filename, running)
	}
	var lists int
	for _, r := range e.MDE.Requests() {
		if r.Path == "/api/machineactions" {
			lists++
		}
	}
	if collects(e) != 1 || lists < 1 {
		t.Errorf("collect called %d times and actions listed %d times; want 1 refused collect then a lookup", collects(e), lists)
	}
}

func TestCollectCancel(t *testing.T) {
	e, _ := start(t, demo.Options{})
	login(t, e, demo.Alice)
	mark := e.Mark()
	command(t, e, demo.Alice, demo.ChanUpload, "collect "+demo.MachineDB)
	confirm := waitEvent(t, e, mark, "the confirmation", func(ev slackfake.Event) bool { return hasButton(ev, handlers.ActionCancel) })
	if _, err := e.Click(deadline(t, 10e9), demo.Carol, demo.ChanUpload, "", handlers.ActionConfirm, buttonValue(confirm, handlers.ActionConfirm)); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, e, mark, "someone else cannot confirm", privateTo(demo.Carol, "Only the requester"))
	if _, err := e.Click(deadline(t, 10e9), demo.Alice, demo.ChanUpload, "", handlers.ActionCancel, buttonValue(confirm, handlers.ActionCancel)); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, e, mark, "the cancellation told", privateTo(demo.Alice, "cancelled"))
	if n := collects(e); n != 0 {
		t.Errorf("collectInvestigationPackage called %d times after cancel", n)
	}
}
