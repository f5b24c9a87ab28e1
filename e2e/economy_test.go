package e2e

import (
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdebot/mdebot/bot/slackfake"
	"github.com/mdebot/mdebot/demo"
	"github.com/mdebot/mdebot/store"
)

// Twenty concurrent asks for one action share one getPackageUri call, and
// every requester gets the package.
func TestConcurrentAsksShareOneCall(t *testing.T) {
	e, _ := start(t, demo.Options{})
	users := []string{demo.Alice, demo.Bob, demo.Carol, demo.Dave}
	for _, u := range users {
		login(t, e, u)
	}
	id := addAction(e, "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6c01")
	mark := e.Mark()
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := e.Command(deadline(t, 10e9), users[i%len(users)], demo.ChanPrivate, id)
			if err != nil || a.Status != 200 {
				t.Errorf("ask %d: %v %v", i, err, a)
			}
		}()
	}
	wg.Wait()
	delivered := 0
	waitEvent(t, e, mark, "20 deliveries", func(ev slackfake.Event) bool {
		if ev.Kind == slackfake.EventEphemeral && strings.Contains(ev.Message.Text, "Investigation package ready") {
			delivered++
		}
		return delivered == 20
	})
	if n := len(e.MDE.PackageURICalls()); n != 1 {
		t.Errorf("getPackageUri called %d times for 20 concurrent asks, want 1", n)
	}
	// The audit trail says whose call served the others: 5 asks per user, one
	// user's token made the call, so 15 requests were served by another's call.
	db, err := store.Open(deadline(t, 10e9), store.DriverSQLite, "file:"+filepath.Join(e.Dir, "mdebot.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	events, err := db.ListAudit(deadline(t, 10e9), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	shared := 0
	for _, ev := range events {
		if ev.Event == "package.shared" {
			shared++
		}
	}
	if shared != 15 {
		t.Errorf("%d package.shared audit events, want 15", shared)
	}
}
