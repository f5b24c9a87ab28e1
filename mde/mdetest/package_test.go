package mdetest

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"hash/crc32"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/mdebot/mdebot/mde"
)

// writeKind writes a package of the kind into a temp file.
func writeKind(t *testing.T, kind PackageKind, size int64) (*os.File, int64) {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "pkg-*.zip")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if err := WritePackage(f, kind, size); err != nil {
		t.Fatal(err)
	}
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return f, st.Size()
}

// TestRealisticPackage checks the realistic package against its facts with
// archive/zip alone: folders and file counts, every CRC, the encodings.
func TestRealisticPackage(t *testing.T) {
	f, size := writeKind(t, PackageRealistic, 256<<10)
	if size != 256<<10 {
		t.Fatalf("size %d, want exactly %d", size, 256<<10)
	}
	zr, err := zip.NewReader(f, size)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]int{}
	content := map[string][]byte{}
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc) // checks each CRC
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", zf.Name, err)
		}
		if strings.HasSuffix(zf.Name, "/") {
			continue
		}
		top, _, nested := strings.Cut(zf.Name, "/")
		if !nested {
			top = ""
		}
		files[top]++
		content[zf.Name] = data
	}
	facts := RealisticFacts()
	if len(files) != len(facts.Folders) {
		t.Errorf("folders %v, facts say %v", files, facts.Folders)
	}
	for dir, n := range facts.Folders {
		if files[dir] != n {
			t.Errorf("folder %q: %d files, facts say %d", dir, files[dir], n)
		}
	}
	for _, tt := range []struct {
		name   string
		prefix []byte
	}{
		{"Network connections/ActiveNetConnections.txt", []byte{0xFF, 0xFE, '\r', 0, '\n', 0, 'I', 0}},
		{"Processes/Processes.csv", []byte("\xEF\xBB\xBF#TYPE")},
		{"Security event log/Security.evtx", []byte("ElfFile\x00")},
	} {
		if !bytes.HasPrefix(content[tt.name], tt.prefix) {
			t.Errorf("%s starts %q, want %q", tt.name, content[tt.name][:min(len(content[tt.name]), 8)], tt.prefix)
		}
	}
	// Windows-1252, not UTF-8: ë is one byte.
	if tasks := content["Scheduled tasks/ScheduledTasks.csv"]; !bytes.Contains(tasks, []byte("Zo\xeb Brandt")) {
		t.Error("the schtasks CSV is not in Windows-1252")
	}
	for _, name := range facts.ErrorOnlyFiles {
		if !bytes.Contains(content[name], []byte("ERROR:")) && !bytes.Contains(content[name], []byte("cannot find the path")) {
			t.Errorf("%s holds %q, not an error text", name, content[name])
		}
	}
}

// TestHostileKinds checks what each hostile package is, with archive/zip.
func TestHostileKinds(t *testing.T) {
	for _, kind := range HostileKinds() {
		t.Run(string(kind), func(t *testing.T) {
			f, size := writeKind(t, kind, 0)
			zr, err := zip.NewReader(f, size)
			if kind == PackageNotZip {
				if err == nil {
					t.Fatal("the not-zip package reads as a zip")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			switch kind {
			case PackageBomb:
				if len(zr.File) != 1 || zr.File[0].Name != BombEntry || zr.File[0].UncompressedSize64 != BombSize {
					t.Fatalf("bomb entries %+v", zr.File[0].FileHeader)
				}
				if ratio := zr.File[0].UncompressedSize64 / zr.File[0].CompressedSize64; ratio < 1000 || size > 9<<20 {
					t.Fatalf("bomb ratio %d:1 in %d bytes, want at least 1000:1 in about 8 MiB", ratio, size)
				}
				rc, err := zr.File[0].Open()
				if err != nil {
					t.Fatal(err)
				}
				head, err := io.ReadAll(io.LimitReader(rc, 3<<20))
				rc.Close()
				if err != nil || len(head) != 3<<20 || strings.Trim(string(head), " ") != "" {
					t.Fatalf("bomb's first 3 MiB: %d bytes, err %v, not all spaces", len(head), err)
				}
			case PackageManyEntries:
				if len(zr.File) != ManyEntries {
					t.Fatalf("%d entries, want %d", len(zr.File), ManyEntries)
				}
			case PackageDotDotNames, PackageAbsoluteNames:
				want := dotDotNames
				if kind == PackageAbsoluteNames {
					want = absoluteNames
				}
				if len(zr.File) != len(want) {
					t.Fatalf("%d entries, want %d", len(zr.File), len(want))
				}
				for i, zf := range zr.File {
					if zf.Name != want[i] {
						t.Errorf("entry %d is %q, want %q", i, zf.Name, want[i])
					}
				}
			}
		})
	}
}

// TestBombStream inflates a bomb of a few chunks to its end (size and CRC
// checked by archive/zip) and checks bombCRC, the CRC of the real one.
func TestBombStream(t *testing.T) {
	var buf bytes.Buffer
	const chunks = 5
	spaces := bytes.Repeat([]byte{' '}, bombChunk)
	var crc uint32
	for range chunks {
		crc = crc32.Update(crc, crc32.IEEETable, spaces)
	}
	if err := writeBombOf(&buf, chunks, crc); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := zr.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, rc)
	if err != nil || n != chunks*bombChunk {
		t.Fatalf("inflated %d bytes, err %v; want %d", n, err, chunks*bombChunk)
	}
	if testing.Short() {
		t.Skip("-short: not computing the CRC of 8 GiB (1-2 s)")
	}
	crc = 0
	for range BombSize / bombChunk {
		crc = crc32.Update(crc, crc32.IEEETable, spaces)
	}
	if crc != bombCRC {
		t.Fatalf("CRC of %d spaces is %#x, bombCRC is %#x", BombSize, crc, bombCRC)
	}
}

// TestSetPackage serves a kind per action through real links.
func TestSetPackage(t *testing.T) {
	s := New(Options{PackageSize: 100 << 10})
	defer s.Close()
	plain := s.AddAction(mde.MachineAction{Status: mde.StatusSucceeded})
	hostile := s.AddAction(mde.MachineAction{Status: mde.StatusSucceeded})
	if err := s.SetPackage(hostile, PackageNotZip); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPackage(hostile, "no-such-kind"); err == nil {
		t.Error("an unknown kind was accepted")
	}
	var want bytes.Buffer
	if err := WritePackage(&want, PackageNotZip, 0); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		id   string
		want func([]byte) bool
	}{
		{plain, func(b []byte) bool { return int64(len(b)) == 100<<10 && bytes.HasPrefix(b, []byte("PK")) }},
		{hostile, func(b []byte) bool { return bytes.Equal(b, want.Bytes()) }},
	} {
		data := fetchAction(t, s, tt.id)
		if !tt.want(data) {
			t.Errorf("action %s served %d bytes starting %q", tt.id, len(data), data[:min(len(data), 16)])
		}
		size, sum := s.PackageOf(tt.id)
		h := sha256.Sum256(data)
		if size != int64(len(data)) || sum != hex.EncodeToString(h[:]) {
			t.Errorf("PackageOf(%s) = %d %s, served %d bytes %x", tt.id, size, sum, len(data), h)
		}
	}
	if _, sum := s.PackageOf(hostile); sum == s.PackageSHA256() {
		t.Error("the default package's hash is the hostile one's")
	}
}

// fetchAction downloads the package of an action through a fresh link.
func fetchAction(t *testing.T, s *Server, id string) []byte {
	t.Helper()
	var v struct{ Value string }
	call(t, s, "GET", "/api/machineactions/"+id+"/getPackageUri", "tok", "", &v)
	resp, err := s.srv.Client().Get(strings.Trim(v.Value, `"`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("download: %d %v", resp.StatusCode, err)
	}
	return data
}
