package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mdebot/mdebot/evidence"
)

// evidenceConfig is a configuration whose Slack and Entra settings are still
// placeholders, with a file evidence store in dir holding packages (id,
// body, id, body...), stored in that order.
func evidenceConfig(t *testing.T, packages ...string) (cfg, dir string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "evidence")
	s, err := evidence.NewFile(evidence.FileOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(packages); i += 2 {
		if _, err := s.Put(context.Background(), packages[i], strings.NewReader(packages[i+1]), evidence.Custody{MachineName: "ws-7"}); err != nil {
			t.Fatal(err)
		}
	}
	return writeConfig(t, "evidence:\n  store: file\n  dir: \""+dir+"\"\n"), dir
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestEvidenceVerify(t *testing.T) {
	cfg, dir := evidenceConfig(t, "aa01", "first zip", "bb02", "second zip", "cc03", "third zip")
	code, stdout, stderr := runCLI("evidence", "verify", "--config", cfg)
	if code != 0 {
		t.Fatalf("verify of intact packages: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, id := range []string{"aa01", "bb02", "cc03"} {
		if !strings.Contains(stdout, "ok       "+id+"  ") {
			t.Errorf("stdout lacks an ok line for %s:\n%s", id, stdout)
		}
	}
	// One byte flipped in aa01, bb02 deleted behind the store's back.
	p := filepath.Join(dir, "aa01.package")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[3] ^= 0x20
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "bb02.package")); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runCLI("evidence", "verify", "--config", cfg)
	if code != 1 {
		t.Fatalf("verify after damage: exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "MISMATCH aa01  sha256 of the stored bytes is "+sha(b)) ||
		!strings.HasPrefix(lines[1], "MISSING  bb02") || !strings.HasPrefix(lines[2], "ok       cc03") {
		t.Errorf("verify lines:\n%s", stdout)
	}
	if want := "evidence verify: 2 of 3 packages failed: aa01 (mismatch), bb02 (missing)\n"; stderr != want {
		t.Errorf("stderr %q, want %q", stderr, want)
	}
}

func TestEvidenceExport(t *testing.T) {
	body := []byte("PK\x03\x04 an investigation package")
	cfg, _ := evidenceConfig(t, "ee05", string(body))
	for _, order := range [][]string{
		{"evidence", "export", "ee05", "--out", "OUT", "--config", cfg},
		{"evidence", "export", "--config", cfg, "--out", "OUT", "ee05"},
	} {
		out := filepath.Join(t.TempDir(), "case")
		args := append([]string(nil), order...)
		for i, a := range args {
			if a == "OUT" {
				args[i] = out
			}
		}
		code, stdout, stderr := runCLI(args...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, stdout, stderr)
		}
		pkg := filepath.Join(out, "investigation-package-ws-7-ee05.zip")
		got, err := os.ReadFile(pkg)
		if err != nil || sha(got) != sha(body) {
			t.Fatalf("exported package %s: sha %s (%v), want %s", pkg, sha(got), err, sha(body))
		}
		if !strings.Contains(stdout, fmt.Sprintf("%s  %d bytes  sha256 %s", pkg, len(body), sha(body))) {
			t.Errorf("stdout %q does not name the package and its hash", stdout)
		}
		raw, err := os.ReadFile(filepath.Join(out, "ee05.custody.json"))
		if err != nil {
			t.Fatal(err)
		}
		var rec evidence.Custody
		if err := json.Unmarshal(raw, &rec); err != nil {
			t.Fatal(err)
		}
		last := rec.Accesses[len(rec.Accesses)-1]
		if rec.SHA256 != sha(body) || rec.RequestID != "ee05" || last.Kind != evidence.AccessExported || !strings.HasPrefix(last.Actor, "cli") {
			t.Errorf("exported custody record: %s", raw)
		}
	}
}

func TestEvidenceCommandErrors(t *testing.T) {
	cfg, _ := evidenceConfig(t, "ff06", "zip")
	none := writeConfig(t, "evidence:\n  store: none\n")
	badAzure := writeConfig(t, "evidence:\n  store: azure_blob\n  azure:\n    container: evidence\n")
	out := t.TempDir()
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no subcommand", []string{"evidence"}, 2, "usage: mdebot evidence verify [--config FILE]"},
		{"unknown subcommand", []string{"evidence", "list"}, 2, `mdebot evidence: unknown command "list"`},
		{"export without id", []string{"evidence", "export", "--out", out, "--config", cfg}, 2, "REQUEST-ID is required"},
		{"export of a path", []string{"evidence", "export", "../ff06", "--out", out, "--config", cfg}, 2, `"../ff06" is not a request id`},
		{"export without --out", []string{"evidence", "export", "ff06", "--config", cfg}, 2, "--out DIR is required"},
		{"export, two ids", []string{"evidence", "export", "ff06", "aa01", "--out", out, "--config", cfg}, 2, `unexpected argument "aa01"`},
		{"export of an unknown id", []string{"evidence", "export", "ab99", "--out", out, "--config", cfg}, 1, "no package is stored for this request (request ab99)"},
		{"verify with stray argument", []string{"evidence", "verify", "x"}, 2, `unexpected argument "x"`},
		{"verify of store none", []string{"evidence", "verify", "--config", none}, 0, "evidence.store is none: no packages are kept"},
		{"azure_blob without account_url", []string{"evidence", "verify", "--config", badAzure}, 1, "evidence.azure.account_url: required for azure_blob"},
		{"export -h", []string{"evidence", "export", "-h"}, 0, "usage: mdebot evidence export REQUEST-ID --out DIR [--config FILE]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, tt.code, tt.stderr)
			}
		})
	}
}
