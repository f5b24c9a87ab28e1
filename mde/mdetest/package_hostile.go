package mdetest

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/hex"
	"fmt"
	"io"
	mrand "math/rand/v2"
)

// Sizes of the hostile packages.
const (
	// BombSize is what the bomb's entry declares and inflates to.
	BombSize = 8 << 30
	// BombEntry is the bomb's one entry: a file the triage reads.
	BombEntry = "Network connections/ActiveNetConnections.txt"
	// ManyEntries is the many-entries package's number of entries.
	ManyEntries = 20000
	// bombCRC is the CRC-32 of BombSize spaces, computed once (1.6 s) and
	// checked by TestBombCRC.
	bombCRC = 0xef331695
)

const bombChunk = 1 << 20

// writeBomb writes a zip whose one entry inflates to BombSize bytes of
// spaces. The deflate stream is built without compressing 8 GiB: a 1 MiB
// run of spaces compressed after another one, with a sync flush on each
// side, is a whole number of blocks that inflates to 1 MiB of spaces
// given a window of spaces; repeated, it makes any multiple of 1 MiB.
// The CRC is the true one (bombCRC).
func writeBomb(w io.Writer) error { return writeBombOf(w, BombSize/bombChunk, bombCRC) }

// writeBombOf writes a bomb of chunks MiB whose spaces have the CRC crc.
func writeBombOf(w io.Writer, chunks int, crc uint32) error {
	var buf bytes.Buffer
	fw, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		return err
	}
	spaces := bytes.Repeat([]byte{' '}, bombChunk)
	first := 0
	for i := range 2 {
		if _, err := fw.Write(spaces); err != nil {
			return err
		}
		if err := fw.Flush(); err != nil {
			return err
		}
		if i == 0 {
			first = buf.Len()
		}
	}
	head, chunk := buf.Bytes()[:first], buf.Bytes()[first:]
	final := []byte{0x03, 0x00} // an empty final block (fixed Huffman)
	n := chunks
	zw := zip.NewWriter(w)
	raw, err := zw.CreateRaw(&zip.FileHeader{
		Name: BombEntry, Method: zip.Deflate, Modified: packageTime, CRC32: crc,
		CompressedSize64:   uint64(len(head) + (n-1)*len(chunk) + len(final)),
		UncompressedSize64: uint64(n) * bombChunk,
	})
	if err != nil {
		return err
	}
	if _, err := raw.Write(head); err != nil {
		return err
	}
	for range n - 1 {
		if _, err := raw.Write(chunk); err != nil {
			return err
		}
	}
	if _, err := raw.Write(final); err != nil {
		return err
	}
	return zw.Close()
}

// writeManyEntries writes ManyEntries tiny files.
func writeManyEntries(w io.Writer) error {
	zw := zip.NewWriter(w)
	for i := range ManyEntries {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("Temp Directories/f%05d.txt", i), Method: zip.Store, Modified: packageTime})
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(fw, "%d\r\n", i); err != nil {
			return err
		}
	}
	return zw.Close()
}

// Hostile names: each package also has an ordinary file first, so a
// reader cannot stop at the first entry.
var (
	dotDotNames   = []string{"Autoruns/Run.txt", "../../../../etc/cron.d/mdebot", "Autoruns/../../outside.txt"}
	absoluteNames = []string{"Autoruns/Run.txt", "/etc/passwd", `C:\Windows\System32\drivers\etc\hosts`}
)

func writeNamed(w io.Writer, names []string) error {
	zw := zip.NewWriter(w)
	for _, name := range names {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: packageTime})
		if err != nil {
			return err
		}
		if _, err := io.WriteString(fw, "written where it should not be\r\n"); err != nil {
			return err
		}
	}
	return zw.Close()
}

// writeNotZip writes what a proxy answers instead of the package.
func writeNotZip(w io.Writer) error {
	_, err := io.WriteString(w, "<!DOCTYPE html>\r\n<html><head><title>Access Denied</title></head>\r\n"+
		"<body><h1>Access Denied</h1><p>The requested URL was blocked by the web proxy.</p></body></html>\r\n")
	return err
}

// writeTextHeavy writes the realistic package plus text logs until about
// size bytes are written.
func writeTextHeavy(w io.Writer, size int64) error {
	cw := &countWriter{}
	return writeRealistic(io.MultiWriter(w, cw), func(io.Writer) error { return nil }, func(zw *zip.Writer) error {
		rng := mrand.NewChaCha8([32]byte{'l', 'o', 'g', 's'})
		for i := 0; cw.n < size; i++ {
			fw, err := zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("WdSupportLogs/MPLog-%04d.log", i), Method: zip.Deflate, Modified: packageTime})
			if err != nil {
				return err
			}
			if err := writeLog(fw, rng, 32<<20, func() bool { return cw.n >= size }); err != nil {
				return err
			}
		}
		return nil
	})
}

// writeLog writes up to n bytes of log lines, each naming a file by random
// hex (the text deflates about 5:1), stopping early when done.
func writeLog(w io.Writer, rng *mrand.ChaCha8, n int, done func() bool) error {
	var raw [24]byte
	line := make([]byte, 0, 160)
	for written := 0; written < n; {
		_, _ = rng.Read(raw[:])
		line = append(line[:0], "2026-01-02T03:04:05.678Z MpCmdRun[4242]: scanned C:\\Users\\alice\\AppData\\Local\\Temp\\"...)
		line = hex.AppendEncode(line, raw[:8])
		line = append(line, ".tmp sha1="...)
		line = hex.AppendEncode(line, raw[8:])
		line = append(line, " result=clean\r\n"...)
		k, err := w.Write(line)
		if err != nil {
			return err
		}
		written += k
		if written%(1<<20) < len(line) && done() {
			return nil
		}
	}
	return nil
}
