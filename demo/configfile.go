package demo

import (
	"os"

	"go.yaml.in/yaml/v3"

	"github.com/mdebot/mdebot/config"
)

// WriteConfig writes the environment's configuration as a config.yaml, for
// tests that run `mdebot serve --config FILE` as a separate process.
func (e *Env) WriteConfig(path string) error {
	b, err := yaml.Marshal(configMap(e.Config))
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// configMap is c keyed as config.yaml is.
func configMap(c *config.Config) map[string]any {
	var channels []map[string]any
	for _, ch := range c.Policy.Channels {
		channels = append(channels, map[string]any{
			"match": ch.Match, "delivery": ch.Delivery,
			"approval": map[string]any{"required": ch.Approval.Required, "approvers": ch.Approval.Approvers,
				"required_approvals": ch.Approval.RequiredApprovals, "expires_after": ch.Approval.ExpiresAfter.String(), "required_for": ch.Approval.RequiredFor},
			"allow_external": ch.AllowExternal,
		})
	}
	return map[string]any{
		"slack": map[string]any{"mode": c.Slack.Mode, "bot_token": c.Slack.BotToken, "app_token": c.Slack.AppToken,
			"signing_secret": c.Slack.SigningSecret, "api_url": c.Slack.APIURL, "command": c.Slack.Command, "allowed_teams": c.Slack.AllowedTeams,
			"callback_hosts": c.Slack.CallbackHosts},
		"http": map[string]any{"listen": c.HTTP.Listen, "public_url": c.HTTP.PublicURL, "admin_listen": c.HTTP.AdminListen,
			"read_timeout": c.HTTP.ReadTimeout.String(), "write_timeout": c.HTTP.WriteTimeout.String(), "idle_timeout": c.HTTP.IdleTimeout.String()},
		"mde": map[string]any{"cloud": c.MDE.Cloud, "region": c.MDE.Region, "base_url": c.MDE.BaseURL, "download_hosts": c.MDE.DownloadHosts,
			"poll_interval": c.MDE.PollInterval.String(), "wait_timeout": c.MDE.WaitTimeout.String(),
			"package_uri_limit": map[string]any{"per_minute": c.MDE.PackageURILimit.PerMinute, "per_hour": c.MDE.PackageURILimit.PerHour},
			"max_package_size":  c.MDE.MaxPackageSize},
		"identity": map[string]any{"tenant_id": c.Identity.TenantID, "client_id": c.Identity.ClientID, "client_secret": c.Identity.ClientSecret,
			"authority": c.Identity.Authority, "flow": c.Identity.Flow, "require_email_match": c.Identity.RequireEmailMatch, "scopes": c.Identity.Scopes},
		"store":  map[string]any{"driver": c.Store.Driver, "dsn": c.Store.DSN, "encryption_key": c.Store.EncryptionKey},
		"policy": map[string]any{"channels": channels, "requesters": c.Policy.Requesters, "max_pending_per_user": c.Policy.MaxPendingPerUser},
		"evidence": map[string]any{"store": c.Evidence.Store, "dir": c.Evidence.Dir, "link_ttl": c.Evidence.LinkTTL.String(),
			"retention": c.Evidence.Retention.String()},
		"log": map[string]any{"level": c.Log.Level, "format": c.Log.Format},
	}
}
