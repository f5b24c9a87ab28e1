package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"

	"github.com/mdebot/mdebot/app"
	"github.com/mdebot/mdebot/config"
	"github.com/mdebot/mdebot/evidence"
)

const (
	evidenceVerifySynopsis = "[--config FILE]"
	evidenceExportSynopsis = "REQUEST-ID --out DIR [--config FILE]"
)

// runEvidence dispatches evidence verify and evidence export.
func runEvidence(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "usage: mdebot evidence verify %s\n       mdebot evidence export %s\n", evidenceVerifySynopsis, evidenceExportSynopsis)
	}
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "verify":
		return runEvidenceVerify(ctx, args[1:], stdout, stderr)
	case "export":
		return runEvidenceExport(ctx, args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "mdebot evidence: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

// runEvidenceVerify prints one line per stored package; exit 1 names each
// mismatch or missing package.
func runEvidenceVerify(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("evidence verify", evidenceVerifySynopsis, stderr)
	path := configFlag(fs)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	s, code := openEvidence(ctx, *path, stderr)
	if s == nil {
		return code
	}
	defer s.Close()
	if s.Kind() == evidence.KindNone {
		fmt.Fprintln(stderr, "evidence.store is none: no packages are kept, nothing to verify")
		return 0
	}
	checks, err := evidence.Verify(ctx, s, cliActor())
	var failed []string
	for _, c := range checks {
		fmt.Fprintln(stdout, c)
		if c.Failed() {
			failed = append(failed, c.RequestID+" ("+string(c.Status)+")")
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "evidence verify: %v\n", err)
		return 1
	}
	if len(failed) > 0 {
		fmt.Fprintf(stderr, "evidence verify: %d of %d packages failed: %s\n", len(failed), len(checks), strings.Join(failed, ", "))
		return 1
	}
	fmt.Fprintf(stderr, "evidence verify: %d packages checked, none failed\n", len(checks))
	return 0
}

// runEvidenceExport writes one package and its custody record into --out.
func runEvidenceExport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("evidence export", evidenceExportSynopsis, stderr)
	path := configFlag(fs)
	out := fs.String("out", "", "folder to write the package and its custody record into (created 0700; existing files are never overwritten)")
	id, code, ok := parseFlagsAndArg(fs, args)
	if !ok {
		return code
	}
	switch {
	case id == "":
		fmt.Fprintln(stderr, "mdebot evidence export: REQUEST-ID is required")
		fs.Usage()
		return 2
	case evidence.ValidID(id) != nil:
		fmt.Fprintf(stderr, "mdebot evidence export: %q is not a request id (1 to 64 letters and digits)\n", id)
		return 2
	case *out == "":
		fmt.Fprintln(stderr, "mdebot evidence export: --out DIR is required")
		fs.Usage()
		return 2
	}
	s, code := openEvidence(ctx, *path, stderr)
	if s == nil {
		return code
	}
	defer s.Close()
	res, err := evidence.Export(ctx, s, id, *out, cliActor())
	if err != nil {
		fmt.Fprintf(stderr, "evidence export: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s  %d bytes  sha256 %s\n%s\n", res.Package, res.Size, res.SHA256, res.Custody)
	return 0
}

// parseFlagsAndArg is parseFlags for a command with one positional argument,
// given before or after the flags.
func parseFlagsAndArg(fs *flag.FlagSet, args []string) (arg string, code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return "", 0, false
		}
		return "", 2, false
	}
	if fs.NArg() == 0 {
		return "", 0, true
	}
	arg = fs.Arg(0)
	code, ok = parseFlags(fs, fs.Args()[1:])
	return arg, code, ok
}

// openEvidence loads the configuration and opens its evidence store; only
// the evidence settings need to be valid.
func openEvidence(ctx context.Context, path string, stderr io.Writer) (evidence.Store, int) {
	cfg, err := config.Load(path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return nil, 1
	}
	if ps := app.EvidenceProblems(cfg); len(ps) > 0 {
		for _, p := range ps {
			fmt.Fprintln(stderr, p)
		}
		return nil, 1
	}
	s, err := app.OpenEvidence(ctx, cfg, nil)
	if err != nil {
		fmt.Fprintf(stderr, "evidence: %v\n", err)
		return nil, 1
	}
	return s, 0
}

// cliActor names the person at the terminal in custody records.
func cliActor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return "cli:" + u
	}
	return "cli"
}
