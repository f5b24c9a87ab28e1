package handlers

import (
	"sync"
	"time"

	"github.com/mdebot/mdebot/mde"
)

// links keeps, in this process's memory only, the package links obtained in
// the last moments, so that an ask for the same action arriving just after
// a fetch ended is served without another getPackageUri call. A link is a
// credential: it is never written anywhere.
type links struct {
	mu sync.Mutex
	by map[string]heldLink
}

type heldLink struct {
	link mde.PackageURL
	got  time.Time
}

// remember keeps action's link obtained at got.
func (l *links) remember(action string, link mde.PackageURL, got time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.by == nil {
		l.by = map[string]heldLink{}
	}
	l.by[action] = heldLink{link: link, got: got}
}

// fresh returns action's link if it is at most reuse old, forgetting every
// older one.
func (l *links) fresh(action string, now time.Time, reuse time.Duration) (mde.PackageURL, time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for a, h := range l.by {
		if now.Sub(h.got) > reuse {
			delete(l.by, a)
		}
	}
	h, ok := l.by[action]
	return h.link, h.got, ok
}
