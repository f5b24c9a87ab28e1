package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Background work (Ack.Work, click replies) is bounded three ways: by kind,
// so that a burst of commands never delays an approver's click; per user,
// so that one person's burst leaves room for everyone else; and in time,
// so that no unit holds a slot for ever. Long waits that are not work (a
// device-code sign-in) do not belong here: identity runs them itself.

// workKind is a class of background work with its own capacity.
type workKind int

const (
	kindCommand workKind = iota // a slash command's work
	kindClick                   // a button click's reply and work
	numKinds
)

func (k workKind) String() string {
	if k == kindClick {
		return "click"
	}
	return "command"
}

// Defaults of Options.
const (
	defaultMaxBackground = 16
	defaultMaxPerUser    = 4
	defaultWorkTimeout   = 5 * time.Minute
	// shutdownGrace is how long Shutdown still waits, once its budget is
	// spent and the work's context cancelled, for the work to return.
	shutdownGrace = 2 * time.Second
)

// unit names one piece of background work: its kind and whose it is.
type unit struct {
	kind workKind
	user string // team:user; "" shares no per-user bound
}

// scheduler hands out slots: one per unit running.
type scheduler struct {
	kinds   [numKinds]chan struct{}
	perUser int

	mu    sync.Mutex
	users map[string]*userSlots
}

// userSlots is one user's semaphore, dropped once nobody holds or waits for it.
type userSlots struct {
	sem  chan struct{}
	refs int
}

func newScheduler(commands, clicks, perUser int) *scheduler {
	s := &scheduler{perUser: perUser, users: map[string]*userSlots{}}
	s.kinds[kindCommand] = make(chan struct{}, commands)
	s.kinds[kindClick] = make(chan struct{}, clicks)
	return s
}

// acquire waits for the user's slot, then the kind's; it returns the
// release function, or ctx's error when ctx ends first.
func (s *scheduler) acquire(ctx context.Context, u unit) (release func(), err error) {
	var us *userSlots
	if u.user != "" {
		us = s.userSlots(u.user)
		select {
		case us.sem <- struct{}{}:
		case <-ctx.Done():
			s.dropUser(u.user, us)
			return nil, ctx.Err()
		}
	}
	leaveUser := func() {
		if us != nil {
			<-us.sem
			s.dropUser(u.user, us)
		}
	}
	select {
	case s.kinds[u.kind] <- struct{}{}:
	case <-ctx.Done():
		leaveUser()
		return nil, ctx.Err()
	}
	return func() {
		<-s.kinds[u.kind]
		leaveUser()
	}, nil
}

func (s *scheduler) userSlots(key string) *userSlots {
	s.mu.Lock()
	defer s.mu.Unlock()
	us := s.users[key]
	if us == nil {
		us = &userSlots{sem: make(chan struct{}, s.perUser)}
		s.users[key] = us
	}
	us.refs++
	return us
}

func (s *scheduler) dropUser(key string, us *userSlots) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if us.refs--; us.refs == 0 {
		delete(s.users, key)
	}
}

// begin registers one unit of background work; false once shutting down.
func (s *Server) begin() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.work.Add(1)
	return true
}

// background runs f after the acknowledgement; begin must have returned
// true. f's context ends at the unit's deadline (Options.WorkTimeout, from
// now: the wait for a slot counts) or when Shutdown gives up waiting.
func (s *Server) background(u unit, log *slog.Logger, f func(ctx context.Context)) {
	go func() {
		defer s.work.Done()
		ctx, cancel := context.WithTimeout(s.workCtx, s.o.WorkTimeout)
		defer cancel()
		release, err := s.sched.acquire(ctx, u)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				log.Warn("background work dropped: no free slot before its deadline", "work", u.kind.String(), "timeout", s.o.WorkTimeout)
			}
			return
		}
		defer release()
		defer func() {
			// A panicking handler must not take the process (and every other
			// analyst's request) down with it.
			if p := recover(); p != nil {
				log.Error("background work panicked", "panic", fmt.Sprint(p))
			}
		}()
		f(ctx)
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			log.Warn("background work ran past its deadline and was cancelled", "work", u.kind.String(), "timeout", s.o.WorkTimeout)
		}
	}()
}

// Shutdown stops accepting commands and clicks, then waits for background
// work until ctx ends. Then the work's context is cancelled and Shutdown
// waits a little longer (at most 2 s) for it to return, so that nothing of
// it still runs when the caller closes the store.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()

	done := make(chan struct{})
	go func() {
		s.work.Wait()
		close(done)
	}()
	defer s.cancelWork()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	s.cancelWork()
	t := time.NewTimer(shutdownGrace)
	defer t.Stop()
	select {
	case <-done:
		return fmt.Errorf("bot: background work cancelled at shutdown: %w", ctx.Err())
	case <-t.C:
		return fmt.Errorf("bot: background work still running after shutdown: %w", ctx.Err())
	}
}
