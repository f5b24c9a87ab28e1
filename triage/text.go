package triage

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// maxLine is the longest line read from a text file.
const maxLine = 1 << 20

// sniffLen is how much of a file decides its encoding (as git: 8000 bytes).
const sniffLen = 8000

var errLineTooLong = errors.New("line too long")

// binaryExts are the package's binary files, never read as text.
var binaryExts = map[string]bool{
	".evtx": true, ".pf": true, ".cab": true, ".etl": true, ".dmp": true, ".exe": true,
	".dll": true, ".sys": true, ".zip": true, ".gz": true, ".7z": true, ".db": true,
	".dat": true, ".hve": true, ".bin": true, ".png": true, ".jpg": true,
}

// textEncoding is how a file's bytes become text.
type textEncoding int

const (
	encBinary  textEncoding = iota
	encUTF8                 // UTF-8, a byte that is not UTF-8 read as Windows-1252
	encUTF16LE              // with a BOM, or without one when ASCII shows as x\0y\0
	encUTF16BE              // with a BOM
)

// sniff decides the encoding from a file's first bytes and says how many
// bytes of byte order mark to skip. Windows tools write UTF-16LE with a
// BOM; a NUL anywhere else means the file is not text.
func sniff(b []byte) (textEncoding, int) {
	switch {
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		return encUTF8, 3
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}):
		return encUTF16LE, 2
	case bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		return encUTF16BE, 2
	case bytes.IndexByte(b, 0) < 0:
		return encUTF8, 0
	}
	// UTF-16LE without a BOM: the high byte of each unit (odd offsets) is
	// almost always zero for the ASCII that Windows tools print, the low one
	// never.
	var oddZero, evenZero int
	for i, c := range b {
		if c == 0 {
			if i%2 == 1 {
				oddZero++
			} else {
				evenZero++
			}
		}
	}
	if len(b) >= 4 && evenZero == 0 && oddZero*10 >= len(b)/2*9 {
		return encUTF16LE, 0
	}
	return encBinary, 0
}

// decodeText returns r's text as UTF-8, or ok false when it is not text.
func decodeText(r io.Reader) (text io.Reader, ok bool, err error) {
	br := bufio.NewReaderSize(r, sniffLen)
	head, err := br.Peek(sniffLen)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, false, err
	}
	enc, bom := sniff(head)
	if _, err := br.Discard(bom); err != nil {
		return nil, false, err
	}
	switch enc {
	case encUTF8:
		return transform.NewReader(br, utf8Or1252{}), true, nil
	case encUTF16LE:
		return transform.NewReader(br, unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM).NewDecoder()), true, nil
	case encUTF16BE:
		return transform.NewReader(br, unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM).NewDecoder()), true, nil
	}
	return nil, false, nil
}

// utf8Or1252 passes UTF-8 through and reads any byte that is not part of
// a valid UTF-8 sequence as Windows-1252, so a file in either (or a mix,
// as concatenated tool output can be) reads right, streaming.
type utf8Or1252 struct{ transform.NopResetter }

func (utf8Or1252) Transform(dst, src []byte, atEOF bool) (nDst, nSrc int, err error) {
	for nSrc < len(src) {
		c := src[nSrc]
		if c < utf8.RuneSelf { // copy the run of ASCII at once
			end := nSrc + 1
			for end < len(src) && src[end] < utf8.RuneSelf && end-nSrc < len(dst)-nDst {
				end++
			}
			if nDst >= len(dst) {
				return nDst, nSrc, transform.ErrShortDst
			}
			nDst += copy(dst[nDst:], src[nSrc:end])
			nSrc = end
			continue
		}
		r, size := utf8.DecodeRune(src[nSrc:])
		if r == utf8.RuneError && size == 1 {
			if !atEOF && !utf8.FullRune(src[nSrc:]) {
				return nDst, nSrc, transform.ErrShortSrc
			}
			r = charmap.Windows1252.DecodeByte(c)
		}
		if nDst+utf8.RuneLen(r) > len(dst) {
			return nDst, nSrc, transform.ErrShortDst
		}
		nDst += utf8.EncodeRune(dst[nDst:], r)
		nSrc += size
	}
	return nDst, nSrc, nil
}

// lineReader reads decoded lines, without their line ending.
type lineReader struct {
	sc *bufio.Scanner
	n  int // number of the last line read, from 1
}

func newLineReader(text io.Reader) *lineReader {
	sc := bufio.NewScanner(text)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	return &lineReader{sc: sc}
}

// next returns the next line, or ok false at the end (err then says
// whether reading stopped early).
func (l *lineReader) next() (line string, ok bool) {
	if !l.sc.Scan() {
		return "", false
	}
	l.n++
	return l.sc.Text(), true
}

// nextBytes is next without a copy: valid until the following call.
func (l *lineReader) nextBytes() ([]byte, bool) {
	if !l.sc.Scan() {
		return nil, false
	}
	l.n++
	return l.sc.Bytes(), true
}

func (l *lineReader) err() error {
	if errors.Is(l.sc.Err(), bufio.ErrTooLong) {
		return errLineTooLong
	}
	return l.sc.Err()
}

// readLines reads e as text and calls fn for each line. notText is true
// when e is not text (nothing is called); err is a read failure.
func (a *archive) readLines(e entry, fn func(line string)) (notText bool, err error) {
	rc, err := a.open(e)
	if err != nil {
		return false, err
	}
	defer rc.Close()
	text, ok, err := decodeText(rc)
	if err != nil || !ok {
		return !ok && err == nil, err
	}
	lr := newLineReader(text)
	for {
		line, ok := lr.next()
		if !ok {
			return false, lr.err()
		}
		fn(line)
	}
}
