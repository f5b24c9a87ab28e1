package main

import (
	"context"
	"fmt"
	"io"

	"github.com/mdebot/mdebot/app"
)

// runServe runs the bot (Socket Mode or HTTP, plus the HTTP routes) until
// SIGINT or SIGTERM, then shuts down in order.
func runServe(ctx context.Context, args []string, _, stderr io.Writer) int {
	fs := newFlags("serve", "[--config FILE]", stderr)
	path := configFlag(fs)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	cfg, code := loadValid(*path, stderr)
	if cfg == nil {
		return code
	}
	a, err := app.New(ctx, cfg, app.Options{LogOutput: stderr})
	if err != nil {
		fmt.Fprintf(stderr, "serve: %v\n", err)
		return 1
	}
	if err := a.Run(ctx); err != nil {
		fmt.Fprintf(stderr, "serve: %v\n", err)
		return 1
	}
	return 0
}
