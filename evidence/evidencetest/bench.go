package evidencetest

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/mdebot/mdebot/evidence"
)

// sampledSource yields size pseudo-random bytes and samples the heap
// (runtime.ReadMemStats) and the resident set every 4 MiB it hands out, so a
// benchmark sees the peak while Put streams.
type sampledSource struct {
	rng      *rand.ChaCha8
	left     int64
	next     int64
	peakHeap uint64
	peakRSS  int64
}

func newSampledSource(size int64) *sampledSource {
	return &sampledSource{rng: rand.NewChaCha8([32]byte{1}), left: size}
}

const sampleEvery = 4 << 20

func (s *sampledSource) Read(p []byte) (int, error) {
	if s.left == 0 {
		s.sample()
		return 0, io.EOF
	}
	if int64(len(p)) > s.left {
		p = p[:s.left]
	}
	n, _ := s.rng.Read(p)
	s.left -= int64(n)
	if s.next -= int64(n); s.next <= 0 {
		s.sample()
		s.next = sampleEvery
	}
	return n, nil
}

func (s *sampledSource) sample() {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	s.peakHeap = max(s.peakHeap, m.HeapAlloc)
	s.peakRSS = max(s.peakRSS, rss())
}

// rss is the process's resident set in bytes (Linux; 0 elsewhere): it
// counts buffers outside the Go heap, such as the Azure SDK's mmapped blocks.
func rss() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// BenchPutMemory streams 64 MiB and 1 GiB packages through Put on the store
// open returns (one per size), reporting the peak heap (HeapAlloc) and
// resident set while the package streams, above what they were before:
// memory must not grow with the package's size. Each store's package runs
// it as BenchmarkPutMemory:
//
//	MDEBOT_TEST_AZURITE_URL=http://127.0.0.1:PORT/devstoreaccount1 \
//	  go test -run '^$' -bench BenchmarkPutMemory -benchtime 1x ./evidence/...
func BenchPutMemory(b *testing.B, open func(b *testing.B) evidence.Store) {
	for _, size := range []int64{64 << 20, 1 << 30} {
		b.Run(fmt.Sprintf("%dMiB", size>>20), func(b *testing.B) {
			s := open(b)
			ctx := context.Background()
			b.SetBytes(size)
			var heapGrowth, rssGrowth uint64
			var peakHeap uint64
			i := 0
			for b.Loop() {
				runtime.GC()
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				baseHeap, baseRSS := m.HeapAlloc, rss()
				src := newSampledSource(size)
				id := fmt.Sprintf("bench%d", i)
				c, err := s.Put(ctx, id, src, evidence.Custody{})
				if err != nil || c.Size != size {
					b.Fatalf("Put: %d bytes, %v", c.Size, err)
				}
				peakHeap = max(peakHeap, src.peakHeap)
				heapGrowth = max(heapGrowth, src.peakHeap-min(src.peakHeap, baseHeap))
				rssGrowth = max(rssGrowth, uint64(max(0, src.peakRSS-baseRSS)))
				if err := s.Purge(ctx, id, c.StoredAt); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(peakHeap), "peak-heap-B")
			b.ReportMetric(float64(heapGrowth), "heap-growth-B")
			b.ReportMetric(float64(rssGrowth), "rss-growth-B")
		})
	}
}
