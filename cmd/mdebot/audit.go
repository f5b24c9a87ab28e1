package main

import (
	"context"
	"io"
	"time"
)

// runAudit prints the audit events of the last --since as JSON lines.
func runAudit(_ context.Context, args []string, _, stderr io.Writer) int {
	fs := newFlags("audit", "[--config FILE] [--since DURATION]", stderr)
	configFlag(fs)
	fs.Duration("since", 24*time.Hour, "how far back to list events (Go duration: 90m, 24h, 720h)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	return notImplemented(stderr, "audit")
}
