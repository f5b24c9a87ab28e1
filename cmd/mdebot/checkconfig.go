package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/mdebot/mdebot/app"
	"github.com/mdebot/mdebot/config"
)

// runCheckConfig validates the configuration: exit 0 and "ok: …" when it is
// valid, otherwise one "key: problem" line per problem on stderr and exit 1.
// With --live, a valid configuration is then tried against Slack, Entra ID,
// Defender and the database: one "ok"/"FAILED" line per check on stdout,
// exit 1 when any failed.
func runCheckConfig(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("check-config", "[--config FILE] [--live]", stderr)
	path := configFlag(fs)
	live := fs.Bool("live", false, "also check Slack, the Entra authority, Defender and the database")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	cfg, err := config.Load(*path)
	var problems config.Problems
	switch {
	case errors.As(err, &problems): // values that could not be read
	case err != nil:
		fmt.Fprintf(stderr, "check-config: %v\n", err)
		return 1
	default:
		problems = cfg.Validate()
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(stderr, p)
		}
		return 1
	}
	fmt.Fprintln(stdout, "ok: configuration is valid")
	// Valid, but worth knowing: which evidence store runs and why, and any
	// setting that weakens a guarantee.
	fmt.Fprintln(stderr, "note: "+cfg.EvidenceStoreReason())
	for _, w := range cfg.Warnings() {
		fmt.Fprintln(stderr, "warning: "+w.String())
	}
	if *live {
		return checkLive(ctx, cfg, stdout, stderr)
	}
	return 0
}

// checkLive runs the live checks. The Entra client is the default one:
// system roots plus SSL_CERT_FILE, as serve trusts.
func checkLive(ctx context.Context, cfg *config.Config, stdout, stderr io.Writer) int {
	results := app.Check(ctx, cfg, app.CheckOptions{})
	failed := 0
	for _, r := range results {
		fmt.Fprintln(stdout, r)
		if !r.OK {
			failed++
		}
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "check-config: %d of %d live checks failed\n", failed, len(results))
		return 1
	}
	return 0
}
