// Command mdebot is the Slack bot that fetches Defender for Endpoint
// investigation packages as the requesting analyst. main only wires: each
// subcommand lives in its own file, the logic in the packages.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/mdebot/mdebot/config"
)

// version is set at build time: go build -ldflags "-X main.version=1.2.3".
var version = "dev"

// command is one subcommand: run gets the arguments after its name and
// returns the process exit code (0 ok, 1 failure, 2 usage).
type command struct {
	name     string
	synopsis string
	summary  string
	run      func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"serve", "[--config FILE]", "run the bot", runServe},
		{"demo", "[--interactive]", "run the whole flow on this machine against fakes of Slack, Defender and Entra ID", runDemo},
		{"manifest", "[--config FILE]", "print the Slack app manifest (YAML) for this configuration", runManifest},
		{"check-config", "[--config FILE] [--live]", "validate the configuration; --live also reaches Slack, Entra ID, Defender and the database", runCheckConfig},
		{"audit", "[--config FILE] [--since DURATION]", "print audit events as JSON lines", runAudit},
		{"evidence", "verify [--config FILE] | export REQUEST-ID --out DIR", "verify stored packages against their custody records, or export one for a case file", runEvidence},
		{"rekey", "[--config FILE] [--drop-unreadable]", "re-encrypt stored tokens from the key in MDEBOT_STORE_OLD_ENCRYPTION_KEY to store.encryption_key", runRekey},
		{"version", "", "print the version", runVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches to a subcommand and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "mdebot: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: mdebot <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-13s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun mdebot <command> -h for a command's flags.")
}

// newFlags makes a subcommand's flag set; -h prints its usage to stderr.
func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: mdebot %s %s\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// configFlag adds --config, shared by the commands that read the configuration.
func configFlag(fs *flag.FlagSet) *string {
	return fs.String("config", config.DefaultPath, "configuration file (YAML); settings also come from MDEBOT_* variables")
}

// parseFlags parses args; when ok is false the command stops with code
// (0 after -h, 2 after a bad flag or a stray argument).
func parseFlags(fs *flag.FlagSet, args []string) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 2, false // flag has printed the error and the usage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "mdebot %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		fs.Usage()
		return 2, false
	}
	return 0, true
}

// loadValid loads and validates the configuration; on any problem it prints
// one line per problem and returns a nil Config with exit code 1.
func loadValid(path string, stderr io.Writer) (*config.Config, int) {
	cfg, err := config.Load(path)
	var problems config.Problems
	switch {
	case errors.As(err, &problems):
	case err != nil:
		fmt.Fprintln(stderr, err)
		return nil, 1
	default:
		problems = cfg.Validate()
	}
	for _, p := range problems {
		fmt.Fprintln(stderr, p)
	}
	if len(problems) > 0 {
		return nil, 1
	}
	return cfg, 0
}
