package handlers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/mdebot/mdebot/evidence"
	"github.com/mdebot/mdebot/triage"
)

// download answers a Download click with a fresh link to the stored
// package, privately, if the clicker may see it. A click never calls Defender.
func (s *Service) download(ctx context.Context, c Click, rec Recipient, r *Request) {
	if !s.keeps() {
		s.reply(ctx, rec, r.ID, Message{Header: T("Nothing to download"), Text: T("This bot does not keep packages (evidence.store is none).")})
		return
	}
	ok, err := s.mayDownload(ctx, c.User, c.Channel, r)
	if err != nil {
		s.reply(ctx, rec, r.ID, Message{Header: T("That did not work"), Text: s.explain(ctx, err, "request_id", r.ID)})
		return
	}
	if !ok {
		s.auditReq(ctx, r, c.User, "evidence.refused", "refused", "not the requester, an approver, or a member of the delivery channel")
		s.reply(ctx, rec, r.ID, Message{Header: T("Nothing changed"), Text: T(
			"You may not download this package: only its requester, its approvers and, for packages delivered in a channel, that channel's members may.")})
		return
	}
	l, err := s.opt.Evidence.Link(ctx, r.ID, s.opt.LinkTTL, c.User)
	var purged *evidence.PurgedError
	switch {
	case errors.As(err, &purged):
		s.reply(ctx, rec, r.ID, Message{Header: T("The package was purged"), Text: Tf(
			"The package of request %s was deleted at %s under the retention policy (evidence.retention); its custody record is kept.", Code(r.ID), utcTime(purged.At))})
		return
	case errors.Is(err, evidence.ErrNoPublicURL):
		s.sendStored(ctx, c, rec, r)
		return
	case errors.Is(err, evidence.ErrNotFound):
		s.reply(ctx, rec, r.ID, Message{Header: T("Nothing to download"), Text: T(
			"No package is stored for this request: it is not delivered yet, or it was delivered before the bot kept evidence.")})
		return
	case err != nil:
		s.reply(ctx, rec, r.ID, Message{Header: T("That did not work"), Text: s.explain(ctx, err, "request_id", r.ID)})
		return
	}
	s.auditReq(ctx, r, c.User, "evidence.link_issued", "ok", "valid until "+utcTime(l.ExpiresAt))
	cust, _ := s.opt.Evidence.Custody(ctx, r.ID)
	s.reply(ctx, rec, r.ID, Message{
		Header: T("Your download link"),
		Text:   Tf("%s (valid until %s UTC; it is a credential, do not forward it)", Link(l.URL, "Download "+cust.FileName), l.ExpiresAt.UTC().Format("15:04")),
		Fields: []Field{
			{Label: "SHA-256", Value: T(Code(cust.SHA256))},
			{Label: "Size", Value: Tf("%s (%d bytes)", triage.HumanSize(cust.Size), cust.Size)},
		},
		Context: Tf("Request %s · verify the SHA-256 after download", Code(r.ID)),
	})
}

// mayDownload says who may see a stored package (download it, search it):
// the requester and the request's approvers always; anyone in the delivery
// channel when the package was delivered there, acting from that channel
// (a click on its message, a command typed in it).
func (s *Service) mayDownload(ctx context.Context, user, channel string, r *Request) (bool, error) {
	if user == r.User {
		return true, nil
	}
	inChannel := r.Delivery == DeliveryUpload || r.Delivery == DeliveryLinkInChannel
	if inChannel && channel == r.Channel {
		return true, nil
	}
	return s.member(ctx, user, r.Approvers)
}

// sendStored uploads the stored package to the clicker's direct messages:
// the file store's way without http.public_url.
func (s *Service) sendStored(ctx context.Context, c Click, rec Recipient, r *Request) {
	p, err := s.opt.Evidence.Open(ctx, r.ID)
	if err == nil {
		defer p.Close()
		var body io.ReadCloser
		if body, err = p.Reader(); err == nil {
			defer body.Close()
			cust := p.Custody()
			err = s.opt.Messenger.Upload(ctx, Upload{ToUser: c.User, Filename: cust.FileName, Size: p.Size(), Body: body,
				Title:   uploadTitle(r),
				Comment: fmt.Sprintf("SHA-256 %s · request %s", cust.SHA256, r.ID)})
		}
	}
	if err != nil {
		s.reply(ctx, rec, r.ID, Message{Header: T("That did not work"), Text: s.explain(ctx, err, "request_id", r.ID)})
		return
	}
	s.record(ctx, r.ID, evidence.Access{Kind: evidence.AccessDownloaded, Actor: c.User, At: s.now(), Detail: "uploaded to the clicker's direct messages"})
	s.auditReq(ctx, r, c.User, "evidence.downloaded", "ok", "uploaded to the clicker's direct messages")
	s.reply(ctx, rec, r.ID, Message{Header: T("Sent to your direct messages"), Text: T("The package was uploaded to your direct messages with this bot.")})
}

// record appends an access to a custody record, logging a failure.
func (s *Service) record(ctx context.Context, id string, a evidence.Access) {
	if err := s.opt.Evidence.Record(ctx, id, a); err != nil {
		s.logger(id).ErrorContext(ctx, "recording an access in the custody record failed", "kind", a.Kind, "err", err)
	}
}

// Downloaded audits a download the file store's link served (the store has
// appended it to the custody record).
func (s *Service) Downloaded(ctx context.Context, d evidence.Download) {
	e := AuditEvent{At: d.At, RequestID: d.RequestID, Actor: d.Actor, Event: "evidence.downloaded", Outcome: "ok",
		SHA256: d.SHA256, Bytes: d.Bytes, Detail: fmt.Sprintf("served over HTTP (status %d)", d.Status)}
	if r, err := s.opt.Store.GetRequest(ctx, d.RequestID); err == nil {
		e.Team, e.Channel, e.ActionID, e.MachineID = r.Team, r.Channel, r.ActionID, r.MachineID
	}
	s.audit(ctx, e)
}

// purgeOld applies the retention settings, at most once per PurgeEvery
// (listing every custody record is not work for each 30-second sweep): ended
// requests and audit events past store.*_retention are deleted, and stored
// packages past evidence.retention (their custody records stay, marked purged).
func (s *Service) purgeOld(ctx context.Context) {
	now := s.now()
	last := s.lastPurge.Load()
	if last != 0 && now.Sub(time.Unix(0, last)) < s.opt.PurgeEvery || !s.lastPurge.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	if s.opt.RequestRetention > 0 {
		if n, err := s.opt.Store.PurgeRequests(ctx, now.Add(-s.opt.RequestRetention)); err != nil {
			s.log.ErrorContext(ctx, "deleting old requests failed", "err", err)
		} else if n > 0 {
			s.audit(ctx, AuditEvent{Event: "store.requests_purged", Outcome: "ok", Detail: fmt.Sprintf("%d ended requests older than store.request_retention %s", n, s.opt.RequestRetention)})
		}
	}
	if s.opt.AuditRetention > 0 {
		if n, err := s.opt.Store.PurgeAudit(ctx, now.Add(-s.opt.AuditRetention)); err != nil {
			s.log.ErrorContext(ctx, "deleting old audit events failed", "err", err)
		} else if n > 0 {
			s.log.InfoContext(ctx, "deleted old audit events", "events", n, "retention", s.opt.AuditRetention)
		}
	}
	if !s.keeps() || s.opt.Retention <= 0 {
		return
	}
	cs, err := s.opt.Evidence.List(ctx)
	if err != nil {
		s.log.ErrorContext(ctx, "listing stored packages for retention failed", "err", err)
		return
	}
	for _, c := range cs {
		if !c.PurgedAt.IsZero() || c.StoredAt.IsZero() || now.Sub(c.StoredAt) < s.opt.Retention {
			continue
		}
		if err := s.opt.Evidence.Purge(ctx, c.RequestID, now); err != nil {
			s.logger(c.RequestID).ErrorContext(ctx, "purging a stored package failed", "err", err)
			continue
		}
		s.audit(ctx, AuditEvent{RequestID: c.RequestID, Event: "evidence.purged", Outcome: "ok", ActionID: c.ActionID, MachineID: c.MachineID,
			SHA256: c.SHA256, Bytes: c.Size, Detail: fmt.Sprintf("stored %s, older than evidence.retention %s", utcTime(c.StoredAt), s.opt.Retention)})
	}
}
