package main

import (
	"context"
	"io"
)

// runServe runs the bot (Socket Mode or HTTP, plus the HTTP routes).
func runServe(_ context.Context, args []string, _, stderr io.Writer) int {
	fs := newFlags("serve", "[--config FILE]", stderr)
	configFlag(fs)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	return notImplemented(stderr, "serve")
}
