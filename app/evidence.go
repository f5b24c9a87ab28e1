package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/mdebot/mdebot/config"
	"github.com/mdebot/mdebot/evidence"
	"github.com/mdebot/mdebot/evidence/azureblob"
)

// OpenEvidence opens the evidence store cfg names (evidence.*): file in
// EvidenceDir with http.public_url for its links, azure_blob with the
// account key or DefaultAzureCredential, or none. tokens keeps the file
// store's link tokens (the store.DB); nil is fine where no link is issued
// (the CLI's verify and export). The choice is made here, not in package
// evidence, because azure_blob links the Azure SDK, which evidence's
// importers (the use cases) must not.
func OpenEvidence(ctx context.Context, cfg *config.Config, tokens evidence.LinkTokens) (evidence.Store, error) {
	switch kind := cfg.EvidenceStore(); kind {
	case evidence.KindFile:
		s, err := evidence.NewFile(evidence.FileOptions{Dir: cfg.EvidenceDir(), PublicURL: cfg.HTTP.PublicURL, Tokens: tokens})
		if err != nil {
			return nil, err
		}
		return s, nil
	case evidence.KindAzureBlob:
		a := cfg.Evidence.Azure
		s, err := azureblob.New(ctx, azureblob.Options{AccountURL: a.AccountURL, Container: a.Container, AccountKey: a.AccountKey})
		if err != nil {
			return nil, err
		}
		return s, nil
	case evidence.KindNone:
		return evidence.NewNone(nil), nil
	default:
		return nil, fmt.Errorf("evidence: unknown store %q (file, azure_blob or none)", kind)
	}
}

// EvidenceProblems are the configuration problems that keep the evidence
// store from opening (evidence.* and store.driver, which picks its default),
// so that the evidence commands work while Slack or Entra settings are
// still placeholders.
func EvidenceProblems(cfg *config.Config) config.Problems {
	var out config.Problems
	for _, p := range cfg.Validate() {
		if strings.HasPrefix(p.Key, "evidence.") || p.Key == "store.driver" {
			out = append(out, p)
		}
	}
	return out
}
