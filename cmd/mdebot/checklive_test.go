package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mdebot/mdebot/config"
	"github.com/mdebot/mdebot/demo"
)

// helperEnv marks the child process of TestCheckConfigLive (MDEBOT_TEST_*
// survives TestMain's cleanup of MDEBOT_* variables).
const helperEnv = "MDEBOT_TEST_CLI_HELPER"

// TestCLIHelperProcess is not a test: it is the mdebot CLI in a child
// process, run by TestCheckConfigLive with the arguments after "--". A child
// is needed because SSL_CERT_FILE is read once per process.
func TestCLIHelperProcess(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		t.Skip("helper process of TestCheckConfigLive: runs only as its child")
	}
	for i, a := range os.Args {
		if a == "--" {
			os.Exit(run(context.Background(), os.Args[i+1:], os.Stdout, os.Stderr))
		}
	}
	fmt.Fprintln(os.Stderr, "helper process: no -- before the CLI arguments")
	os.Exit(3)
}

// runChild runs the CLI in a child process with extra environment entries
// (SSL_CERT_FILE is dropped from the inherited environment).
func runChild(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], append([]string{"-test.run=^TestCLIHelperProcess$", "--"}, args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SSL_CERT_FILE=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, append([]string{helperEnv + "=1"}, env...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		return ee.ExitCode(), out.String(), errOut.String()
	} else if err != nil {
		t.Fatalf("running the CLI: %v", err)
	}
	return 0, out.String(), errOut.String()
}

// check-config --live against the fakes, through the real CLI: lines and exit codes.
func TestCheckConfigLive(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode: runs the CLI in child processes")
	}
	tests := []struct {
		name    string
		mode    string
		noCA    bool                 // run without SSL_CERT_FILE
		breakIt func(e *demo.Env)    // damage a dependency
		tune    func(*config.Config) // changes the configuration written
		code    int
		lines   []string // stdout line prefixes, in order
		stderr  string   // exact
		noCalls bool     // the fakes must have seen nothing
	}{
		{
			name: "http mode, all ok", mode: "http",
			lines: []string{"ok: configuration is valid", "ok     slack auth.test: team T0001 as U0BOT", "ok     entra: tenant " + demo.TenantID + " known",
				"ok     defender: GET http://127.0.0.1:", "ok     database: sqlite file:"},
		},
		{
			name: "socket mode, all ok", mode: "socket",
			lines: []string{"ok: configuration is valid", "ok     slack auth.test:", "ok     slack apps.connections.open: app-level token accepted",
				"ok     entra:", "ok     defender:", "ok     database:"},
		},
		{
			name: "defender down", mode: "http", breakIt: func(e *demo.Env) { e.MDE.Close() }, code: 1,
			lines:  []string{"ok: configuration is valid", "ok     slack auth.test:", "ok     entra:", "FAILED defender: GET http://127.0.0.1:", "ok     database:"},
			stderr: "check-config: 1 of 4 live checks failed\n",
		},
		{
			name: "Entra's certificate not trusted without SSL_CERT_FILE", mode: "socket", noCA: true, code: 1,
			lines: []string{"ok: configuration is valid", "ok     slack auth.test:", "ok     slack apps.connections.open:",
				"FAILED entra: GET https://127.0.0.1:", "ok     defender:", "ok     database:"},
			stderr: "check-config: 1 of 5 live checks failed\n",
		},
		{
			name: "static problems stop before the live checks", mode: "http",
			tune: func(c *config.Config) { c.Log.Format = "xml" }, code: 1,
			stderr: "log.format: must be one of json, text, got \"xml\"\n", noCalls: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := demo.Start(context.Background(), demo.Options{NoApp: true, Mode: tt.mode, Dir: t.TempDir()})
			if err != nil {
				t.Fatalf("demo.Start: %v", err)
			}
			t.Cleanup(e.Close)
			ca := filepath.Join(t.TempDir(), "entra-ca.pem")
			if err := e.Entra.WriteCACert(ca); err != nil {
				t.Fatal(err)
			}
			var env []string
			if !tt.noCA {
				env = append(env, "SSL_CERT_FILE="+ca)
			}
			if tt.breakIt != nil {
				tt.breakIt(e)
			}
			if tt.tune != nil {
				tt.tune(e.Config)
			}
			cfgFile := filepath.Join(t.TempDir(), "config.yaml")
			if err := e.WriteConfig(cfgFile); err != nil {
				t.Fatal(err)
			}
			code, stdout, stderr := runChild(t, env, "check-config", "--live", "--config", cfgFile)
			if code != tt.code {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout, stderr)
			}
			// The evidence note names a temporary folder; TestCheckConfig covers it.
			if note, rest, ok := strings.Cut(stderr, "\n"); ok && strings.HasPrefix(note, "note: evidence.store") {
				stderr = rest
			}
			if stderr != tt.stderr {
				t.Errorf("stderr %q, want %q", stderr, tt.stderr)
			}
			var got []string
			if s := strings.TrimSuffix(stdout, "\n"); s != "" {
				got = strings.Split(s, "\n")
			}
			if len(got) != len(tt.lines) {
				t.Fatalf("stdout has %d lines, want %d:\n%s", len(got), len(tt.lines), stdout)
			}
			for i, want := range tt.lines {
				if !strings.HasPrefix(got[i], want) {
					t.Errorf("line %d %q, want it to start with %q", i+1, got[i], want)
				}
			}
			for _, secret := range []string{e.Config.Slack.BotToken, e.Config.Slack.AppToken, e.Config.Slack.SigningSecret,
				e.Config.Identity.ClientSecret, e.Config.Store.EncryptionKey} {
				if strings.Contains(stdout+stderr, secret) {
					t.Errorf("output shows a secret:\n%s%s", stdout, stderr)
				}
			}
			if tt.noCalls && (len(e.Slack.Calls("")) > 0 || len(e.Entra.Requests()) > 0 || len(e.MDE.Requests()) > 0) {
				t.Errorf("live checks ran after a static problem: slack %d, entra %d, defender %d requests",
					len(e.Slack.Calls("")), len(e.Entra.Requests()), len(e.MDE.Requests()))
			}
		})
	}
}
