package handlers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mdebot/mdebot/mde"
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
func (s *Service) deliver(ctx context.Context, r *Request, link mde.PackageURL) {
	var d delivered
	var err error
	switch r.Delivery {
	case DeliveryUpload:
		d, err = s.deliverUpload(ctx, r, link)
	case DeliveryLinkInChannel:
		_, err = s.opt.Messenger.Post(ctx, r.Channel, "", s.linkMessage(r, link, true, ""))
		d = delivered{mode: DeliveryLinkInChannel}
	default:
		d, err = s.deliverPrivately(ctx, r, link, "")
	}
	if err != nil {
		s.opt.Metrics.Delivery(string(r.Delivery), "error", 0)
		s.logger(r.ID).ErrorContext(ctx, "delivery failed; will retry", "mode", r.Delivery, "err", err)
		s.auditReq(ctx, r, r.User, "delivery.failed", "error", err.Error())
		if r.Polls+1 >= maxFetchAttempts {
			s.finish(ctx, r, StateFailed, "The package could not be delivered: "+s.explain(ctx, err, "request_id", r.ID), "")
			s.start(ctx, r)
			return
		}
		s.release(ctx, []*Request{r}, func(x *Request) { x.Polls++ })
		return
	}
	ok, serr := s.transition(ctx, r, []State{StateFetching}, func(x *Request) {
		x.State, x.ToldAt, x.LeaseOwner, x.ResponseURL = StateDelivered, s.now(), "", ""
		x.SHA256, x.Bytes, x.Detail, x.QueuePosition = d.sha256, d.bytes, d.detail, 0
	})
	if serr != nil || !ok {
		s.logger(r.ID).ErrorContext(ctx, "recording a delivery failed", "err", serr, "state", r.State)
		return
	}
	s.opt.Metrics.Delivery(string(d.mode), "ok", d.bytes)
	s.auditReq(ctx, r, r.User, "delivery."+string(d.mode), "ok", d.detail)
	s.updateCard(ctx, r)
}

// linkMessage presents the short-lived link; the transport posts it with unfurling off.
func (s *Service) linkMessage(r *Request, link mde.PackageURL, inChannel bool, reason string) Message {
	m := Message{
		Header:  "Investigation package ready: download now, the link is short-lived",
		Text:    fmt.Sprintf("<%s|Download WDATP_Investigation_Package.zip>", slackSafeURL(link.Reveal())),
		Fields:  s.requestFields(r),
		Context: fmt.Sprintf("Request %s · the link expires within minutes; it is a credential, do not forward it", r.ID),
	}
	if inChannel {
		m.Header = fmt.Sprintf("Investigation package for <@%s> ready: download now, the link is short-lived", r.User)
	}
	if reason != "" {
		m.Text = reason + "\n" + m.Text
	}
	return m
}

// slackSafeURL percent-escapes the characters that would end Slack's <url|label>
// markup early and show part of the credential as text.
func slackSafeURL(u string) string {
	return strings.NewReplacer("|", "%7C", "<", "%3C", ">", "%3E", " ", "%20").Replace(u)
}

// deliverPrivately sends the link to the requester only: ephemeral, and also
// as a DM after a wait since ephemeral messages vanish.
func (s *Service) deliverPrivately(ctx context.Context, r *Request, link mde.PackageURL, reason string) (delivered, error) {
	m := s.linkMessage(r, link, false, reason)
	rec := recipient(r)
	if err := s.opt.Messenger.Private(ctx, rec, m); err != nil {
		if derr := s.opt.Messenger.DM(ctx, r.Team, r.User, m); derr != nil {
			return delivered{}, errors.Join(err, derr)
		}
	} else if s.now().Sub(r.CreatedAt) > dmAfter {
		s.dm(ctx, r.Team, r.User, r.ID, m)
	}
	return delivered{mode: DeliveryLink, detail: reason}, nil
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
			return s.deliverPrivately(ctx, r, link, fmt.Sprintf("The package is larger than this bot uploads (mde.max_package_size %s), so here is the link.", humanBytes(s.opt.MaxPackageSize)))
		}
		last = err
		s.logger(r.ID).WarnContext(ctx, "upload failed", "err", err)
	}
	return s.deliverPrivately(ctx, r, link, "The upload into Slack failed ("+s.explain(ctx, last, "request_id", r.ID)+"), so here is the link instead.")
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
	name := "investigation-package-" + r.ActionID + ".zip"
	err = s.opt.Messenger.Upload(ctx, Upload{
		Channel: r.Channel, ThreadTS: r.MessageTS, Filename: name, Size: size, Body: body,
		Title: fmt.Sprintf("Investigation package of %s (action %s)", r.MachineName, r.ActionID),
	})
	if err != nil {
		return delivered{}, err
	}
	if pkg.N() != size {
		return delivered{}, fmt.Errorf("package read %d bytes, expected %d", pkg.N(), size)
	}
	d := delivered{sha256: pkg.Sum(), bytes: size, mode: DeliveryUpload,
		detail: fmt.Sprintf("Uploaded %s (%s, SHA-256 %s)", name, humanBytes(size), pkg.Sum())}
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
		{Label: "File", Value: name},
		{Label: "Size", Value: fmt.Sprintf("%s (%d bytes)", humanBytes(d.bytes), d.bytes)},
		{Label: "SHA-256", Value: "`" + d.sha256 + "`"},
		{Label: "Machine", Value: machineLabel(r.MachineName, r.MachineID)},
		{Label: "Action", Value: "`" + r.ActionID + "`"},
		{Label: "Requester", Value: "<@" + r.User + ">"},
		{Label: "Requested", Value: utcTime(r.CreatedAt)},
		{Label: "Delivered", Value: utcTime(s.now())},
	}
	if line := s.decisionsLine(ctx, r); line != "" {
		f = append(f, Field{Label: "Approval", Value: line})
	}
	return Message{Header: "Investigation package uploaded", Fields: f, Context: "Request " + r.ID + " · verify the SHA-256 after download"}
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
