//go:build !unix

package evidence

// lockFile is a no-op where flock is unavailable: the in-process mutex still
// serialises one process; do not share the folder between processes there.
func lockFile(string) (func(), error) { return func() {}, nil }
