package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/mdebot/mdebot/config"
)

// runCheckConfig validates the configuration: exit 0 and "ok: …" when it is
// valid, otherwise one "key: problem" line per problem on stderr and exit 1.
func runCheckConfig(_ context.Context, args []string, stdout, stderr io.Writer) int {
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
	if *live {
		fmt.Fprintln(stderr, "check-config --live: not implemented yet")
		return 2
	}
	fmt.Fprintln(stdout, "ok: configuration is valid")
	return 0
}
