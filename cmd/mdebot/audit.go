package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/mdebot/mdebot/config"
	"github.com/mdebot/mdebot/handlers"
	"github.com/mdebot/mdebot/store"
)

// runAudit prints audit events as JSON lines, oldest first, for a SIEM.
func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("audit", "[--config FILE] [--since DURATION]", stderr)
	path := configFlag(fs)
	since := fs.Duration("since", 0, "only events newer than this (e.g. 24h); 0 prints every event")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *since < 0 {
		fmt.Fprintln(stderr, "audit: --since must not be negative")
		return 2
	}
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	// Only the store settings matter here: Slack or Entra placeholders do not stop an export.
	var bad bool
	for _, p := range cfg.Validate() {
		if strings.HasPrefix(p.Key, "store.driver") || strings.HasPrefix(p.Key, "store.dsn") {
			fmt.Fprintln(stderr, p)
			bad = true
		}
	}
	if bad {
		return 1
	}
	db, err := store.Open(ctx, cfg.Store.Driver, cfg.Store.DSN)
	if err != nil {
		fmt.Fprintf(stderr, "audit: %v\n", err)
		return 1
	}
	defer db.Close()
	var from time.Time
	if *since > 0 {
		from = time.Now().Add(-*since)
	}
	// Streamed page by page: memory stays flat whatever the window holds.
	enc := json.NewEncoder(stdout)
	if err := db.EachAudit(ctx, from, func(e handlers.AuditEvent) error { return enc.Encode(e) }); err != nil {
		fmt.Fprintf(stderr, "audit: %v\n", err)
		return 1
	}
	return 0
}
