package evidence

import (
	"fmt"
	"os"
	"path/filepath"
)

// writeFileAtomic writes b to path through a temp file in dir: written,
// fsynced, renamed over path, then dir fsynced so the rename survives a crash.
func writeFileAtomic(dir, path string, b []byte) error {
	tmp, err := os.CreateTemp(dir, tempPrefix+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("evidence: write %s: %w", filepath.Base(path), err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("evidence: write %s: %w", filepath.Base(path), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("evidence: write %s: %w", filepath.Base(path), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("evidence: write %s: %w", filepath.Base(path), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("evidence: write %s: %w", filepath.Base(path), err)
	}
	return syncDir(dir)
}

// syncDir makes the folder's entries (renames, removals) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("evidence: sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("evidence: sync %s: %w", dir, err)
	}
	return nil
}
