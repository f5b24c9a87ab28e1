package handlers_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mdebot/mdebot/evidence"
	"github.com/mdebot/mdebot/handlers"
	"github.com/mdebot/mdebot/mde/mdetest"
	"github.com/mdebot/mdebot/store"
)

// searchAs types "search <target> <term>" as user in ch, in team, and runs
// the command's background work as the transport would; it returns the
// acknowledgement.
func (e *env) searchAs(user, ch, teamID, target, term string) handlers.Ack {
	ack := e.svc.Command(context.Background(), handlers.Command{RequestID: "cmd0000000000001", Team: teamID, Channel: ch,
		User: user, Command: "/mde-package", Text: "search " + target + " " + term})
	if ack.Work != nil {
		ack.Work(context.Background())
	}
	return ack
}

// The search finds each needle of the realistic package (in the UTF-16LE
// netstat output, CSVs in UTF-8 with a BOM and in Windows-1252, reg query
// text): the total and the first match as folder/file:line, privately to
// the searcher. It is audited with the term and the count, never the
// matching lines, and appended to the custody record.
func TestSearchFindsNeedles(t *testing.T) {
	facts := mdetest.RealisticFacts()
	pkg := packageBytes(t, mdetest.PackageRealistic)
	forEachStore(t, func(t *testing.T, open func() *store.DB) {
		e := newEvEnv(t, open(), nil)
		r := e.delivered(t, "feed000000000001", requester, handlers.DeliveryLink, t0, pkg)
		for _, n := range facts.Needles {
			t.Run(n.Term, func(t *testing.T) {
				before := len(e.msgs.to(requester, "matching"))
				// From a direct message: the requester may search anywhere.
				e.searchAs(requester, "D0ALICE01", team, r.ID, n.Term)
				got := e.msgs.to(requester, "matching")
				if len(got) != before+1 {
					t.Fatalf("%d answers, want one more than %d", len(got), before)
				}
				m := got[len(got)-1]
				want := fmt.Sprintf("%d matching line", n.Total)
				if h := m.Header.Plain(); !strings.HasPrefix(h, want) || !strings.Contains(h, n.Term) {
					t.Errorf("header %q, want %q… naming %q", h, want, n.Term)
				}
				lines := codes(m.Text)
				if len(lines) != n.Total || !strings.HasPrefix(lines[0], fmt.Sprintf("%s:%d: ", n.Path, n.Line)) {
					t.Fatalf("matches %q, want %d starting with %s:%d", lines, n.Total, n.Path, n.Line)
				}
				for _, l := range lines {
					if !strings.Contains(strings.ToLower(l), strings.ToLower(n.Term)) {
						t.Errorf("match %q does not hold %q", l, n.Term)
					}
				}
				evs := e.audited(t, r.ID, "evidence.searched")
				last := evs[len(evs)-1]
				wantDetail := fmt.Sprintf("term %q: %d matching lines in ", n.Term, n.Total)
				if last.Actor != requester || last.Outcome != "ok" || !strings.HasPrefix(last.Detail, wantDetail) {
					t.Errorf("audit %+v, want by %s with detail %q…", last, requester, wantDetail)
				}
				if rest := strings.TrimPrefix(lines[0], fmt.Sprintf("%s:%d: ", n.Path, n.Line)); strings.Contains(last.Detail, rest) {
					t.Errorf("the audit holds the matching line %q: %s", rest, last.Detail)
				}
			})
		}
		acc := e.accesses(t, r.ID, evidence.AccessSearched)
		if len(acc) != len(facts.Needles) || acc[0].Actor != requester || !strings.Contains(acc[0].Detail, facts.Needles[0].Term) {
			t.Errorf("custody searched accesses %+v, want %d by %s naming the term", acc, len(facts.Needles), requester)
		}
	})
}

// Only people who may download a package may search it: the requester and
// the approvers anywhere, others only from the delivery channel of a
// channel delivery. By action ID the latest delivered request the searcher
// may see is searched. Refusals say why, are audited, and search nothing.
func TestSearchWhoMay(t *testing.T) {
	pkg := packageBytes(t, mdetest.PackageRealistic)
	const term = "185.199.108.153"
	forEachStore(t, func(t *testing.T, open func() *store.DB) {
		db := open()
		e := newEvEnv(t, db, nil)
		upload := e.delivered(t, "ab00000000000001", requester, handlers.DeliveryUpload, t0, pkg)
		link := e.delivered(t, "ac00000000000001", requester, handlers.DeliveryLink, t0.Add(time.Minute), pkg)
		// The action's newest delivery went privately to someone else.
		e.delivered(t, "ad00000000000001", "U0DAVE", handlers.DeliveryLink, t0.Add(2*time.Minute), pkg)
		failed := e.pending(t, "af00000000000001")
		failed.State = handlers.StateFailed
		if err := db.UpdateRequest(context.Background(), failed, handlers.Cond{State: handlers.StateAwaitingApproval}); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name, user, ch, team, target string
			want                         string // in the answer
			searched                     string // the request searched, "" for a refusal
		}{
			{"requester elsewhere", requester, "C0ELSE001", team, upload.ID, "1 matching line", upload.ID},
			{"approver elsewhere", approver, "C0ELSE001", team, link.ID, "1 matching line", link.ID},
			{"member in the upload channel", outsider, upload.Channel, team, upload.ID, "1 matching line", upload.ID},
			{"member elsewhere", outsider, "C0ELSE001", team, upload.ID, "You may not search this package", ""},
			{"in the channel of a private delivery", outsider, link.Channel, team, link.ID, "You may not search this package", ""},
			{"by action: the latest the searcher may see", requester, "C0ELSE001", team, actionID, "1 matching line", link.ID},
			{"by action: nothing they may see", outsider, "C0ELSE001", team, actionID, "You may not search this package", ""},
			{"another workspace", requester, "C0ELSE001", "T02", upload.ID, "There is no request", ""},
			{"by action in another workspace", requester, "C0ELSE001", "T02", actionID, "No package of action", ""},
			{"unknown request", requester, "C0ELSE001", team, "0123456789abcdef", "There is no request", ""},
			{"not delivered", requester, channel, team, failed.ID, "only a delivered package can be searched", ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := searchEvents(t, e)
				e.searchAs(tt.user, tt.ch, tt.team, tt.target, term)
				got := e.msgs.to(tt.user, tt.want)
				if len(got) == 0 {
					t.Fatalf("no answer to %s saying %q", tt.user, tt.want)
				}
				after := searchEvents(t, e)
				added := after[len(before):]
				switch {
				case tt.searched != "":
					if len(added) != 1 || added[0].Event != "evidence.searched" || added[0].RequestID != tt.searched || added[0].Actor != tt.user {
						t.Errorf("audit %+v, want evidence.searched of %s by %s", added, tt.searched, tt.user)
					}
					if h := got[len(got)-1].Header.Plain(); !strings.Contains(h, tt.searched) {
						t.Errorf("answer %q does not name request %s", h, tt.searched)
					}
				case strings.Contains(tt.want, "may not"):
					if len(added) != 1 || added[0].Event != "evidence.refused" || added[0].Actor != tt.user || !strings.Contains(added[0].Detail, term) {
						t.Errorf("audit %+v, want one evidence.refused by %s naming the term", added, tt.user)
					}
				default:
					if len(added) != 0 {
						t.Errorf("audit %+v, want nothing", added)
					}
				}
			})
		}
	})
}

// searchEvents are the search and refusal audit events so far.
func searchEvents(t *testing.T, e *evEnv) []handlers.AuditEvent {
	t.Helper()
	return e.auditWhere(t, func(a handlers.AuditEvent) bool {
		return a.Event == "evidence.searched" || a.Event == "evidence.refused"
	})
}

// A bad term or identifier is refused in the acknowledgement with a clear
// sentence, and nothing else happens: no work, no audit, no custody
// access. Without an evidence store, once the package is purged, or when
// it is missing from the store, there is nothing to search, and the answer
// says why.
func TestSearchRefusals(t *testing.T) {
	pkg := packageBytes(t, mdetest.PackageRealistic)
	forEachStore(t, func(t *testing.T, open func() *store.DB) {
		db := open()
		e := newEvEnv(t, db, nil)
		r := e.delivered(t, "bad0000000000001", requester, handlers.DeliveryUpload, t0, pkg)
		for _, tt := range []struct{ text, want string }{
			{"search " + r.ID + " x", "at least 2 characters"},
			{"search " + r.ID + " " + strings.Repeat("a", 201), "at most 200 characters"},
			{"search " + r.ID + " a\tb", "control characters"},
			{"search " + r.ID, "Usage"},
			{"search ../" + r.ID + " term", "neither a request ID"},
		} {
			ack := e.svc.Command(context.Background(), handlers.Command{Team: team, Channel: channel, User: requester, Text: tt.text})
			if ack.Work != nil || ack.Reply == nil || !strings.Contains(ack.Reply.Text.Plain(), tt.want) {
				t.Errorf("%q: ack %+v, want a refusal saying %q and no work", tt.text, ack.Reply, tt.want)
			}
		}
		if evs := searchEvents(t, e); len(evs) != 0 {
			t.Errorf("refused commands were audited as searches: %+v", evs)
		}
		if acc := e.accesses(t, r.ID, evidence.AccessSearched); len(acc) != 0 {
			t.Errorf("refused commands were recorded in the custody record: %+v", acc)
		}
		if err := e.ev.Purge(context.Background(), r.ID, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		e.searchAs(requester, channel, team, r.ID, "updater")
		if got := e.msgs.to(requester, "deleted at"); len(got) != 1 {
			t.Errorf("a search of a purged package was not told it was purged")
		}
		gone := e.delivered(t, "bad0000000000002", requester, handlers.DeliveryUpload, t0, pkg)
		if err := os.Remove(filepath.Join(e.dir, gone.ID+evidence.PackageSuffix)); err != nil {
			t.Fatal(err)
		}
		e.searchAs(requester, channel, team, gone.ID, "updater")
		if got := e.msgs.to(requester, "missing from the evidence store"); len(got) != 1 {
			t.Errorf("a search of a package missing from the store was not told so")
		}
		none := newEnvWith(t, db, nil)
		none.searchAs(requester, channel, team, r.ID, "updater")
		if got := none.msgs.to(requester, "evidence.store is none"); len(got) != 1 {
			t.Errorf("without an evidence store the search did not say there is nothing to search")
		}
	})
}
