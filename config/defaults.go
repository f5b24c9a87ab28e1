package config

import "time"

// DefaultPath is where serve and check-config look when --config is not given.
// Unlike an explicit path, it may be missing: the container case, configured
// through MDEBOT_* variables alone.
const DefaultPath = "./config.yaml"

// Defaults documented in DESIGN.md and config.yaml.
const (
	DefaultMaxPackageSize = 1 << 30 // 1 GiB
	// Delegated Defender scopes; MSAL adds openid, profile and offline_access itself.
	ScopeCollectForensics = "https://api.securitycenter.microsoft.com/Machine.CollectForensics"
	ScopeMachineRead      = "https://api.securitycenter.microsoft.com/Machine.Read"
)

// defaultValues returns viper defaults for scalar and list keys. Defaults
// inside policy.channels entries are applied by channelDefaults.
func defaultValues() map[string]any {
	return map[string]any{
		"slack.mode":                       "socket",
		"slack.api_url":                    "https://slack.com/api/",
		"slack.command":                    "/mde-package",
		"http.listen":                      ":8080",
		"mde.cloud":                        "commercial",
		"mde.download_hosts":               []string{"*.securitycenter.windows.com", "*.securitycenter.windows.us"},
		"mde.poll_interval":                15 * time.Second,
		"mde.wait_timeout":                 time.Hour,
		"mde.package_uri_limit.per_minute": 2,
		"mde.package_uri_limit.per_hour":   120,
		"mde.max_package_size":             int64(DefaultMaxPackageSize),
		"identity.flow":                    "auth_code",
		"identity.require_email_match":     true,
		"identity.scopes":                  []string{ScopeCollectForensics, ScopeMachineRead},
		"store.driver":                     "sqlite",
		"store.dsn":                        "file:mdebot.db",
		"log.level":                        "info",
		"log.format":                       "json",
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
	out["approval"] = approval
	return out
}

func setMissing(m map[string]any, key string, v any) {
	if cur, ok := m[key]; !ok || cur == nil {
		m[key] = v
	}
}
