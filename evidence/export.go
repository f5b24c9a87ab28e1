package evidence

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Exported names the files Export wrote.
type Exported struct {
	Package string // DIR/<DownloadName>
	Custody string // DIR/<request id>.custody.json
	Size    int64
	SHA256  string
}

// Export copies request id's package and its custody record into dir (made
// 0700 when missing) for a case file. It never overwrites a file, checks
// the copy's SHA-256 against the custody record (removing the copy when it
// differs), and records an exported access by actor before writing the
// record, so the exported record names its own export.
func Export(ctx context.Context, s Store, id, dir, actor string) (Exported, error) {
	p, err := s.Open(ctx, id)
	if err != nil {
		return Exported{}, err
	}
	defer p.Close()
	c := p.Custody()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Exported{}, fmt.Errorf("evidence: export %s: %w", id, err)
	}
	out := Exported{Package: filepath.Join(dir, DownloadName(c)), Custody: filepath.Join(dir, id+CustodySuffix)}
	for _, path := range []string{out.Package, out.Custody} {
		if _, err := os.Lstat(path); err == nil {
			return Exported{}, fmt.Errorf("evidence: export %s: %s already exists", id, path)
		}
	}
	if out.SHA256, out.Size, err = copyOut(ctx, p, out.Package); err != nil {
		return Exported{}, fmt.Errorf("evidence: export %s: %w", id, err)
	}
	if out.SHA256 != c.SHA256 || out.Size != c.Size {
		os.Remove(out.Package)
		return Exported{}, fmt.Errorf("evidence: export %s: the stored package (%d bytes, sha256 %s) does not match its custody record (%d bytes, sha256 %s); nothing exported",
			id, out.Size, out.SHA256, c.Size, c.SHA256)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	if err := s.Record(ctx, id, Access{Kind: AccessExported, Actor: actor, Detail: "to " + abs}); err != nil {
		os.Remove(out.Package)
		return Exported{}, err
	}
	if c, err = s.Custody(ctx, id); err == nil {
		var b []byte
		if b, err = EncodeCustody(c); err == nil {
			err = writeNew(out.Custody, b)
		}
	}
	if err != nil {
		os.Remove(out.Package)
		return Exported{}, fmt.Errorf("evidence: export %s: %w", id, err)
	}
	return out, nil
}

// copyOut streams p into a new file at path (0600, never overwriting),
// hashing it on the way, and fsyncs it.
func copyOut(ctx context.Context, p *Package, path string) (sum string, n int64, err error) {
	r, err := p.Reader()
	if err != nil {
		return "", 0, err
	}
	defer r.Close()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", 0, err
	}
	h := NewHashingReader(ctx, r)
	_, err = io.CopyBuffer(f, h, make([]byte, copyBuffer))
	err = errors.Join(err, f.Sync(), f.Close())
	if err != nil {
		os.Remove(path)
		return "", h.n, err
	}
	return h.Sum(), h.n, nil
}

// writeNew writes b to a new file (0600, never overwriting), fsynced.
func writeNew(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err = errors.Join(err, f.Sync(), f.Close()); err != nil {
		os.Remove(path)
	}
	return err
}
