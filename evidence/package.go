package evidence

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
)

// Package is an open stored package: random access for reading a zip in
// place (archive/zip.NewReader(p, p.Size())) and a sequential reader for
// copying it out. Safe for concurrent use; Close when done.
type Package struct {
	// The fields are PackageParts' (unexported: a Package does not change).
	custody    Custody
	size       int64
	at         io.ReaderAt
	seq        func() (io.ReadCloser, error)
	close      func() error
	metaSHA256 string
}

// PackageParts are what a store hands NewPackage for one opened package.
type PackageParts struct {
	Custody Custody
	Size    int64
	// At reads the package at any offset; safe for concurrent use.
	At io.ReaderAt
	// Seq opens a reader from the first byte (a blob's one streamed download
	// rather than many ranged reads).
	Seq func() (io.ReadCloser, error)
	// Close releases what the package holds; nil when nothing.
	Close func() error
	// MetaSHA256 is a second copy of the hash kept by the store (azure_blob's
	// blob metadata), checked by Verify; empty when the store keeps none.
	MetaSHA256 string
}

// NewPackage is the Package a store's Open returns.
func NewPackage(p PackageParts) *Package {
	return &Package{custody: p.Custody, size: p.Size, at: p.At, seq: p.Seq, close: p.Close, metaSHA256: p.MetaSHA256}
}

// Custody is the record as it was when the package was opened.
func (p *Package) Custody() Custody { return p.custody }

// Size is the package's length in bytes.
func (p *Package) Size() int64 { return p.size }

// ReadAt implements io.ReaderAt.
func (p *Package) ReadAt(b []byte, off int64) (int, error) { return p.at.ReadAt(b, off) }

// Reader reads the package from its first byte; close it when done.
func (p *Package) Reader() (io.ReadCloser, error) { return p.seq() }

// Close releases the package.
func (p *Package) Close() error {
	if p.close == nil {
		return nil
	}
	return p.close()
}

// HashingReader counts and hashes what passes through it, and stops with
// ctx's error once ctx ends (a stalled body does not outlive its request):
// every store's Put reads its body through one.
type HashingReader struct {
	ctx context.Context
	r   io.Reader
	h   hash.Hash
	n   int64
}

// NewHashingReader reads r, hashing it, until ctx ends.
func NewHashingReader(ctx context.Context, r io.Reader) *HashingReader {
	return &HashingReader{ctx: ctx, r: r, h: sha256.New()}
}

func (h *HashingReader) Read(b []byte) (int, error) {
	if err := h.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := h.r.Read(b)
	h.h.Write(b[:n])
	h.n += int64(n)
	return n, err
}

// Size is the number of bytes read so far.
func (h *HashingReader) Size() int64 { return h.n }

// Sum is the hex SHA-256 of everything read so far.
func (h *HashingReader) Sum() string { return hex.EncodeToString(h.h.Sum(nil)) }

// hashAll reads r to its end and returns its SHA-256 and length.
func hashAll(ctx context.Context, r io.Reader) (sum string, n int64, err error) {
	h := NewHashingReader(ctx, r)
	if _, err := io.CopyBuffer(io.Discard, h, make([]byte, copyBuffer)); err != nil {
		return "", h.n, err
	}
	return h.Sum(), h.n, nil
}

// copyBuffer is the chunk every streamed copy uses: large enough for disk
// and network throughput, small enough that memory does not grow with size.
const copyBuffer = 256 << 10
