//go:build unix

package store

import (
	"fmt"
	"os"
	"syscall"
)

// lockFile takes an exclusive advisory lock on path (created if missing), so
// processes starting together on one SQLite file migrate one at a time.
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: migration lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("store: migration lock: %w", err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// holdRunLock marks this process as one that has the database open, with a
// shared lock on path held until release. sole reports that no other process
// held it when this one came: whatever the database says is running belongs
// to a process that is gone. The exclusive lock taken to find out is turned
// into a shared one at once, so processes coming later learn they are not alone.
func holdRunLock(path string) (sole bool, release func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return false, nil, fmt.Errorf("store: run lock: %w", err)
	}
	sole = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH); err != nil {
		f.Close()
		return false, nil, fmt.Errorf("store: run lock: %w", err)
	}
	return sole, func() { f.Close() }, nil
}
