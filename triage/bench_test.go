package triage_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/mdebot/mdebot/mde/mdetest"
	"github.com/mdebot/mdebot/triage"
)

// BenchmarkTriage summarises and searches packages of 15 MiB (a typical
// one) and 500 MiB, written by the fake Defender to a temp file first (not
// timed): the realistic package, whose size is its Security.evtx (binary,
// never read), and the text-heavy one, whose size is deflated text logs
// (read entirely by Search). peak-heap-B is the highest heap, sampled
// every millisecond, above the heap after a GC before the
// first call (runtime/metrics, which does not stop the world).
func BenchmarkTriage(b *testing.B) {
	for _, kind := range []mdetest.PackageKind{mdetest.PackageRealistic, mdetest.PackageTextHeavy} {
		for _, size := range []struct {
			name  string
			bytes int64
		}{{"15MiB", 15 << 20}, {"500MiB", 500 << 20}} {
			b.Run(fmt.Sprintf("%s/%s", kind, size.name), func(b *testing.B) {
				start := time.Now()
				f, n := packageFile(b, "", kind, size.bytes)
				b.Logf("%s package of %d bytes written in %v", kind, n, time.Since(start).Round(time.Millisecond))
				defer os.Remove(f.Name())
				b.Run("summarize", func(b *testing.B) {
					measure(b, func() error {
						_, err := triage.Summarize(b.Context(), f, n, triage.Limits{})
						return err
					})
				})
				b.Run("search", func(b *testing.B) {
					measure(b, func() error {
						res, err := triage.Search(b.Context(), f, n, "185.199.108.153", 20, triage.Limits{})
						if err == nil && res.Total != 1 {
							err = fmt.Errorf("%d matches, want 1", res.Total)
						}
						return err
					})
				})
			})
		}
	}
}

func measure(b *testing.B, call func() error) {
	b.ReportAllocs()
	h := watchHeap(time.Millisecond, readMetrics)
	for b.Loop() {
		if err := call(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(h.done()), "peak-heap-B")
}
