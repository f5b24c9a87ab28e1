package triage

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
)

// archive/zip's NewReader keeps one File per central directory header and
// trusts neither the declared count nor the directory's declared size: it
// reads headers until one is malformed. A hostile package of 1 GiB could so
// cost gigabytes before any limit is checked. checkDirectory finds the
// directory the way archive/zip does and walks its headers without keeping
// them, so too many entries are refused first, and tells how many bytes
// NewReader may then read (see budgetReaderAt).

const (
	eocdSig     = 0x06054b50
	eocdLen     = 22
	loc64Sig    = 0x07064b50
	loc64Len    = 20
	eocd64Sig   = 0x06064b50
	eocd64Len   = 56
	cdHeaderSig = 0x02014b50
	cdHeaderLen = 46
	eocdSearch  = 65 * 1024 // as archive/zip: the record and a comment of up to 64 KiB
)

var errNotZip = errors.New("no zip end of central directory record")

// directory is what checkDirectory learnt.
type directory struct {
	declared uint64 // entry count in the end record
	entries  int    // headers actually present (walked)
	bytes    int64  // size of those headers
}

// checkDirectory walks the central directory of r, refusing more than
// maxEntries entries, declared or present.
func checkDirectory(r io.ReaderAt, size int64, maxEntries int) (directory, error) {
	start, declared, err := findDirectory(r, size)
	if err != nil {
		return directory{}, err
	}
	if declared > uint64(maxEntries) {
		return directory{}, refuse("it declares %d entries, more than the limit of %d", declared, maxEntries)
	}
	d := directory{declared: declared}
	br := bufio.NewReaderSize(io.NewSectionReader(r, start, size-start), 64<<10)
	var h [cdHeaderLen]byte
	for {
		if _, err := io.ReadFull(br, h[:]); err != nil {
			return d, ioOnly(err)
		}
		if binary.LittleEndian.Uint32(h[:]) != cdHeaderSig {
			return d, nil
		}
		rest := int(binary.LittleEndian.Uint16(h[28:])) + int(binary.LittleEndian.Uint16(h[30:])) + int(binary.LittleEndian.Uint16(h[32:]))
		if n, err := br.Discard(rest); n < rest {
			return d, ioOnly(err)
		}
		d.entries++
		d.bytes += int64(cdHeaderLen + rest)
		if d.entries > maxEntries {
			return d, refuse("it holds more than %d entries, the limit", maxEntries)
		}
	}
}

// ioOnly drops the end-of-data errors that end a walk, as they end
// archive/zip's; a real read error stays.
func ioOnly(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil
	}
	return err
}

// findDirectory returns where the central directory starts and its
// declared entry count, as archive/zip's readDirectoryEnd computes them.
func findDirectory(r io.ReaderAt, size int64) (start int64, records uint64, err error) {
	n := min(int64(eocdSearch), size)
	if n < eocdLen {
		return 0, 0, errNotZip
	}
	buf := make([]byte, n)
	if _, err := r.ReadAt(buf, size-n); err != nil && err != io.EOF {
		return 0, 0, err
	}
	p := lastEndRecord(buf)
	if p < 0 {
		return 0, 0, errNotZip
	}
	endAt := size - n + int64(p)
	b := buf[p:]
	records = uint64(binary.LittleEndian.Uint16(b[10:]))
	dirSize := uint64(binary.LittleEndian.Uint32(b[12:]))
	dirOffset := uint64(binary.LittleEndian.Uint32(b[16:]))
	// archive/zip's own test (0xffff for the size, not 0xffffffff).
	if records == 0xffff || dirSize == 0xffff || dirOffset == 0xffffffff {
		if at, ok, err := zip64End(r, endAt); err != nil {
			return 0, 0, err
		} else if ok {
			var e [eocd64Len]byte
			if _, err := r.ReadAt(e[:], at); err != nil {
				return 0, 0, notZipIfEOF(err)
			}
			if binary.LittleEndian.Uint32(e[:]) != eocd64Sig {
				return 0, 0, errNotZip
			}
			records = binary.LittleEndian.Uint64(e[32:])
			dirSize = binary.LittleEndian.Uint64(e[40:])
			dirOffset = binary.LittleEndian.Uint64(e[48:])
			endAt = at
		}
	}
	if dirSize > 1<<62 || dirOffset > 1<<62 {
		return 0, 0, errNotZip
	}
	base := endAt - int64(dirSize) - int64(dirOffset)
	if o := base + int64(dirOffset); o < 0 || o >= size {
		return 0, 0, errNotZip
	}
	// archive/zip prefers offset 0 when a header is found there.
	if base > 0 && headerAt(r, int64(dirOffset), size) {
		base = 0
	}
	return base + int64(dirOffset), records, nil
}

// lastEndRecord is archive/zip's findSignatureInBlock: the last end record
// in b, or -1 (also when its comment runs past the end).
func lastEndRecord(b []byte) int {
	for i := len(b) - eocdLen; i >= 0; i-- {
		if binary.LittleEndian.Uint32(b[i:]) == eocdSig {
			if n := int(binary.LittleEndian.Uint16(b[i+eocdLen-2:])); n+eocdLen+i > len(b) {
				return -1
			}
			return i
		}
	}
	return -1
}

// zip64End reads the zip64 locator just before the end record.
func zip64End(r io.ReaderAt, endAt int64) (int64, bool, error) {
	at := endAt - loc64Len
	if at < 0 {
		return 0, false, nil
	}
	var l [loc64Len]byte
	if _, err := r.ReadAt(l[:], at); err != nil {
		return 0, false, notZipIfEOF(err)
	}
	if binary.LittleEndian.Uint32(l[:]) != loc64Sig || binary.LittleEndian.Uint32(l[4:]) != 0 || binary.LittleEndian.Uint32(l[16:]) != 1 {
		return 0, false, nil
	}
	return int64(binary.LittleEndian.Uint64(l[8:])), true, nil
}

// headerAt reports whether a whole central directory header starts at off.
func headerAt(r io.ReaderAt, off, size int64) bool {
	if off < 0 || off >= size {
		return false
	}
	var h [cdHeaderLen]byte
	if _, err := r.ReadAt(h[:], off); err != nil || binary.LittleEndian.Uint32(h[:]) != cdHeaderSig {
		return false
	}
	rest := int64(binary.LittleEndian.Uint16(h[28:])) + int64(binary.LittleEndian.Uint16(h[30:])) + int64(binary.LittleEndian.Uint16(h[32:]))
	return off+cdHeaderLen+rest <= size
}

func notZipIfEOF(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errNotZip
	}
	return err
}

// budgetReaderAt fails once more than left bytes were read: archive/zip
// may read the directory that checkDirectory walked, and no more.
// The Files that NewReader returns read through it too: lift the budget
// once NewReader is done.
type budgetReaderAt struct {
	r      io.ReaderAt
	left   int64
	lifted bool
}

var errOverBudget = errors.New("the central directory is larger than its headers show")

func (b *budgetReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if b.lifted {
		return b.r.ReadAt(p, off)
	}
	if int64(len(p)) > b.left {
		return 0, errOverBudget
	}
	n, err := b.r.ReadAt(p, off)
	b.left -= int64(n)
	return n, err
}
