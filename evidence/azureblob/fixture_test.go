package azureblob_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/mdebot/mdebot/evidence"
	"github.com/mdebot/mdebot/evidence/azureblob"
	"github.com/mdebot/mdebot/evidence/azureblob/azuritetest"
	"github.com/mdebot/mdebot/evidence/evidencetest"
)

// The azure_blob store shows the behaviour required of every store that
// keeps packages (the evidence package's tests run the same suite on file).
func TestStores(t *testing.T) {
	evidencetest.Run(t, func(t *testing.T) *evidencetest.Fixture { return newAzureFixture(t) })
}

// BenchmarkPutMemory: memory of the azure_blob store's Put, on Azurite, does
// not grow with the package (evidencetest.BenchPutMemory).
func BenchmarkPutMemory(b *testing.B) {
	evidencetest.BenchPutMemory(b, func(b *testing.B) evidence.Store { return newAzureFixture(b).Store })
}

// newAzureFixture is an azure_blob store on Azurite, in a fresh container
// deleted when the test ends; skipped loudly without Azurite.
func newAzureFixture(t testing.TB) *evidencetest.Fixture {
	t.Helper()
	base := azuritetest.URL(t)
	name, cc := azuritetest.Container(t, base)
	f := &evidencetest.Fixture{Clock: &evidencetest.Clock{}, SHAHeader: "X-Ms-Meta-Sha256"}
	s, err := azureblob.New(context.Background(), azureblob.Options{AccountURL: base, Container: name, AccountKey: azuritetest.Key, Now: f.Clock.Now})
	if err != nil {
		t.Fatalf("azure store on Azurite (%s): %v", base, err)
	}
	f.Store = s
	ctx := context.Background()
	f.Flip = func(t *testing.T, id string) {
		bb := cc.NewBlockBlobClient(id + ".package")
		r, err := bb.DownloadStream(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, err := readAllClose(r.Body)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/2] ^= 0x01
		// Overwritten as an attacker would: the bytes change (and the
		// metadata holding the hash goes with the old blob).
		if _, err := bb.Upload(ctx, streaming.NopCloser(bytes.NewReader(b)), &blockblob.UploadOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	f.Orphan = func(t *testing.T, id string, body []byte) {
		if _, err := cc.NewBlockBlobClient(id+".package").Upload(ctx, streaming.NopCloser(bytes.NewReader(body)), nil); err != nil {
			t.Fatal(err)
		}
	}
	f.Drop = func(t *testing.T, id string) {
		if _, err := cc.NewBlobClient(id+".package").Delete(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	f.Visible = func(t *testing.T) []string {
		var names []string
		pager := cc.NewListBlobsFlatPager(nil)
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range page.Segment.BlobItems {
				names = append(names, *it.Name)
			}
		}
		return names
	}
	return f
}

func readAllClose(r io.ReadCloser) ([]byte, error) {
	defer r.Close()
	return io.ReadAll(r)
}
