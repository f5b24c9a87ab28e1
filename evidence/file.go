package evidence

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Other file names in a file store's folder.
const (
	tempPrefix = ".put-"
	lockName   = ".lock"
	// staleTemp: temp files older than this are left by a crash; removed at start.
	staleTemp = 24 * time.Hour
)

// FileOptions configure a file store.
type FileOptions struct {
	// Dir is the folder (created 0700 when missing).
	Dir string
	// PublicURL is http.public_url; empty makes Link return ErrNoPublicURL.
	PublicURL string
	// Tokens keeps link tokens (required for Link).
	Tokens LinkTokens
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// File keeps packages in a local (or shared, mounted) folder: <id>.package
// (0600) and <id>.custody.json beside it. Every file is written under a
// temporary name, fsynced, renamed into place, and the folder fsynced, so a
// crash leaves either the old state or the new one. Custody records are
// changed under a lock (in-process and flock on .lock), so concurrent
// appends, from this process or another on a shared folder, are all kept.
type File struct {
	dir       string
	publicURL string
	tokens    LinkTokens
	clock     func() time.Time
	mu        sync.Mutex
}

// NewFile opens (creating when missing) the folder and removes temp files a
// crash left behind.
func NewFile(o FileOptions) (*File, error) {
	if o.Dir == "" {
		return nil, errors.New("evidence: file store: no folder (evidence.dir)")
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("evidence: file store: %w", err)
	}
	s := &File{dir: o.Dir, publicURL: strings.TrimRight(o.PublicURL, "/"), tokens: o.Tokens, clock: o.Now}
	entries, err := os.ReadDir(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("evidence: file store: %w", err)
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && strings.HasPrefix(e.Name(), tempPrefix) && time.Since(info.ModTime()) > staleTemp {
			_ = os.Remove(filepath.Join(o.Dir, e.Name()))
		}
	}
	return s, nil
}

// Kind is KindFile.
func (s *File) Kind() string { return KindFile }

// Close does nothing: the store holds nothing open between calls.
func (s *File) Close() error { return nil }

func (s *File) packagePath(id string) string { return filepath.Join(s.dir, id+PackageSuffix) }
func (s *File) custodyPath(id string) string { return filepath.Join(s.dir, id+CustodySuffix) }

// Put streams body into a temp file, then, under the lock, renames it into
// place and writes the custody record, which makes it visible.
func (s *File) Put(ctx context.Context, id string, body io.Reader, c Custody) (Custody, error) {
	if err := ValidID(id); err != nil {
		return Custody{}, err
	}
	if _, err := os.Stat(s.custodyPath(id)); err == nil {
		return Custody{}, fmt.Errorf("%w (request %s)", ErrExists, id)
	}
	received := now(s.clock)
	tmp, err := os.CreateTemp(s.dir, tempPrefix+id+"-*")
	if err != nil {
		return Custody{}, fmt.Errorf("evidence: store %s: %w", id, err)
	}
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := NewHashingReader(ctx, body)
	if _, err := io.CopyBuffer(tmp, h, make([]byte, copyBuffer)); err != nil {
		return Custody{}, fmt.Errorf("evidence: store %s: after %d bytes: %w", id, h.n, err)
	}
	if err := tmp.Sync(); err != nil {
		return Custody{}, fmt.Errorf("evidence: store %s: %w", id, err)
	}
	if err := tmp.Close(); err != nil {
		return Custody{}, fmt.Errorf("evidence: store %s: %w", id, err)
	}
	unlock, err := s.lock()
	if err != nil {
		return Custody{}, err
	}
	defer unlock()
	// Checked again under the lock: another Put may have committed meanwhile.
	if _, err := os.Stat(s.custodyPath(id)); err == nil {
		return Custody{}, fmt.Errorf("%w (request %s)", ErrExists, id)
	}
	if err := os.Rename(tmp.Name(), s.packagePath(id)); err != nil {
		return Custody{}, fmt.Errorf("evidence: store %s: %w", id, err)
	}
	committed = true
	c = Seal(id, c, h.n, h.Sum(), received, now(s.clock))
	if err := s.writeCustody(c); err != nil {
		// The package stays invisible without its record; the next Put replaces it.
		return Custody{}, err
	}
	return c, nil
}

// Open opens the package file; its custody record must exist and not be purged.
func (s *File) Open(ctx context.Context, id string) (*Package, error) {
	c, err := s.Custody(ctx, id)
	if err != nil {
		return nil, err
	}
	if c.Purged() {
		return nil, &PurgedError{ID: id, At: c.PurgedAt}
	}
	f, err := os.Open(s.packagePath(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w (request %s)", ErrMissing, id)
	}
	if err != nil {
		return nil, fmt.Errorf("evidence: open %s: %w", id, err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("evidence: open %s: %w", id, err)
	}
	size := info.Size()
	return NewPackage(PackageParts{
		Custody: c, Size: size, At: f, Close: f.Close,
		Seq: func() (io.ReadCloser, error) { return io.NopCloser(io.NewSectionReader(f, 0, size)), nil },
	}), nil
}

// Custody reads the record; ErrNotFound when there is none.
func (s *File) Custody(_ context.Context, id string) (Custody, error) {
	if err := ValidID(id); err != nil {
		return Custody{}, err
	}
	b, err := os.ReadFile(s.custodyPath(id))
	if errors.Is(err, fs.ErrNotExist) {
		return Custody{}, fmt.Errorf("%w (request %s)", ErrNotFound, id)
	}
	if err != nil {
		return Custody{}, fmt.Errorf("evidence: custody record of %s: %w", id, err)
	}
	return DecodeCustody(id, b)
}

// Record appends a under the lock.
func (s *File) Record(ctx context.Context, id string, a Access) error {
	if err := CompleteAccess(&a, s.clock); err != nil {
		return err
	}
	return s.update(ctx, id, func(c *Custody) bool {
		c.Accesses = append(c.Accesses, a)
		return true
	})
}

// Purge marks the record purged, then deletes the package (again on a
// second call, in case a crash came between the two).
func (s *File) Purge(ctx context.Context, id string, at time.Time) error {
	if err := s.update(ctx, id, func(c *Custody) bool { return MarkPurged(c, at) }); err != nil {
		return err
	}
	if err := os.Remove(s.packagePath(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("evidence: purge %s: %w", id, err)
	}
	return syncDir(s.dir)
}

// List reads every custody record in the folder.
func (s *File) List(ctx context.Context) ([]Custody, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("evidence: list: %w", err)
	}
	var out []Custody
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), CustodySuffix)
		if !ok || ValidID(id) != nil {
			continue
		}
		c, err := s.Custody(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	SortCustody(out)
	return out, nil
}

// update changes the custody record under the lock; change returns false
// when there is nothing to write.
func (s *File) update(ctx context.Context, id string, change func(*Custody) bool) error {
	if err := ValidID(id); err != nil {
		return err
	}
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	c, err := s.Custody(ctx, id)
	if err != nil {
		return err
	}
	if !change(&c) {
		return nil
	}
	return s.writeCustody(c)
}

func (s *File) writeCustody(c Custody) error {
	b, err := EncodeCustody(c)
	if err != nil {
		return err
	}
	return writeFileAtomic(s.dir, s.custodyPath(c.RequestID), b)
}

// lock serialises custody changes: a mutex within this process, flock on
// the folder's .lock file across processes sharing it.
func (s *File) lock() (unlock func(), err error) {
	s.mu.Lock()
	release, err := lockFile(filepath.Join(s.dir, lockName))
	if err != nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("evidence: lock %s: %w", s.dir, err)
	}
	return func() {
		release()
		s.mu.Unlock()
	}, nil
}

// SortCustody orders records oldest first (then by id, for equal times), as
// List returns them.
func SortCustody(cs []Custody) {
	slices.SortFunc(cs, func(a, b Custody) int {
		if c := a.ReceivedAt.Compare(b.ReceivedAt); c != 0 {
			return c
		}
		return strings.Compare(a.RequestID, b.RequestID)
	})
}
