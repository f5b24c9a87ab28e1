package handlers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/mdebot/mdebot/evidence"
	"github.com/mdebot/mdebot/mde"
	"github.com/mdebot/mdebot/triage"
)

// Evidence keeps each delivered package once, with its chain-of-custody
// record (package evidence: file, azure_blob). Without one (nil, or the none
// store) Defender's short-lived link is passed through as before.
type Evidence interface {
	Kind() string
	Put(ctx context.Context, id string, body io.Reader, c evidence.Custody) (evidence.Custody, error)
	Open(ctx context.Context, id string) (*evidence.Package, error)
	Custody(ctx context.Context, id string) (evidence.Custody, error)
	Record(ctx context.Context, id string, a evidence.Access) error
	Link(ctx context.Context, id string, ttl time.Duration, actor string) (evidence.Link, error)
	Purge(ctx context.Context, id string, at time.Time) error
	List(ctx context.Context) ([]evidence.Custody, error)
}

// keeps reports whether packages go through the evidence store.
func (s *Service) keeps() bool {
	return s.opt.Evidence != nil && s.opt.Evidence.Kind() != evidence.KindNone
}

// source is where a fetch job reads an action's package: Defender's link the
// first time, then the copy it already stored for another request of the
// same action (so Defender is downloaded from once per call).
type source struct {
	link   mde.PackageURL
	got    time.Time // when link was obtained
	stored string    // a request whose package is in the store
	// renew, when set, asks Defender for a new link (a live response
	// result's expires after 30 minutes); renewed records that it was used.
	renew   func(context.Context) (mde.PackageURL, error)
	renewed bool
}

// fresh reports whether the source can still serve: a stored copy always,
// a link while younger than reuse.
func (src *source) fresh(now time.Time, reuse time.Duration) bool {
	return src.stored != "" || now.Sub(src.got) <= reuse
}

// keep stores r's package (once: a package stored before, by a run that
// crashed after storing, is kept as it is) and returns its custody record.
func (s *Service) keep(ctx context.Context, r *Request, src *source) (evidence.Custody, error) {
	if c, err := s.opt.Evidence.Custody(ctx, r.ID); err == nil {
		return c, nil
	} else if !errors.Is(err, evidence.ErrNotFound) {
		return evidence.Custody{}, err
	}
	body, err := s.packageBody(ctx, src)
	if err != nil {
		return evidence.Custody{}, err
	}
	defer body.Close()
	c, err := s.opt.Evidence.Put(ctx, r.ID, body, s.custody(ctx, r))
	if errors.Is(err, evidence.ErrExists) {
		return s.opt.Evidence.Custody(ctx, r.ID)
	}
	if err != nil {
		return evidence.Custody{}, err
	}
	src.stored = r.ID
	s.auditReq(ctx, r, r.User, "evidence.stored", "ok", fmt.Sprintf("%s (%d bytes, SHA-256 %s) in the %s store", c.FileName, c.Size, c.SHA256, s.opt.Evidence.Kind()))
	return c, nil
}

// packageBody opens the package at its source.
func (s *Service) packageBody(ctx context.Context, src *source) (io.ReadCloser, error) {
	if src.stored != "" {
		p, err := s.opt.Evidence.Open(ctx, src.stored)
		if err == nil {
			rc, err := p.Reader()
			if err != nil {
				p.Close()
				return nil, err
			}
			return readCloser{rc, []io.Closer{rc, p}}, nil
		}
		// The copy vanished (purged meanwhile): read Defender's again.
		s.log.WarnContext(ctx, "reading a stored copy failed; downloading again", "request_id", src.stored, "err", err)
	}
	pkg, err := s.opt.Defender.OpenPackage(ctx, src.link)
	if err != nil {
		return nil, err
	}
	pkg.SkipHash() // the store hashes what it writes; that is the custody hash
	return pkg, nil
}

// readCloser reads from its reader and closes every closer.
type readCloser struct {
	io.Reader
	closers []io.Closer
}

func (c readCloser) Close() error {
	var errs []error
	for _, x := range c.closers {
		errs = append(errs, x.Close())
	}
	return errors.Join(errs...)
}

// custody is what the record says of r before the bytes are stored.
func (s *Service) custody(ctx context.Context, r *Request) evidence.Custody {
	c := evidence.Custody{
		ActionID: r.ActionID, MachineID: r.MachineID, MachineName: r.MachineName, Comment: r.Comment,
		Requester:     evidence.Person{SlackID: r.User},
		ActionCreated: r.ActionCreated, ActionUpdated: r.ActionUpdated,
		FileName:   packageFileName(r),
		SourcePath: r.Path,
		ReceivedAt: s.now(),
	}
	if l, err := s.opt.Identity.Linked(ctx, r.Team, r.User); err == nil {
		c.Requester.UPN = l.Username
	}
	if ds, err := s.opt.Store.Decisions(ctx, r.ID); err == nil {
		for _, d := range ds {
			decision := "approved"
			if !d.Approve {
				decision = "denied"
			}
			c.Approvers = append(c.Approvers, evidence.Approval{SlackID: d.Approver, Decision: decision, At: d.At})
		}
	}
	return c
}

// packageFileName is what the package is called where it is delivered: the
// investigation package's zip, or a GetFile result's <host>-<file>.gz.
func packageFileName(r *Request) string {
	if r.LiveResponse() {
		return liveFileName(r)
	}
	return "investigation-package-" + r.ActionID + ".zip"
}

// stored is a package kept in the evidence store, as delivered.
func stored(c evidence.Custody) delivered {
	return delivered{sha256: c.SHA256, bytes: c.Size}
}

// downloadButton offers a fresh link to the stored package of request id.
func downloadButton(id string) Button {
	return Button{Label: "Download", ActionID: ActionDownload, Value: id, Style: "primary"}
}

// freshLink issues a link to r's stored package for actor, or none when the
// store cannot (a file store without http.public_url: the button uploads
// the zip to the clicker's direct messages instead).
func (s *Service) freshLink(ctx context.Context, r *Request, actor string) (evidence.Link, bool) {
	l, err := s.opt.Evidence.Link(ctx, r.ID, s.opt.LinkTTL, actor)
	if err != nil {
		if !errors.Is(err, evidence.ErrNoPublicURL) {
			s.logger(r.ID).WarnContext(ctx, "issuing a first download link failed; the Download button stays", "err", err)
		}
		return evidence.Link{}, false
	}
	s.auditReq(ctx, r, actor, "evidence.link_issued", "ok", "valid until "+utcTime(l.ExpiresAt))
	return l, true
}

// storedLinkMessage presents a stored package: its hash, a first link when
// one could be issued, and the Download button that issues fresh ones.
func (s *Service) storedLinkMessage(ctx context.Context, r *Request, c evidence.Custody, inChannel bool, reason Text) Message {
	what := "Investigation package"
	if r.LiveResponse() {
		what = "File"
	}
	m := Message{
		Header: T(what + " ready"),
		Fields: append(s.requestFields(r),
			Field{Label: "Size", Value: Tf("%s (%d bytes)", triage.HumanSize(c.Size), c.Size)},
			Field{Label: "SHA-256", Value: T(Code(c.SHA256))}),
		Buttons: []Button{downloadButton(r.ID)},
		Context: Tf("Request %s · kept as evidence; each Download gives a fresh link valid for %s", Code(r.ID), roundDuration(s.opt.LinkTTL)),
	}
	if inChannel {
		m.Header = Tf("%s for %s ready", what, User(r.User))
	}
	first := T("Click Download for a link.")
	if l, ok := s.freshLink(ctx, r, r.User); ok {
		first = Tf("%s (valid until %s UTC; it is a credential, do not forward it)", Link(l.URL, "Download "+c.FileName), l.ExpiresAt.UTC().Format("15:04"))
	}
	m.Text = Lines(reason, first)
	return m
}
