package demo

import (
	"encoding/json"
	"math"
	"strings"

	"github.com/mdebot/mdebot/bot/slackfake"
)

// surface is something the bot showed in Slack that may hold buttons.
type surface struct {
	channel, ts string
	// viewer is who sees it ("" for everyone in the channel).
	viewer string
	blocks json.RawMessage
}

// ackSurface is a reply that rode on an acknowledgement, which the fake
// does not record: mark is the Slack event count when it arrived.
type ackSurface struct {
	mark int
	surface
}

// pressable is a button someone can see, with where it is.
type pressable struct {
	label, actionID, value, blockID string
	channel, ts                     string
}

// surfaces lists what the bot showed, oldest first, channel messages in
// their current state (edits applied, deleted ones emptied).
func surfaces(evs []slackfake.Event, acks []ackSurface) []surface {
	var out []surface
	at := map[string]int{} // channel message (channel/ts) -> index in out
	addAcks := func(upto int) {
		for len(acks) > 0 && acks[0].mark <= upto {
			out = append(out, acks[0].surface)
			acks = acks[1:]
		}
	}
	for i, ev := range evs {
		addAcks(i)
		switch ev.Kind {
		case slackfake.EventMessage:
			m := ev.Message
			at[m.Channel+"/"+m.TS] = len(out)
			out = append(out, surface{channel: m.Channel, ts: m.TS, viewer: m.DMUser, blocks: m.Blocks})
		case slackfake.EventUpdate, slackfake.EventDelete:
			m := ev.Message
			if j, ok := at[m.Channel+"/"+m.TS]; ok {
				out[j].blocks = m.Blocks
				if ev.Kind == slackfake.EventDelete {
					out[j].blocks = nil
				}
			}
		case slackfake.EventEphemeral:
			m := ev.Message
			out = append(out, surface{channel: m.Channel, ts: m.TS, viewer: m.User, blocks: m.Blocks})
		case slackfake.EventResponse:
			user, channel := responseOwner(ev.Response.ID)
			out = append(out, surface{channel: channel, viewer: user, blocks: ev.Response.Blocks})
		}
	}
	addAcks(math.MaxInt)
	return out
}

// responseOwner reads the user and channel from a response_url id. The
// session names its hooks user-channel-n; Env.Command's are user-nanos.
func responseOwner(id string) (user, channel string) {
	parts := strings.SplitN(id, "-", 3)
	if len(parts) == 3 && ChannelName(parts[1]) != "" {
		return parts[0], parts[1]
	}
	return parts[0], ""
}

// findButton returns the most recent button labelled label that user sees.
func findButton(all []surface, user, label string) (pressable, bool) {
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].viewer != "" && all[i].viewer != user {
			continue
		}
		for _, b := range buttonsOf(all[i]) {
			if strings.EqualFold(b.label, label) {
				return b, true
			}
		}
	}
	return pressable{}, false
}

// visibleLabels are the distinct labels of the buttons user sees, newest first.
func visibleLabels(all []surface, user string) []string {
	var labels []string
	seen := map[string]bool{}
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].viewer != "" && all[i].viewer != user {
			continue
		}
		for _, b := range buttonsOf(all[i]) {
			if !seen[b.label] {
				seen[b.label] = true
				labels = append(labels, "["+b.label+"]")
			}
		}
	}
	return labels
}

// buttonsOf reads the buttons of a surface's blocks (actions blocks and
// section accessories).
func buttonsOf(s surface) []pressable {
	var blocks []struct {
		Type      string            `json:"type"`
		BlockID   string            `json:"block_id"`
		Elements  []json.RawMessage `json:"elements"`
		Accessory json.RawMessage   `json:"accessory"`
	}
	if len(s.blocks) == 0 || json.Unmarshal(s.blocks, &blocks) != nil {
		return nil
	}
	var out []pressable
	add := func(blockID string, raw json.RawMessage) {
		var b struct {
			Type     string `json:"type"`
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
		}
		if len(raw) == 0 || json.Unmarshal(raw, &b) != nil || b.Type != "button" {
			return
		}
		out = append(out, pressable{label: elementText(raw), actionID: b.ActionID, value: b.Value,
			blockID: blockID, channel: s.channel, ts: s.ts})
	}
	for _, b := range blocks {
		switch b.Type {
		case "actions":
			for _, el := range b.Elements {
				add(b.BlockID, el)
			}
		case "section":
			add(b.BlockID, b.Accessory)
		}
	}
	return out
}
