package triage_test

import (
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdebot/mdebot/mde/mdetest"
	"github.com/mdebot/mdebot/triage"
)

// heapWatch samples the heap every interval while a call runs.
type heapWatch struct {
	read       func() (heap, total uint64)
	base, peak uint64 // HeapAlloc after a GC before the call, and its highest sample
	total0     uint64 // TotalAlloc before the call
	allocated  uint64 // bytes allocated since (an upper bound of any peak)
	samples    int
	stop       chan struct{}
	wg         sync.WaitGroup
}

// readMemStats reads HeapAlloc and TotalAlloc, stopping the world.
func readMemStats() (uint64, uint64) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc, ms.TotalAlloc
}

// readMetrics reads the same without stopping the world, for benchmarks.
func readMetrics() (uint64, uint64) {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64()
}

func watchHeap(interval time.Duration, read func() (uint64, uint64)) *heapWatch {
	runtime.GC()
	heap, total := read()
	h := &heapWatch{read: read, base: heap, peak: heap, total0: total, stop: make(chan struct{})}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			h.sample()
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	}()
	return h
}

func (h *heapWatch) sample() {
	heap, total := h.read()
	h.peak = max(h.peak, heap)
	h.allocated = total - h.total0
	h.samples++
}

// done stops the sampling, samples once more and returns the peak growth.
func (h *heapWatch) done() uint64 {
	close(h.stop)
	h.wg.Wait()
	h.sample()
	return h.peak - h.base
}

// TestBombMemory: the entry declaring 8 GiB at about 1000:1 costs a few
// MiB, refused on its headers with the default limits, and read, with the
// ratio allowed, only as far as the first line too long.
func TestBombMemory(t *testing.T) {
	f, size := packageFile(t, "", mdetest.PackageBomb, 0)
	loose := triage.Limits{MaxRatio: 2000, MaxUncompressed: 16 << 30}
	const bound = 16 << 20 // against 8 GiB declared
	for _, tt := range []struct {
		name string
		lim  triage.Limits
		run  func(triage.Limits) (string, error)
		want string
	}{
		{"summarize, default limits", triage.Limits{}, func(lim triage.Limits) (string, error) {
			_, err := triage.Summarize(t.Context(), f, size, lim)
			reason, _ := triage.Refusal(err)
			return reason, nil
		}, "over the compression ratio limit of 100:1"},
		{"search, default limits", triage.Limits{}, func(lim triage.Limits) (string, error) {
			_, err := triage.Search(t.Context(), f, size, "tcp", 20, lim)
			reason, _ := triage.Refusal(err)
			return reason, nil
		}, "over the compression ratio limit of 100:1"},
		{"summarize, ratio allowed", loose, func(lim triage.Limits) (string, error) {
			sum, err := triage.Summarize(t.Context(), f, size, lim)
			if err != nil {
				return "", err
			}
			return strings.Join(sum.Network.Problems, "; "), nil
		}, mdetest.BombEntry + ": has a line longer than 1.0 MiB"},
		{"search, ratio allowed", loose, func(lim triage.Limits) (string, error) {
			res, err := triage.Search(t.Context(), f, size, "tcp", 20, lim)
			if err != nil {
				return "", err
			}
			return strings.Join(res.Unread, "; "), nil
		}, mdetest.BombEntry + ": searched only up to a line longer than 1.0 MiB"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := watchHeap(time.Millisecond, readMemStats)
			got, err := tt.run(tt.lim)
			growth := h.done()
			if err != nil || got != tt.want && !strings.Contains(got, tt.want) {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
			t.Logf("heap growth %d B at peak (%d samples), %d B allocated in all", growth, h.samples, h.allocated)
			if growth > bound || h.allocated > bound {
				t.Errorf("heap grew %d B, %d B allocated; want both under %d B", growth, h.allocated, bound)
			}
		})
	}
}
