package evidence_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mdebot/mdebot/evidence"
)

// The folder is created 0700 and every file 0600; temp files a crash left
// more than a day ago are removed when the store opens, fresher ones (maybe
// another replica's Put in progress) are kept.
func TestFileLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "evidence")
	s, err := evidence.NewFile(evidence.FileOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(dir); err != nil || info.Mode().Perm() != 0o700 {
		t.Fatalf("folder mode %v (%v), want 0700", info.Mode().Perm(), err)
	}
	if _, err := s.Put(context.Background(), "ab12", strings.NewReader("zip"), evidence.Custody{}); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		if info, err := e.Info(); err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v (%v), want 0600", e.Name(), info.Mode().Perm(), err)
		}
	}
	if strings.Join(names, " ") != ".lock ab12.custody.json ab12.package" {
		t.Errorf("folder holds %v", names)
	}
	old, fresh := filepath.Join(dir, ".put-ab34-1"), filepath.Join(dir, ".put-ab56-2")
	for _, p := range []string{old, fresh} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chtimes(old, time.Now().Add(-25*time.Hour), time.Now().Add(-25*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := evidence.NewFile(evidence.FileOptions{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("a day-old temp file is still there (%v)", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("a fresh temp file was removed: %v", err)
	}
}
