// Package azuritetest connects tests to Azurite, the Azure Blob Storage
// emulator that .ci/run starts: its endpoint, its development key, and fresh
// containers removed when the test ends.
package azuritetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

// Env names the blob endpoint of a running Azurite
// (http://127.0.0.1:PORT/devstoreaccount1); .ci/run starts one and sets it.
const Env = "MDEBOT_TEST_AZURITE_URL"

// Key is Azurite's documented development account key (public, in
// Azurite's own blob/utils/constants.js): not a secret.
const Key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

// URL is Azurite's blob endpoint; the test is skipped, loudly, without one.
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(Env)
	if u == "" {
		t.Skip(Env + " is not set: Azure Blob (Azurite) tests SKIPPED (.ci/run starts Azurite and sets it)")
	}
	return strings.TrimRight(u, "/")
}

// Container is a fresh container name on base and a client of it, for
// looking behind the store's back; the container (created by the store
// under test) is deleted when the test ends.
func Container(t testing.TB, base string) (string, *container.Client) {
	t.Helper()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	name := "t" + hex.EncodeToString(b)
	cred, err := container.NewSharedKeyCredential(path.Base(base), Key)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := container.NewClientWithSharedKeyCredential(base+"/"+name, cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = cc.Delete(context.Background(), nil) })
	return name, cc
}
