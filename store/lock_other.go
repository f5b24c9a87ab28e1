//go:build !unix

package store

// lockFile is a no-op where flock is unavailable: start one process at a time there.
func lockFile(string) (func(), error) { return func() {}, nil }
