package handlers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mdebot/mdebot/identity/account"
	"github.com/mdebot/mdebot/mde"
)

// A collect on several devices is a batch: one request per device (its own
// approval record, limiter place, delivery and custody record), linked by
// Request.BatchID. The batch shares one confirmation (devices that cannot be
// resolved are named there and end at once; the others go on only after the
// Confirm click) and one channel card listing each device's state, position
// and ETA. Its lead is the first request still received (by ID): the one
// that runs the batch's intake.

// receiveBatch stores one received request per device of a collect, before
// the acknowledgement (as receive does for one).
func (s *Service) receiveBatch(ctx context.Context, c Command, p Parsed) ([]*Request, error) {
	now := s.now()
	batch := c.RequestID
	if len(batch) < 16 {
		batch = randomHex(8)
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var rs []*Request
	for i, target := range p.Targets() {
		r := &Request{
			ID: fmt.Sprintf("%sd%02d", batch, i+1), BatchID: batch, Team: c.Team, Channel: c.Channel, ChannelName: c.ChannelName,
			User: c.User, Kind: KindCollect, Target: target, Comment: p.Comment, ResponseURL: c.ResponseURL,
			State: StateReceived, CreatedAt: now, UpdatedAt: now,
		}
		if err := s.opt.Store.CreateRequest(ctx, r); err != nil {
			// The acknowledgement tells the failure: what was stored ends told.
			for _, x := range rs {
				s.endTold(ctx, x, StateFailed, T("The request could not be stored; nothing was started."), "")
			}
			return nil, err
		}
		rs = append(rs, r)
	}
	return rs, nil
}

// commandBatch acknowledges a collect on several devices: the requests are
// stored, and the batch's intake runs after the acknowledgement.
func (s *Service) commandBatch(ctx context.Context, c Command, p Parsed) Ack {
	rs, err := s.receiveBatch(ctx, c, p)
	if err != nil {
		s.opt.Metrics.Command(p.Verb, "error")
		return Ack{Reply: &Message{Header: T("That did not work"), Text: s.explain(ctx, err, "request_id", c.RequestID, "step", "receive")}}
	}
	return Ack{
		Reply: &Message{Header: Tf("Looking up %d devices…", len(rs))},
		Work:  func(ctx context.Context) { s.intake(ctx, rs[0]) },
	}
}

// endTold ends r where the caller tells the requester itself (one message
// for a whole batch): the transition records the telling. The caller tells
// first, so that a crash in between repeats the message rather than skip it.
func (s *Service) endTold(ctx context.Context, r *Request, to State, detail Text, actor string) {
	_, err := s.move(ctx, r, step{to: to, actor: actor, mutate: func(x *Request) {
		x.Detail, x.LeaseOwner, x.LeaseUntil, x.QueuePosition = detail.Plain(), "", time.Time{}, 0
		x.ToldAt, x.ResponseURL = s.now(), ""
	}})
	if err != nil {
		s.logger(r.ID).ErrorContext(ctx, "ending request failed", "to", to, "err", err)
	}
}

// unresolved is a device of a batch that will not be collected, and why.
type unresolved struct {
	r   *Request
	why Text
}

// intakeBatch runs the checks of a batch's received requests: the policy
// once, then each device resolved. The devices found wait for one
// confirmation; the others are named in it and end at once.
func (s *Service) intakeBatch(ctx context.Context, r *Request) {
	all, err := s.opt.Store.ListBatch(ctx, r.BatchID)
	if err != nil {
		s.intakeLost(ctx, r, err)
		return
	}
	var rs []*Request
	for _, x := range all {
		if x.State == StateReceived {
			rs = append(rs, x)
		}
	}
	if len(rs) == 0 || rs[0].ID != r.ID {
		return // nothing left to check, or the lead's run does it
	}
	rule, name, err := s.authorize(ctx, r.Channel, r.ChannelName, r.User)
	if err == nil {
		err = s.withinFairShare(ctx, r)
	}
	if err != nil {
		s.refuseBatch(ctx, rs, err)
		return
	}
	var found []*Request
	var machines []mde.Machine
	var skipped []unresolved
	for _, x := range rs {
		ms, err := patiently(ctx, func(ctx context.Context) ([]mde.Machine, error) {
			return s.opt.Defender.FindMachine(ctx, s.tokens(x.Team, x.User), x.Target)
		})
		if ctx.Err() != nil {
			s.logger(r.ID).WarnContext(ctx, "batch intake interrupted; it will run again", "err", ctx.Err())
			return
		}
		var me *mde.Error
		switch {
		case errors.Is(err, account.ErrNotLinked),
			errors.As(err, &me) && (me.Kind == mde.KindUnauthorized || me.Kind == mde.KindForbidden):
			s.refuseBatch(ctx, rs, err) // true of every device
			return
		case errors.As(err, &me) && me.Kind == mde.KindNotFound:
			skipped = append(skipped, unresolved{x, T("not found in Defender (or you cannot see it)")})
		case err != nil:
			skipped = append(skipped, unresolved{x, T("could not be looked up: ", s.explain(ctx, err, "request_id", x.ID))})
		case len(ms) > 1:
			names := make([]string, len(ms))
			for i, m := range ms {
				names[i] = m.ComputerDNSName
			}
			skipped = append(skipped, unresolved{x, Tf("several devices match (%s): name one by its machine ID", strings.Join(names, ", "))})
		default:
			if i := machineIndex(machines, ms[0].ID); i >= 0 {
				skipped = append(skipped, unresolved{x, Tf("the same device as %s", Code(found[i].Target))})
				continue
			}
			found, machines = append(found, x), append(machines, ms[0])
		}
	}
	expires := s.now().Add(s.opt.ConfirmTTL)
	var waiting []*Request
	var shown []mde.Machine
	for i, x := range found {
		m := machines[i]
		ok, err := s.move(ctx, x, step{to: StateAwaitingConfirmation, mutate: func(y *Request) {
			y.ChannelName, y.Delivery = name, rule.Delivery
			y.MachineID, y.MachineName = m.ID, m.ComputerDNSName
			y.ExpiresAfter, y.ExpiresAt = s.opt.ConfirmTTL, expires
		}})
		if err != nil || !ok {
			s.intakeLost(ctx, x, err)
			continue
		}
		s.auditReq(ctx, x, x.User, "request.created", "awaiting_confirmation", strings.TrimSpace("collect "+x.Target+" "+x.Comment))
		waiting, shown = append(waiting, x), append(shown, m)
	}
	if len(found) > 0 && len(waiting) == 0 {
		return // another run moved them on
	}
	outcome := "ok"
	if len(waiting) == 0 {
		outcome = "refused"
	}
	s.opt.Metrics.Command(VerbCollect, outcome)
	s.reply(ctx, recipient(r), r.ID, s.batchConfirmation(r, rule, waiting, shown, skipped))
	for _, u := range skipped {
		s.endTold(ctx, u.r, StateFailed, Tf("The device %s %s; nothing was started on it.", Code(u.r.Target), u.why), "")
	}
}

func machineIndex(ms []mde.Machine, id string) int {
	for i, m := range ms {
		if m.ID == id {
			return i
		}
	}
	return -1
}

// batchConfirmation asks the requester to confirm the devices found, naming
// those that will not be collected.
func (s *Service) batchConfirmation(r *Request, rule *ChannelRule, waiting []*Request, ms []mde.Machine, skipped []unresolved) Message {
	var notes Text
	if len(skipped) > 0 {
		notes = T("Not collected (nothing is started on these):")
		for _, u := range skipped {
			notes = append(notes, Tf("\n• %s: %s", Code(u.r.Target), u.why)...)
		}
	}
	if len(waiting) == 0 {
		return Message{
			Header:  T("Nothing was started"),
			Text:    Lines(T("None of the devices can be collected."), notes),
			Next:    Tf("Check the names in the Defender portal, then run %s again.", Code(s.opt.Command+" collect")),
			Context: Tf("Batch %s", Code(r.BatchID)),
		}
	}
	var fields []Field
	for _, m := range ms {
		fields = append(fields, Field{Label: m.ComputerDNSName, Value: Tf("%s · %s · last seen %s · %s",
			Code(m.ID), strings.TrimSpace(m.OSPlatform+" "+m.OSVersion), utcTime(m.LastSeen), m.HealthStatus)})
	}
	return Message{
		Header: Tf("Collect investigation packages from %d devices?", len(waiting)),
		Fields: fields,
		Text:   Lines(commentLine(r.Comment), notes),
		Next: T(fmt.Sprintf("Confirm to start a collection on each of these %d devices in Defender as you; each package is delivered on its own. ", len(waiting)) +
			approvalHint(rule, KindCollect)),
		Buttons: []Button{{Label: "Confirm", ActionID: ActionConfirm, Value: waiting[0].ID, Style: "primary"}, {Label: "Cancel", ActionID: ActionCancel, Value: waiting[0].ID}},
		Context: Tf("Batch %s · this confirmation expires in %s", Code(r.BatchID), s.opt.ConfirmTTL),
	}
}

// refuseBatch tells the requester once why none of the batch's devices is
// collected, then ends each request. A cancelled context ends nothing.
func (s *Service) refuseBatch(ctx context.Context, rs []*Request, err error) {
	if ctx.Err() != nil {
		s.logger(rs[0].ID).WarnContext(ctx, "batch intake interrupted; it will run again", "err", err)
		return
	}
	s.opt.Metrics.Command(VerbCollect, outcomeOf(err))
	why := s.explain(ctx, err, "request_id", rs[0].ID, "user", rs[0].User)
	s.reply(ctx, recipient(rs[0]), rs[0].ID, Message{Header: T("That did not work"), Text: why, Context: Tf("Batch %s", Code(rs[0].BatchID))})
	for _, x := range rs {
		s.endTold(ctx, x, StateFailed, why, "")
	}
}

// confirmBatch applies the requester's Confirm or Cancel, clicked at at, to
// every device of r's batch still awaiting it. Confirmed, the batch's card
// is posted first, so each request refers to it as soon as it moves on.
func (s *Service) confirmBatch(ctx context.Context, c Click, rec Recipient, r *Request, yes bool, at time.Time) {
	all, err := s.opt.Store.ListBatch(ctx, r.BatchID)
	if err != nil {
		s.reply(ctx, rec, r.ID, Message{Header: T("That did not work"), Text: s.explain(ctx, err, "request_id", r.ID)})
		return
	}
	var rs []*Request
	for _, x := range all {
		if x.State == StateAwaitingConfirmation {
			rs = append(rs, x)
		}
	}
	if len(rs) == 0 {
		s.alreadyMoved(ctx, rec, r)
		return
	}
	if !yes {
		s.reply(ctx, rec, r.ID, Message{Header: T("Collections cancelled"), Text: Tf("Nothing was started on the %d devices.", len(rs))})
		for _, x := range rs {
			s.endTold(ctx, x, StateCancelled, T("Cancelled by the requester before anything was started."), c.User)
		}
		return
	}
	rule, _, err := s.channelRule(ctx, r.Channel)
	if err != nil {
		for _, x := range rs {
			s.end(ctx, x, StateFailed, s.explain(ctx, err, "request_id", x.ID), "")
		}
		return
	}
	approve := rule.Approval.NeededFor(KindCollect)
	ts, perr := s.opt.Messenger.Post(ctx, r.Channel, "", s.card(ctx, r))
	if perr != nil {
		s.logger(r.ID).ErrorContext(ctx, "posting the batch card failed", "err", perr)
		if approve {
			for _, x := range rs {
				s.end(ctx, x, StateFailed, Tf("The approval request could not be posted in this channel (is the bot a member? Invite it with %s). Nothing was started.", Code("/invite")), "")
			}
			return
		}
	}
	to := StateApproved
	if approve {
		to = StateAwaitingApproval
	}
	var moved []*Request
	for _, x := range rs {
		ok, err := s.move(ctx, x, step{to: to, at: at, actor: c.User, mutate: func(y *Request) {
			y.ExpiresAt, y.ExpiresAfter, y.MessageTS = time.Time{}, 0, ts
			if approve {
				s.openApproval(y, rule)
			}
		}})
		if err != nil || !ok {
			continue
		}
		s.auditReq(ctx, x, c.User, "request.confirmed", string(x.State), "")
		if approve {
			s.auditReq(ctx, x, x.User, "approval.requested", "pending", "approvers: "+strings.Join(x.Approvers, ", "))
		}
		moved = append(moved, x)
	}
	if len(moved) == 0 {
		s.alreadyMoved(ctx, rec, r)
		return
	}
	s.updateCard(ctx, moved[0])
	if approve {
		s.reply(ctx, rec, r.ID, Message{Header: T("Approval requested"), Text: Tf(
			"Each of the %d collections needs approval: ask an approver in %s (%s). Each device is approved on its own; you will be told each outcome.",
			len(moved), Channel(r.Channel), mentionAll(moved[0].Approvers))})
		return
	}
	s.reply(ctx, rec, r.ID, Message{Header: T("Collections confirmed"), Text: Tf(
		"Starting a collection on each of the %d devices as you. One card in the channel shows each device's progress.", len(moved))})
}

// batchCard renders the channel card of a batch: each device's state,
// queue position and ETA, with Approve and Deny for each device awaiting
// approval. ok is false when the batch cannot be read.
func (s *Service) batchCard(ctx context.Context, batchID string) (m Message, ok bool) {
	m, _, ok = s.renderBatch(ctx, batchID)
	return m, ok
}

// renderBatch is batchCard with a fingerprint of what it read (the sum of
// the requests' versions), to tell whether the batch changed since.
func (s *Service) renderBatch(ctx context.Context, batchID string) (Message, int64, bool) {
	rs, err := s.opt.Store.ListBatch(ctx, batchID)
	if err != nil || len(rs) == 0 {
		return Message{}, 0, false
	}
	lead := rs[0]
	m := Message{Header: Tf("Investigation packages from %d devices for %s", len(rs), User(lead.User))}
	m.Fields = []Field{{Label: "Requester", Value: T(User(lead.User))}}
	if lead.Comment != "" {
		m.Fields = append(m.Fields, Field{Label: "Comment", Value: T(lead.Comment)})
	}
	var version int64
	var approvers []string
	queued := false
	for _, x := range rs {
		version += x.Version
		m.Fields = append(m.Fields, Field{Label: deviceName(x), Value: s.deviceLine(ctx, x)})
		if x.QueuePosition > 0 && !x.State.Terminal() {
			queued = true
		}
		if x.State == StateAwaitingApproval {
			approvers = x.Approvers
			label := clipTo(deviceName(x), 40)
			m.Buttons = append(m.Buttons,
				Button{Label: "Approve " + label, ActionID: ActionApprove, Value: x.ID, Style: "primary"},
				Button{Label: "Deny " + label, ActionID: ActionDeny, Value: x.ID, Style: "danger", Confirm: &Confirm{
					Title: "Deny this device?", Text: "The requester will be told the collection on " + label + " was denied.", Confirm: "Deny", Deny: "Keep it"}})
		}
	}
	var next []Text
	if len(m.Buttons) > 0 {
		next = append(next, Tf("Approvers (%s): approve or deny each device. %s", mentionAll(approvers), approvalsNeeded(rs[0])))
	}
	if queued {
		next = append(next, Tf("Defender hands out only %d package links a minute: each device waits its turn.", s.opt.LinksPerMinute))
	}
	m.Next = Lines(next...)
	m.Context = Tf("Batch %s · asked %s UTC", Code(batchID), lead.CreatedAt.UTC().Format("2006-01-02 15:04"))
	return m, version, true
}

// deviceName names a batch request's device: its Defender name once known.
func deviceName(r *Request) string {
	if r.MachineName != "" {
		return r.MachineName
	}
	return r.Target
}

// deviceLine is one device's state on a batch card.
func (s *Service) deviceLine(ctx context.Context, r *Request) Text {
	var t Text
	switch r.State {
	case StateReceived:
		t = T("looking up the device")
	case StateAwaitingConfirmation:
		t = T("waiting for the requester's confirmation")
	case StateAwaitingApproval:
		t = T("waiting for approval")
	case StateApproved:
		t = T("starting the collection")
	case StateWaiting:
		t = Tf("collecting: Defender says %s", Code(r.LastStatus))
	case StateReady, StateFetching:
		t = T("fetching the package")
		if r.QueuePosition > 0 {
			t = T(r.Detail)
		}
	case StateDelivered:
		t = Tf("delivered, SHA-256 %s", Code(r.SHA256))
	case StateDenied:
		t = T("denied: ", detailText(r))
	default:
		t = T(stateWords(r.State)+": ", clipTo(r.Detail, 200))
	}
	if r.ActionID != "" && !r.State.Terminal() {
		t = append(t, Tf(" · action %s", Code(r.ActionID))...)
	}
	if line := s.decisionsLine(ctx, r); len(line) > 0 {
		t = append(append(t, Plain(" · ")), line...)
	}
	return t
}

// clipTo keeps at most n characters of s, marking a cut.
func clipTo(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// updateBatchCard refreshes a batch's card. Each device's job updates it
// as its request moves, so renders race: after each update the batch is
// read again, and rendered again (a few times at most) if it changed
// meanwhile, so the card ends showing the latest states.
func (s *Service) updateBatchCard(ctx context.Context, r *Request) {
	for range 3 {
		m, before, ok := s.renderBatch(ctx, r.BatchID)
		if !ok {
			return
		}
		if err := s.opt.Messenger.Update(ctx, r.Channel, r.MessageTS, m); err != nil {
			s.logger(r.ID).WarnContext(ctx, "updating the batch card failed", "err", err)
			return
		}
		rs, err := s.opt.Store.ListBatch(ctx, r.BatchID)
		if err != nil {
			return
		}
		var after int64
		for _, x := range rs {
			after += x.Version
		}
		if after == before {
			return
		}
	}
}
