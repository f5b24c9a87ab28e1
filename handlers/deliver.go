package handlers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/mdebot/mdebot/evidence"
	"github.com/mdebot/mdebot/mde"
	"github.com/mdebot/mdebot/triage"
)

// delivered is what a delivery produced.
type delivered struct {
	sha256 string
	bytes  int64
	detail string
	mode   Delivery // the mode actually used (an upload may fall back to a link)
}

// deliver hands the package to one claimed request per its channel's mode and
// records it; a failure returns the request to ready for another attempt.
// With an evidence store the package is stored first and delivered from the
// store (Defender's link is never shown); without one, as Defender gives it.
func (s *Service) deliver(ctx context.Context, r *Request, src *source) {
	// The channel may have been shared with another organisation since the ask.
	if rule, _, err := s.channelRule(ctx, r.Channel); err == nil {
		var refused *Error
		if err := s.checkAudience(ctx, rule, r.Channel, r.User); errors.As(err, &refused) {
			s.end(ctx, r, StateFailed, refused.Message, "")
			return
		} else if err != nil {
			s.logger(r.ID).WarnContext(ctx, "could not check the channel's audience before delivery; delivering", "err", err)
		}
	}
	d, err := s.produce(ctx, r, src)
	var me *mde.Error
	if errors.As(err, &me) && me.Kind == mde.KindLinkExpired && src.renew != nil && !src.renewed {
		// A live response result link lives 30 minutes; a new call makes a
		// new one. Asked for once per fetch; the expired one is never shown.
		src.renewed = true
		s.auditReq(ctx, r, r.User, "liveresponse.link_expired", "retry", "the result link expired before the download; asking Defender for a new one")
		link, lerr := src.renew(ctx)
		if err = lerr; err == nil {
			src.link = link
			d, err = s.produce(ctx, r, src)
		}
	}
	if err != nil && s.keeps() && errors.As(err, &me) && me.Kind == mde.KindTooLarge {
		// Never fall back to Defender's link when evidence is kept.
		s.end(ctx, r, StateFailed, Tf("The %s is larger than this bot accepts (mde.max_package_size %s), so it was not fetched. Download it from the Defender portal.", noun(r), triage.HumanSize(s.opt.MaxPackageSize)), "")
		return
	}
	if err != nil {
		s.opt.Metrics.Delivery(string(r.Delivery), "error", 0)
		s.logger(r.ID).ErrorContext(ctx, "delivery failed; will retry", "mode", r.Delivery, "err", err)
		s.auditReq(ctx, r, r.User, "delivery.failed", "error", err.Error())
		if r.Polls+1 >= maxFetchAttempts {
			s.end(ctx, r, StateFailed, T("The "+noun(r)+" could not be delivered: ", s.explain(ctx, err, "request_id", r.ID)), "")
			return
		}
		s.release(ctx, []*Request{r}, func(x *Request) { x.Polls++ })
		return
	}
	// The delivery told the requester: the transition records it, so no
	// telling job follows.
	ok, serr := s.move(ctx, r, step{to: StateDelivered, mutate: func(x *Request) {
		x.ToldAt, x.LeaseOwner, x.LeaseUntil, x.ResponseURL = s.now(), "", time.Time{}, ""
		x.SHA256, x.Bytes, x.Detail, x.QueuePosition = d.sha256, d.bytes, d.detail, 0
	}})
	if serr != nil || !ok {
		s.logger(r.ID).ErrorContext(ctx, "recording a delivery failed", "err", serr, "state", r.State)
		return
	}
	uploaded := d.bytes
	if d.mode != DeliveryUpload {
		uploaded = 0 // the metric counts bytes sent into Slack
	}
	s.opt.Metrics.Delivery(string(d.mode), "ok", uploaded)
	s.auditReq(ctx, r, r.User, "delivery."+string(d.mode), "ok", d.detail)
}

// produce delivers r's package from src: through the evidence store when
// one is kept, else as Defender gives it.
func (s *Service) produce(ctx context.Context, r *Request, src *source) (delivered, error) {
	if s.keeps() {
		return s.deliverStored(ctx, r, src)
	}
	return s.deliverPassThrough(ctx, r, src.link)
}

// noun is what r delivers, for people.
func noun(r *Request) string {
	if r.LiveResponse() {
		return "file"
	}
	return "package"
}

// uploadTitle is the title of r's file in Slack.
func uploadTitle(r *Request) string {
	if r.LiveResponse() {
		return fmt.Sprintf("%s from %s (live response action %s)", r.Path, r.MachineName, r.ActionID)
	}
	return fmt.Sprintf("Investigation package of %s (action %s)", r.MachineName, r.ActionID)
}

// deliverPassThrough delivers Defender's link or streams from it (no store).
func (s *Service) deliverPassThrough(ctx context.Context, r *Request, link mde.PackageURL) (delivered, error) {
	switch r.Delivery {
	case DeliveryUpload:
		return s.deliverUpload(ctx, r, link)
	case DeliveryLinkInChannel:
		_, err := s.opt.Messenger.Post(ctx, r.Channel, "", s.linkMessage(r, link, true, nil))
		return delivered{mode: DeliveryLinkInChannel}, err
	}
	return s.deliverPrivately(ctx, r, s.linkMessage(r, link, false, nil), nil)
}

// deliverStored stores the package, then delivers it from the store: an
// upload streams from it, a link delivery shows a first link and the
// Download button.
func (s *Service) deliverStored(ctx context.Context, r *Request, src *source) (delivered, error) {
	c, err := s.keep(ctx, r, src)
	if err != nil {
		return delivered{}, err
	}
	d := stored(c)
	switch r.Delivery {
	case DeliveryUpload:
		var up delivered
		for range 2 { // an upload URL failing once is retried with a fresh one
			if up, err = s.uploadStored(ctx, r, c); err == nil {
				return up, nil
			}
			s.logger(r.ID).WarnContext(ctx, "upload from the evidence store failed", "err", err)
		}
		reason := Tf("The upload into Slack failed (%s), so here is the Download button instead.", s.explain(ctx, err, "request_id", r.ID))
		out, perr := s.deliverPrivately(ctx, r, s.storedLinkMessage(ctx, r, c, false, reason), reason)
		out.sha256, out.bytes = d.sha256, d.bytes
		return out, perr
	case DeliveryLinkInChannel:
		_, err := s.opt.Messenger.Post(ctx, r.Channel, "", s.storedLinkMessage(ctx, r, c, true, nil))
		d.mode, d.detail = DeliveryLinkInChannel, storedDetail(c)
		return d, err
	}
	out, err := s.deliverPrivately(ctx, r, s.storedLinkMessage(ctx, r, c, false, nil), nil)
	out.sha256, out.bytes, out.detail = d.sha256, d.bytes, storedDetail(c)
	return out, err
}

func storedDetail(c evidence.Custody) string {
	return fmt.Sprintf("Stored %s (%s, SHA-256 %s); Download button sent", c.FileName, triage.HumanSize(c.Size), c.SHA256)
}

// uploadStored streams the stored package into the request's thread.
func (s *Service) uploadStored(ctx context.Context, r *Request, c evidence.Custody) (delivered, error) {
	p, err := s.opt.Evidence.Open(ctx, r.ID)
	if err != nil {
		return delivered{}, err
	}
	defer p.Close()
	body, err := p.Reader()
	if err != nil {
		return delivered{}, err
	}
	defer body.Close()
	name := c.FileName
	err = s.opt.Messenger.Upload(ctx, Upload{
		Channel: r.Channel, ThreadTS: r.MessageTS, Filename: name, Size: p.Size(), Body: body, Title: uploadTitle(r),
	})
	if err != nil {
		return delivered{}, err
	}
	d := delivered{sha256: c.SHA256, bytes: c.Size, mode: DeliveryUpload,
		detail: fmt.Sprintf("Uploaded %s (%s, SHA-256 %s)", name, triage.HumanSize(c.Size), c.SHA256)}
	sum := s.summary(ctx, r, d, name)
	sum.Buttons = []Button{downloadButton(r.ID)}
	if _, err := s.opt.Messenger.Post(ctx, r.Channel, r.MessageTS, sum); err != nil {
		s.logger(r.ID).WarnContext(ctx, "posting the upload summary failed", "err", err)
	}
	return d, nil
}

// linkMessage presents the short-lived link; the transport posts it with unfurling off.
func (s *Service) linkMessage(r *Request, link mde.PackageURL, inChannel bool, reason Text) Message {
	label, what := "Download WDATP_Investigation_Package.zip", "Investigation package"
	if r.LiveResponse() {
		label, what = "Download "+packageFileName(r), "File"
	}
	m := Message{
		Header:  T(what + " ready: download now, the link is short-lived"),
		Text:    Lines(reason, T(Link(link.Reveal(), label))),
		Fields:  s.requestFields(r),
		Context: Tf("Request %s · the link expires within minutes; it is a credential, do not forward it", Code(r.ID)),
	}
	if inChannel {
		m.Header = Tf("%s for %s ready: download now, the link is short-lived", what, User(r.User))
	}
	return m
}

// deliverPrivately sends m to the requester only: ephemeral, and also as a
// DM after a wait since ephemeral messages vanish.
func (s *Service) deliverPrivately(ctx context.Context, r *Request, m Message, reason Text) (delivered, error) {
	if err := s.privately(ctx, r, m); err != nil {
		return delivered{}, err
	}
	return delivered{mode: DeliveryLink, detail: reason.Plain()}, nil
}

// deliverUpload streams the package into the request's thread, retrying the
// upload once, then falls back to a private link with the reason.
func (s *Service) deliverUpload(ctx context.Context, r *Request, link mde.PackageURL) (delivered, error) {
	var last error
	for range 2 {
		d, err := s.uploadOnce(ctx, r, link)
		if err == nil {
			return d, nil
		}
		var me *mde.Error
		if errors.As(err, &me) && me.Kind == mde.KindTooLarge {
			reason := Tf("The %s is larger than this bot uploads (mde.max_package_size %s), so here is the link.", noun(r), triage.HumanSize(s.opt.MaxPackageSize))
			return s.deliverPrivately(ctx, r, s.linkMessage(r, link, false, reason), reason)
		}
		if errors.As(err, &me) && me.Kind == mde.KindLinkExpired {
			return delivered{}, err // a dead link is never shown: the caller asks for a new one
		}
		last = err
		s.logger(r.ID).WarnContext(ctx, "upload failed", "err", err)
	}
	reason := Tf("The upload into Slack failed (%s), so here is the link instead.", s.explain(ctx, last, "request_id", r.ID))
	return s.deliverPrivately(ctx, r, s.linkMessage(r, link, false, reason), reason)
}

// uploadOnce streams one copy: package URL → SHA-256 → Slack's upload URL.
func (s *Service) uploadOnce(ctx context.Context, r *Request, link mde.PackageURL) (delivered, error) {
	pkg, err := s.opt.Defender.OpenPackage(ctx, link)
	if err != nil {
		return delivered{}, err
	}
	defer pkg.Close()
	size := pkg.Size()
	var body io.Reader = pkg
	if size > s.opt.MaxPackageSize {
		return delivered{}, &mde.Error{Kind: mde.KindTooLarge, Endpoint: "download"}
	}
	if size < 0 {
		// Slack needs the exact length first: spool to a temp file (still hashed on the way in).
		f, n, err := s.spool(pkg)
		if err != nil {
			return delivered{}, err
		}
		defer os.Remove(f.Name())
		defer f.Close()
		size, body = n, f
	}
	name := packageFileName(r)
	err = s.opt.Messenger.Upload(ctx, Upload{
		Channel: r.Channel, ThreadTS: r.MessageTS, Filename: name, Size: size, Body: body, Title: uploadTitle(r),
	})
	if err != nil {
		return delivered{}, err
	}
	if pkg.N() != size {
		return delivered{}, fmt.Errorf("package read %d bytes, expected %d", pkg.N(), size)
	}
	d := delivered{sha256: pkg.Sum(), bytes: size, mode: DeliveryUpload,
		detail: fmt.Sprintf("Uploaded %s (%s, SHA-256 %s)", name, triage.HumanSize(size), pkg.Sum())}
	if _, err := s.opt.Messenger.Post(ctx, r.Channel, r.MessageTS, s.summary(ctx, r, d, name)); err != nil {
		s.logger(r.ID).WarnContext(ctx, "posting the upload summary failed", "err", err)
	}
	return d, nil
}

// spool copies the package to a temp file and rewinds it.
func (s *Service) spool(pkg io.Reader) (*os.File, int64, error) {
	f, err := os.CreateTemp(s.opt.SpoolDir, "mdebot-package-*.zip")
	if err != nil {
		return nil, 0, fmt.Errorf("spool package: %w", err)
	}
	n, err := io.Copy(f, pkg)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, 0, fmt.Errorf("spool package: %w", err)
	}
	return f, n, nil
}

// summary is the thread message after an upload.
func (s *Service) summary(ctx context.Context, r *Request, d delivered, name string) Message {
	f := []Field{
		{Label: "File", Value: T(name)},
		{Label: "Size", Value: Tf("%s (%d bytes)", triage.HumanSize(d.bytes), d.bytes)},
		{Label: "SHA-256", Value: T(Code(d.sha256))},
		{Label: "Machine", Value: machineLabel(r.MachineName, r.MachineID)},
		{Label: "Action", Value: T(Code(r.ActionID))},
		{Label: "Requester", Value: T(User(r.User))},
		{Label: "Requested", Value: T(utcTime(r.CreatedAt))},
		{Label: "Delivered", Value: T(utcTime(s.now()))},
	}
	if line := s.decisionsLine(ctx, r); len(line) > 0 {
		f = append(f, Field{Label: "Approval", Value: line})
	}
	header := "Investigation package uploaded"
	if r.LiveResponse() {
		header = "File uploaded (gzip, as Defender returned it)"
		f = slices.Insert(f, 1, Field{Label: "Path", Value: T(Code(r.Path))})
	}
	return Message{Header: T(header), Fields: f, Context: Tf("Request %s · verify the SHA-256 after download", Code(r.ID))}
}
