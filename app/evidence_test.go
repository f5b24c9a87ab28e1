package app_test

import (
	"context"
	"strings"
	"testing"

	"github.com/mdebot/mdebot/app"
	"github.com/mdebot/mdebot/config"
	"github.com/mdebot/mdebot/evidence"
	"github.com/mdebot/mdebot/evidence/azureblob/azuritetest"
)

// OpenEvidence picks the store evidence.store names, and refuses others.
func TestOpenEvidence(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		set   func(c *config.Evidence)
		kind  string // the store opened, or "" for an error
		error string
	}{
		{"file", func(c *config.Evidence) { c.Store, c.Dir = evidence.KindFile, t.TempDir() }, evidence.KindFile, ""},
		{"file by default with sqlite", func(c *config.Evidence) { c.Dir = t.TempDir() }, evidence.KindFile, ""},
		{"none", func(c *config.Evidence) { c.Store = evidence.KindNone }, evidence.KindNone, ""},
		{"unknown", func(c *config.Evidence) { c.Store = "s3" }, "", `unknown store "s3"`},
		{"azure_blob with an ftp URL", func(c *config.Evidence) {
			c.Store, c.Azure.AccountURL, c.Azure.Container = evidence.KindAzureBlob, "ftp://x", "c"
		}, "", "is not an http(s) URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &config.Config{}
			tt.set(&cfg.Evidence)
			s, err := app.OpenEvidence(ctx, cfg, nil)
			if tt.kind == "" {
				if err == nil || !strings.Contains(err.Error(), tt.error) {
					t.Errorf("OpenEvidence = %v, %v; want an error saying %q", s, err, tt.error)
				}
				return
			}
			if err != nil || s.Kind() != tt.kind {
				t.Fatalf("OpenEvidence = %v, %v; want a %s store", s, err, tt.kind)
			}
			s.Close()
		})
	}
}

// azure_blob opens the azureblob store on Azurite, creating its container.
func TestOpenEvidenceAzurite(t *testing.T) {
	ctx := context.Background()
	base := azuritetest.URL(t)
	name, cc := azuritetest.Container(t, base)
	cfg := &config.Config{}
	cfg.Evidence.Store = evidence.KindAzureBlob
	cfg.Evidence.Azure = config.EvidenceAzure{AccountURL: base, Container: name, AccountKey: azuritetest.Key}
	s, err := app.OpenEvidence(ctx, cfg, nil)
	if err != nil {
		t.Fatalf("OpenEvidence(azure_blob on %s): %v", base, err)
	}
	defer s.Close()
	if _, err := cc.GetProperties(ctx, nil); err != nil || s.Kind() != evidence.KindAzureBlob {
		t.Errorf("store kind %s, container %s: %v; want azure_blob and the container created", s.Kind(), name, err)
	}
}
