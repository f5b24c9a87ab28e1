package azureblob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
)

// readAhead is the window a small ReadAt fetches: reading a zip in place
// makes many small reads (4 KiB through bufio and flate), and one ranged
// download per window instead of per read keeps the round trips few.
const readAhead = 512 << 10

// blobReaderAt is io.ReaderAt over ranged downloads of one blob version,
// with a one-window read-ahead cache.
type blobReaderAt struct {
	ctx  context.Context
	blob *blob.Client
	etag azcore.ETag
	size int64

	mu     sync.Mutex
	winOff int64
	win    []byte
}

func (r *blobReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("evidence: negative offset")
	}
	if off >= r.size {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), r.size-off))
	r.mu.Lock()
	defer r.mu.Unlock()
	if off < r.winOff || off+int64(n) > r.winOff+int64(len(r.win)) {
		if n >= readAhead/2 {
			// A large read goes straight into p.
			if err := r.fetch(p[:n], off); err != nil {
				return 0, err
			}
			return done(n, len(p))
		}
		size := int(min(int64(readAhead), r.size-off))
		if cap(r.win) < size {
			r.win = make([]byte, readAhead)
		}
		r.win = r.win[:size]
		if err := r.fetch(r.win, off); err != nil {
			r.win = r.win[:0]
			return 0, err
		}
		r.winOff = off
	}
	copy(p[:n], r.win[off-r.winOff:])
	return done(n, len(p))
}

// done is ReadAt's result: io.EOF when the blob ended before p was full.
func done(n, want int) (int, error) {
	if n < want {
		return n, io.EOF
	}
	return n, nil
}

// fetch fills b from the blob at off, in one ranged download.
func (r *blobReaderAt) fetch(b []byte, off int64) error {
	resp, err := r.blob.DownloadStream(r.ctx, &blob.DownloadStreamOptions{
		Range: blob.HTTPRange{Offset: off, Count: int64(len(b))}, AccessConditions: ifMatch(&r.etag)})
	if err != nil {
		return fmt.Errorf("evidence: read %d bytes at %d: %w", len(b), off, err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadFull(resp.Body, b); err != nil {
		return fmt.Errorf("evidence: read %d bytes at %d: %w", len(b), off, err)
	}
	return nil
}
