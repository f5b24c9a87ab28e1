package evidence_test

import (
	"testing"

	"github.com/mdebot/mdebot/evidence"
	"github.com/mdebot/mdebot/evidence/evidencetest"
)

// BenchmarkPutMemory: memory of the file store's Put does not grow with the
// package (evidencetest.BenchPutMemory; azureblob has the Azurite runs).
func BenchmarkPutMemory(b *testing.B) {
	evidencetest.BenchPutMemory(b, func(b *testing.B) evidence.Store {
		s, err := evidence.NewFile(evidence.FileOptions{Dir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		return s
	})
}
