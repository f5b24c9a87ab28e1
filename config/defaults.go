package config

import (
	"slices"
	"time"
)

// DefaultPath is where serve and check-config look when --config is not given.
// Unlike an explicit path, it may be missing: the container case, configured
// through MDEBOT_* variables alone.
const DefaultPath = "./config.yaml"

// Defaults documented in DESIGN.md and config.yaml.
const (
	DefaultMaxPackageSize = 1 << 30 // 1 GiB
	// Delegated Defender scopes; MSAL adds openid, profile and offline_access itself.
	ScopeCollectForensics  = "https://api.securitycenter.microsoft.com/Machine.CollectForensics"
	ScopeMachineRead       = "https://api.securitycenter.microsoft.com/Machine.Read"
	ScopeLiveResponse      = "https://api.securitycenter.microsoft.com/Machine.LiveResponse"
	DefaultMaxUncompressed = 4 << 30 // 4 GiB

	// Evidence stores.
	EvidenceFile      = "file"
	EvidenceAzureBlob = "azure_blob"
	EvidenceNone      = "none"

	// Slack features beyond the slash command.
	FeatureAppHome         = "app_home"
	FeatureWorkflowStep    = "workflow_step"
	FeatureMessageShortcut = "message_shortcut"
)

// AllRequestKinds are the kinds approval.required_for may list (its default).
var AllRequestKinds = []string{"get", "collect", "getfile"}

// defaultValues returns viper defaults for scalar and list keys. Defaults
// inside policy.channels entries are applied by channelDefaults.
func defaultValues() map[string]any {
	return map[string]any{
		"slack.mode":                         "socket",
		"slack.api_url":                      "https://slack.com/api/",
		"slack.command":                      "/mde-package",
		"slack.callback_hosts":               []string{"hooks.slack.com", "files.slack.com", "files-edge.slack.com"},
		"slack.features":                     []string{FeatureAppHome, FeatureWorkflowStep, FeatureMessageShortcut},
		"http.read_timeout":                  15 * time.Second,
		"http.write_timeout":                 30 * time.Second,
		"http.idle_timeout":                  2 * time.Minute,
		"http.listen":                        ":8080",
		"mde.cloud":                          "commercial",
		"mde.download_hosts":                 []string{"*.securitycenter.windows.com", "*.securitycenter.windows.us", "*.blob.core.windows.net"},
		"mde.poll_interval":                  15 * time.Second,
		"mde.wait_timeout":                   time.Hour,
		"mde.package_uri_limit.per_minute":   2,
		"mde.package_uri_limit.per_hour":     120,
		"mde.live_response_limit.per_minute": 10,
		"mde.live_response_limit.per_hour":   600,
		"mde.max_package_size":               int64(DefaultMaxPackageSize),
		"identity.flow":                      "auth_code",
		"identity.require_email_match":       true,
		"identity.scopes":                    []string{ScopeCollectForensics, ScopeMachineRead, ScopeLiveResponse},
		"store.driver":                       "sqlite",
		"store.dsn":                          "file:mdebot.db",
		"store.request_retention":            time.Duration(0),
		"store.audit_retention":              time.Duration(0),
		"evidence.link_ttl":                  10 * time.Minute,
		"evidence.retention":                 720 * time.Hour,
		"triage.max_entries":                 10000,
		"triage.max_uncompressed":            int64(DefaultMaxUncompressed),
		"policy.max_pending_per_user":        5,
		"log.level":                          "info",
		"log.format":                         "json",
	}
}

// channelDefaults fills the keys a policy.channels entry leaves out, on a
// copy of the raw entry: delivery link, one approval, expiring after 1h.
func channelDefaults(entry map[string]any) map[string]any {
	out := make(map[string]any, len(entry)+1)
	for k, v := range entry {
		out[k] = v
	}
	setMissing(out, "delivery", "link")
	approval := map[string]any{}
	if raw, ok := out["approval"]; ok && raw != nil {
		m, isMap := asMap(raw)
		if !isMap {
			return out // the decoder reports the wrong shape
		}
		for k, v := range m {
			approval[k] = v
		}
	}
	setMissing(approval, "required_approvals", 1)
	setMissing(approval, "expires_after", time.Hour)
	setMissing(approval, "required_for", slices.Clone(AllRequestKinds))
	out["approval"] = approval
	return out
}

func setMissing(m map[string]any, key string, v any) {
	if cur, ok := m[key]; !ok || cur == nil {
		m[key] = v
	}
}
