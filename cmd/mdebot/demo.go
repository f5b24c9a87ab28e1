package main

import (
	"context"
	"io"
)

// runDemo plays the whole flow against the fakes and prints the conversation.
func runDemo(_ context.Context, args []string, _, stderr io.Writer) int {
	fs := newFlags("demo", "[--interactive]", stderr)
	fs.Bool("interactive", false, "type the commands yourself instead of the scripted session")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	return notImplemented(stderr, "demo")
}
