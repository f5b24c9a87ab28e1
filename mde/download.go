package mde

// Package is an open package download: reading it streams the body while
// computing SHA-256 and the byte count, and fails past the maximum size.
// (Implementation: see the mde issue; the helper owning mde fills this in.)
type Package struct{}
