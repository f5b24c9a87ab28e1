package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/mdebot/mdebot/bot"
	"github.com/mdebot/mdebot/config"
)

// runManifest prints the Slack app manifest (YAML) for the configuration.
// Only the keys the manifest uses must be valid: it is made before the Slack
// app, and so before its tokens, exist.
func runManifest(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("manifest", "[--config FILE]", stderr)
	path := configFlag(fs)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	cfg, err := config.Load(*path)
	var problems config.Problems
	switch {
	case errors.As(err, &problems): // values that could not be read
		for _, p := range problems {
			fmt.Fprintln(stderr, p)
		}
		return 1
	case err != nil:
		fmt.Fprintf(stderr, "manifest: %v\n", err)
		return 1
	}
	bad := false
	for _, p := range cfg.Validate() {
		if p.Key == "slack.mode" || p.Key == "slack.command" || p.Key == "slack.features" || (p.Key == "http.public_url" && cfg.Slack.Mode == "http") {
			fmt.Fprintln(stderr, p)
			bad = true
		}
	}
	if bad {
		return 1
	}
	out, err := bot.Manifest(bot.ManifestOptions{Mode: cfg.Slack.Mode, Command: cfg.Slack.Command, PublicURL: cfg.HTTP.PublicURL,
		Features: cfg.Slack.Features})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if _, err := stdout.Write(out); err != nil {
		fmt.Fprintf(stderr, "manifest: %v\n", err)
		return 1
	}
	return 0
}
