package config

import (
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// containerRE is an Azure Blob container name: 3 to 63 of a-z, 0-9 and
// single hyphens, starting and ending with a letter or digit.
var containerRE = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9]|-[a-z0-9]){2,62}$`)

var evidenceStores = []string{EvidenceFile, EvidenceAzureBlob, EvidenceNone}

// EvidenceStore is the evidence store in effect: evidence.store when set,
// otherwise file with SQLite (one process, a local folder) and none with
// PostgreSQL (replicas cannot share a local folder).
func (c *Config) EvidenceStore() string {
	if c.Evidence.Store != "" {
		return c.Evidence.Store
	}
	if c.Store.Driver == "postgres" {
		return EvidenceNone
	}
	return EvidenceFile
}

// EvidenceStoreReason says why EvidenceStore is what it is (check-config prints it).
func (c *Config) EvidenceStoreReason() string {
	switch {
	case c.Evidence.Store != "":
		return "evidence.store is " + c.Evidence.Store
	case c.Store.Driver == "postgres":
		return "evidence.store is empty and store.driver is postgres: none (replicas cannot share a local folder; set azure_blob to keep packages)"
	}
	return "evidence.store is empty and store.driver is sqlite: file, in " + c.EvidenceDir()
}

// EvidenceDir is the file store's folder: evidence.dir, or mdebot-evidence
// beside the SQLite database.
func (c *Config) EvidenceDir() string {
	if c.Evidence.Dir != "" {
		return c.Evidence.Dir
	}
	db := "mdebot.db"
	if c.Store.Driver == "sqlite" {
		if p, _, _ := strings.Cut(strings.TrimPrefix(c.Store.DSN, "file:"), "?"); p != "" {
			db = p
		}
	}
	return filepath.Join(filepath.Dir(db), "mdebot-evidence")
}

func (c *Config) validateEvidence(k *checker) {
	e := c.Evidence
	if e.Store != "" {
		oneOf(k, "evidence.store", e.Store, evidenceStores)
	}
	switch c.EvidenceStore() {
	case EvidenceFile:
		if c.Store.Driver == "postgres" && !e.DirShared {
			k.add("evidence.store", "file keeps packages in a local folder, which replicas on postgres do not share: use azure_blob, or set evidence.dir_shared: true when evidence.dir is on storage every replica mounts")
		}
		if e.DirShared && e.Dir == "" {
			k.add("evidence.dir", "required when evidence.dir_shared is true (the shared folder every replica mounts)")
		}
	case EvidenceAzureBlob:
		if e.Azure.AccountURL == "" {
			k.add("evidence.azure.account_url", "required for azure_blob, e.g. https://ACCOUNT.blob.core.windows.net")
		} else if msg := checkURL(e.Azure.AccountURL, urlRules{path: true}); msg != "" {
			k.add("evidence.azure.account_url", "%s", msg)
		}
		if !containerRE.MatchString(e.Azure.Container) {
			k.add("evidence.azure.container", "must be an Azure Blob container name: 3 to 63 lower-case letters, digits and single hyphens")
		}
	}
	if e.LinkTTL < time.Minute || e.LinkTTL > 24*time.Hour {
		k.add("evidence.link_ttl", "must be from 1m to 24h, got %s", e.LinkTTL)
	}
	if e.Retention < 0 {
		k.add("evidence.retention", "must be 0 (keep forever) or more, got %s", e.Retention)
	} else if e.Retention > 0 && e.Retention < time.Hour {
		k.add("evidence.retention", "must be 0 (keep forever) or at least 1h, got %s", e.Retention)
	}
	if c.Triage.MaxEntries < 1 {
		k.add("triage.max_entries", "must be at least 1, got %d", c.Triage.MaxEntries)
	}
	if c.Triage.MaxUncompressed < 1<<20 {
		k.add("triage.max_uncompressed", "must be at least 1MiB, got %d bytes", c.Triage.MaxUncompressed)
	}
}
