package main

import (
	"context"
	"io"
)

// runManifest prints the Slack app manifest for the configuration.
func runManifest(_ context.Context, args []string, _, stderr io.Writer) int {
	fs := newFlags("manifest", "[--config FILE]", stderr)
	configFlag(fs)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	return notImplemented(stderr, "manifest")
}
