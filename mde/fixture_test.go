package mde_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/mdebot/mdebot/mde"
	"github.com/mdebot/mdebot/mde/mdetest"
)

const (
	actionID  = "7f1b8b1e-2d6f-4b8a-9a3c-0c1d2e3f4a5b"
	machineID = "1e5bc9d7e413ddd7902c2932e418702b84d0cc07"
	token     = "tok-alice"
)

var alice = mde.TokenFunc(func(context.Context) (string, error) { return token, nil })

// clock is a settable clock for the fake and the limiter.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type observation struct {
	endpoint string
	status   int
}

// fixture is a fake Defender and a client pointed at it.
type fixture struct {
	fake *mdetest.Server
	c    *mde.Client
	mu   sync.Mutex
	obs  []observation
}

// newFixture starts the fake with fo and a client with o filled in
// (BaseURL, download host 127.0.0.1, 1ms backoff, Observe).
func newFixture(t *testing.T, fo mdetest.Options, o mde.Options) *fixture {
	t.Helper()
	f := &fixture{fake: mdetest.New(fo)}
	t.Cleanup(f.fake.Close)
	o.BaseURL = f.fake.URL
	if o.DownloadHosts == nil {
		o.DownloadHosts = []string{"127.0.0.1"}
	}
	if o.BackoffBase == 0 {
		o.BackoffBase = time.Millisecond
	}
	o.Observe = func(endpoint string, status int, _ time.Duration) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.obs = append(f.obs, observation{endpoint, status})
	}
	c, err := mde.New(o)
	if err != nil {
		t.Fatal(err)
	}
	f.c = c
	return f
}

func (f *fixture) observations() []observation {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]observation(nil), f.obs...)
}
