package mde_test

import (
	"io"
	"runtime"
	"runtime/metrics"
	"testing"

	"github.com/mdebot/mdebot/mde"
	"github.com/mdebot/mdebot/mde/mdetest"
)

// heapSampler is an io.Writer that discards, sampling the heap every MiB.
// The heap metric is cheap to read (no stop-the-world, unlike ReadMemStats).
type heapSampler struct {
	sample  []metrics.Sample
	pending int
	peak    uint64
}

func newHeapSampler() *heapSampler {
	return &heapSampler{sample: []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}}
}

func (h *heapSampler) heap() uint64 {
	metrics.Read(h.sample)
	return h.sample[0].Value.Uint64()
}

func (h *heapSampler) Write(b []byte) (int, error) {
	h.pending += len(b)
	if h.pending >= 1<<20 {
		h.pending = 0
		h.peak = max(h.peak, h.heap())
	}
	return len(b), nil
}

// BenchmarkOpenPackage downloads packages of growing size through
// OpenPackage (hash, count, size check) into a discarding writer. B/op and
// peak-heap-B should stay flat as size grows: the body is streamed. The fake
// server runs in the same process, so its allocations are included.
func BenchmarkOpenPackage(b *testing.B) {
	for _, size := range []struct {
		name  string
		bytes int64
	}{{"1MiB", 1 << 20}, {"16MiB", 16 << 20}, {"128MiB", 128 << 20}} {
		b.Run("size="+size.name, func(b *testing.B) {
			fake := mdetest.New(mdetest.Options{PackageSize: size.bytes})
			defer fake.Close()
			c, err := mde.New(mde.Options{BaseURL: fake.URL, DownloadHosts: []string{"127.0.0.1"}})
			if err != nil {
				b.Fatal(err)
			}
			id := fake.AddAction(mde.MachineAction{Status: mde.StatusSucceeded})
			u, err := c.GetPackageURI(b.Context(), alice, id)
			if err != nil {
				b.Fatal(err)
			}
			h := newHeapSampler()
			runtime.GC()
			base := h.heap()
			b.SetBytes(size.bytes)
			b.ReportAllocs()
			for b.Loop() {
				pkg, err := c.OpenPackage(b.Context(), u)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(h, pkg); err != nil {
					b.Fatal(err)
				}
				pkg.Close()
				if pkg.Sum() != fake.PackageSHA256() {
					b.Fatal("wrong hash")
				}
			}
			b.ReportMetric(float64(h.peak), "peak-heap-B")
			b.ReportMetric(float64(max(h.peak, base)-base), "heap-growth-B")
		})
	}
}
