//go:build !unix

package store

// lockFile is a no-op where flock is unavailable: start one process at a time there.
func lockFile(string) (func(), error) { return func() {}, nil }

// holdRunLock cannot tell whether another process has the database open
// where flock is unavailable: it never claims to be alone.
func holdRunLock(string) (bool, func(), error) { return false, func() {}, nil }
