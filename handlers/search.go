package handlers

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/mdebot/mdebot/evidence"
	"github.com/mdebot/mdebot/triage"
)

// searchCandidates bounds the delivered requests of one action looked at
// for one the searcher may see.
const searchCandidates = 20

// search answers "search <request-id or action-id> <term>" privately. It
// runs in the command's background work: it reads the stored package.
// Only people who may download the package may search it; every search,
// refused ones included, is audited with its term and count, never with
// the matching lines (they are evidence content, shown only to the
// searcher).
func (s *Service) search(ctx context.Context, c Command, rec Recipient, p Parsed) {
	if !s.keeps() {
		s.fail(ctx, c, rec, VerbSearch, errorf(CodeInvalid, "This bot does not keep packages (evidence.store is none), so there is nothing to search."))
		return
	}
	r, err := s.searchRequest(ctx, c, p)
	if err != nil {
		s.fail(ctx, c, rec, VerbSearch, err)
		return
	}
	pkg, err := s.opt.Evidence.Open(ctx, r.ID)
	var purged *evidence.PurgedError
	switch {
	case errors.As(err, &purged):
		s.fail(ctx, c, rec, VerbSearch, errorf(CodeInvalid,
			"The package of request %s was deleted at %s under the retention policy (evidence.retention), so it cannot be searched.", Code(r.ID), utcTime(purged.At)))
		return
	case errors.Is(err, evidence.ErrNotFound):
		s.fail(ctx, c, rec, VerbSearch, errorf(CodeInvalid,
			"No package is stored for request %s: it was delivered before the bot kept evidence.", Code(r.ID)))
		return
	case errors.Is(err, evidence.ErrMissing):
		s.fail(ctx, c, rec, VerbSearch, errorf(CodeInvalid,
			"The package of request %s is missing from the evidence store although its custody record exists. Tell the bot's operators (mdebot evidence verify names such packages).", Code(r.ID)))
		return
	case err != nil:
		s.fail(ctx, c, rec, VerbSearch, err)
		return
	}
	defer pkg.Close()
	res, err := triage.Search(ctx, pkg, pkg.Size(), p.Term, triage.DefaultMaxMatches, s.opt.Triage)
	if reason, ok := triage.Refusal(err); ok {
		s.auditReq(ctx, r, c.User, "evidence.searched", "refused", fmt.Sprintf("term %q: the package could not be searched: %s", p.Term, reason))
		s.fail(ctx, c, rec, VerbSearch, errorf(CodeInvalid, "The package of request %s could not be searched: %s.", Code(r.ID), reason))
		return
	}
	if err != nil {
		s.fail(ctx, c, rec, VerbSearch, err)
		return
	}
	detail := fmt.Sprintf("term %q: %d matching lines in %d text files", p.Term, res.Total, res.Files)
	s.record(ctx, r.ID, evidence.Access{Kind: evidence.AccessSearched, Actor: c.User, At: s.now(), Detail: detail})
	s.auditReq(ctx, r, c.User, "evidence.searched", "ok", detail)
	s.opt.Metrics.Command(VerbSearch, "ok")
	s.reply(ctx, rec, c.RequestID, s.searchMessage(r, p.Term, res))
}

// searchRequest finds the request whose package is searched: the one
// named, or the latest delivered one of the action named that the
// searcher may see. A refusal is audited.
func (s *Service) searchRequest(ctx context.Context, c Command, p Parsed) (*Request, error) {
	if isRequestID(p.Target) {
		r, err := s.opt.Store.GetRequest(ctx, p.Target)
		if errors.Is(err, ErrNotFound) || err == nil && r.Team != c.Team {
			return nil, errorf(CodeInvalid, "There is no request %s in this workspace.", Code(p.Target))
		}
		if err != nil {
			return nil, err
		}
		if r.State != StateDelivered {
			return nil, errorf(CodeInvalid, "Request %s is %s: only a delivered package can be searched.", Code(r.ID), stateWords(r.State))
		}
		return s.searchable(ctx, c, p, []*Request{r})
	}
	rs, err := s.opt.Store.ActionRequests(ctx, c.Team, p.Target, StateDelivered, searchCandidates)
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, errorf(CodeInvalid, "No package of action %s was delivered in this workspace, so there is nothing to search.", Code(p.Target))
	}
	return s.searchable(ctx, c, p, rs)
}

// searchable returns the first of rs the searcher may see, or refuses
// (audited on the first).
func (s *Service) searchable(ctx context.Context, c Command, p Parsed, rs []*Request) (*Request, error) {
	for _, r := range rs {
		ok, err := s.mayDownload(ctx, c.User, c.Channel, r)
		if err != nil {
			return nil, err
		}
		if ok {
			return r, nil
		}
	}
	s.auditReq(ctx, rs[0], c.User, "evidence.refused", "refused",
		fmt.Sprintf("search for %q: not the requester, an approver, or searching from the delivery channel", p.Term))
	return nil, errorf(CodeForbidden, "You may not search this package: only its requester, its approvers and, for packages delivered in a channel, that channel's members (searching from that channel) may.")
}

// searchMessage lists the matches as folder/file:line: text, each a code
// span (the renderer escapes them), and the total.
func (s *Service) searchMessage(r *Request, term string, res *triage.SearchResult) Message {
	m := Message{
		Fields: []Field{
			{Label: "Machine", Value: machineLabel(r.MachineName, r.MachineID)},
			{Label: "Searched", Value: Tf("%d text files (%d binary files skipped)", res.Files, res.Binary)},
		},
		Context: Tf("Request %s · case-insensitive; UTF-16 and UTF-8 text and CSV files · searches are audited (the term and the count)", Code(r.ID)),
	}
	switch res.Total {
	case 0:
		m.Header = Tf("No line matches %s in the package of request %s", Code(term), Code(r.ID))
	case 1:
		m.Header = Tf("1 matching line for %s in the package of request %s", Code(term), Code(r.ID))
	default:
		m.Header = Tf("%d matching lines for %s in the package of request %s", res.Total, Code(term), Code(r.ID))
	}
	var lines []Text
	for _, x := range res.Matches {
		lines = append(lines, T(Code(fmt.Sprintf("%s:%d: %s", cutText(x.Path, pathChars), x.Line, x.Text))))
	}
	if res.Total > len(res.Matches) {
		lines = append(lines, Tf("Showing the first %d of %d.", len(res.Matches), res.Total))
	}
	if len(res.Unread) > 0 {
		lines = append(lines, T("Not searched to the end: "+cutText(strings.Join(res.Unread, "; "), 500)))
	}
	m.Text = Lines(lines...)
	return m
}
