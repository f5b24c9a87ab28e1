package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mdebot/mdebot/bot/slackfake"
	"github.com/mdebot/mdebot/demo"
	"github.com/mdebot/mdebot/evidence"
	"github.com/mdebot/mdebot/handlers"
)

// A collect on three devices, one unknown: the unknown is named in the one
// confirmation and nothing starts before the Confirm; then each known
// device is collected and delivered on its own (own upload, own custody
// record) under one channel card listing every device's state.
func TestCollectThreeDevicesOneUnknown(t *testing.T) {
	e, _ := start(t, demo.Options{})
	login(t, e, demo.Alice)
	mark := e.Mark()
	a := command(t, e, demo.Alice, demo.ChanUpload, "collect ws-0042, srv-db01,ws-9999 INC-9 lateral movement")
	if !strings.Contains(a.Reply.Text+string(a.Reply.Blocks), "Looking up 3 devices") {
		t.Errorf("the acknowledgement: %s %s", a.Reply.Text, a.Reply.Blocks)
	}
	confirm := waitEvent(t, e, mark, "the one confirmation", func(ev slackfake.Event) bool {
		return privateTo(demo.Alice, "Collect investigation packages from 2 devices")(ev) && hasButton(ev, handlers.ActionConfirm)
	})
	for _, w := range []string{"ws-9999", "not found in Defender", "ws-0042.contoso.local", "srv-db01.contoso.local", demo.MachineDB, "INC-9 lateral movement"} {
		if !strings.Contains(textOf(confirm), w) {
			t.Errorf("the confirmation lacks %q: %s", w, textOf(confirm))
		}
	}
	if n := collects(e); n != 0 {
		t.Fatalf("%d collections started before the Confirm", n)
	}
	mark = e.Mark()
	if a, err := e.Click(deadline(t, 10*time.Second), demo.Alice, demo.ChanUpload, "", handlers.ActionConfirm, buttonValue(confirm, handlers.ActionConfirm)); err != nil || a.Status != 200 {
		t.Fatalf("confirm: %v %+v", err, a)
	}
	card := waitEvent(t, e, mark, "the batch card", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventMessage && ev.Message.Channel == demo.ChanUpload && strings.Contains(textOf(ev), "Investigation packages from 3 devices")
	})
	uploads := map[string]slackfake.Upload{}
	waitEventFor(t, e, mark, 2*time.Minute, "two uploads in the card's thread", func(ev slackfake.Event) bool {
		if ev.Kind == slackfake.EventFileShared && ev.Upload.ThreadTS == card.Message.TS {
			uploads[ev.Upload.Filename] = *ev.Upload
		}
		return len(uploads) == 2
	})
	waitEvent(t, e, mark, "the card showing both deliveries and the unknown device", func(ev slackfake.Event) bool {
		if ev.Kind != slackfake.EventUpdate || ev.Message.TS != card.Message.TS {
			return false
		}
		blocks := string(ev.Message.Blocks) // the fallback text repeats the fields
		return strings.Count(blocks, "delivered, SHA-256") == 2 && strings.Contains(blocks, "ws-9999") && strings.Contains(blocks, "failed")
	})
	// Renders race (each device's job updates the card): the last one shows the latest states.
	time.Sleep(time.Second)
	var last slackfake.Event
	for _, ev := range e.Slack.Events() {
		if ev.Kind == slackfake.EventUpdate && ev.Message.TS == card.Message.TS {
			last = ev
		}
	}
	if last.Message == nil || strings.Count(string(last.Message.Blocks), "delivered, SHA-256") != 2 {
		t.Errorf("the card's last update does not show both deliveries: %s", textOf(last))
	}
	if n := collects(e); n != 2 {
		t.Errorf("collectInvestigationPackage called %d times, want 2", n)
	}

	store, err := evidence.NewFile(evidence.FileOptions{Dir: e.Config.EvidenceDir()})
	if err != nil {
		t.Fatal(err)
	}
	records, err := store.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	machines := map[string]bool{}
	requests := map[string]bool{}
	for _, c := range records {
		u, ok := uploads[c.FileName]
		if !ok {
			t.Errorf("a custody record for no upload: %+v", c)
			continue
		}
		if _, sum := e.MDE.PackageOf(c.ActionID); c.SHA256 != sum || u.SHA256 != sum {
			t.Errorf("%s: stored %s, uploaded %s, Defender served %s", c.MachineName, c.SHA256, u.SHA256, sum)
		}
		if c.Comment != "INC-9 lateral movement" || c.Requester.UPN != "alice@contoso.com" {
			t.Errorf("custody record of %s: %+v", c.MachineName, c)
		}
		machines[c.MachineName], requests[c.RequestID] = true, true
	}
	if len(records) != 2 || !machines["ws-0042.contoso.local"] || !machines["srv-db01.contoso.local"] || len(requests) != 2 {
		t.Errorf("custody records: %d, machines %v, requests %v; want one of its own for each known device", len(records), machines, requests)
	}
}

// buttonsByLabel maps each button of a message to its value.
func buttonsByLabel(t *testing.T, ev slackfake.Event) map[string]string {
	t.Helper()
	var blocks []struct {
		Elements []struct {
			Type  string          `json:"type"`
			Text  json.RawMessage `json:"text"`
			Value string          `json:"value"`
		} `json:"elements"`
	}
	if err := json.Unmarshal(ev.Message.Blocks, &blocks); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, b := range blocks {
		for _, el := range b.Elements {
			var label struct {
				Text string `json:"text"`
			}
			if el.Type == "button" && json.Unmarshal(el.Text, &label) == nil {
				out[label.Text] = el.Value
			}
		}
	}
	return out
}

// In an approval channel each device of a batch is approved on its own,
// from the batch's one card: bob approves one device and denies the other;
// the first is delivered, the second never collected.
func TestCollectBatchEachDeviceApprovedOnItsOwn(t *testing.T) {
	e, _ := start(t, demo.Options{})
	login(t, e, demo.Alice)
	mark := e.Mark()
	command(t, e, demo.Alice, demo.ChanApproval, "collect ws-0042,srv-db01 INC-11")
	confirm := waitEvent(t, e, mark, "the confirmation", func(ev slackfake.Event) bool {
		return privateTo(demo.Alice, "Collect investigation packages from 2 devices")(ev) && hasButton(ev, handlers.ActionConfirm)
	})
	mark = e.Mark()
	if a, err := e.Click(deadline(t, 10*time.Second), demo.Alice, demo.ChanApproval, "", handlers.ActionConfirm, buttonValue(confirm, handlers.ActionConfirm)); err != nil || a.Status != 200 {
		t.Fatalf("confirm: %v %+v", err, a)
	}
	card := waitEvent(t, e, mark, "the card with each device's Approve and Deny", func(ev slackfake.Event) bool {
		return (ev.Kind == slackfake.EventMessage || ev.Kind == slackfake.EventUpdate) && ev.Message.Channel == demo.ChanApproval &&
			strings.Count(string(ev.Message.Blocks), handlers.ActionApprove) == 2
	})
	waitEvent(t, e, mark, "the requester told approval is needed", privateTo(demo.Alice, "Each of the 2 collections needs approval"))
	buttons := buttonsByLabel(t, card)
	approveWS, denyDB := buttons["Approve ws-0042.contoso.local"], buttons["Deny srv-db01.contoso.local"]
	if approveWS == "" || denyDB == "" || approveWS == denyDB {
		t.Fatalf("the card's buttons: %v", buttons)
	}
	if n := collects(e); n != 0 {
		t.Fatalf("%d collections started before any approval", n)
	}
	click(t, e, demo.Bob, card, handlers.ActionDeny, denyDB)
	waitEvent(t, e, mark, "the denial told", privateTo(demo.Alice, "denied"))
	click(t, e, demo.Bob, card, handlers.ActionApprove, approveWS)
	up := waitEvent(t, e, mark, "the upload in the card's thread", func(ev slackfake.Event) bool {
		return ev.Kind == slackfake.EventFileShared && ev.Upload.ThreadTS == card.Message.TS
	})
	c := custodyOf(t, e, approveWS)
	if c.MachineID != demo.MachineWS || len(c.Approvers) != 1 || c.Approvers[0].SlackID != demo.Bob || c.SHA256 != up.Upload.SHA256 {
		t.Errorf("custody record of the approved device: %+v", c)
	}
	time.Sleep(time.Second)
	if n := collects(e); n != 1 {
		t.Errorf("collectInvestigationPackage called %d times, want 1 (the denied device never collected)", n)
	}
}
