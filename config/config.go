// Package config loads mdebot's configuration with viper (file, then
// MDEBOT_* environment overrides), applies defaults and validates it,
// reporting every problem at once, one line each, naming the key.
package config

import "time"

// Config is the typed configuration. Keys and defaults are the contract in DESIGN.md.
type Config struct {
	Slack    Slack    `mapstructure:"slack"`
	HTTP     HTTP     `mapstructure:"http"`
	MDE      MDE      `mapstructure:"mde"`
	Identity Identity `mapstructure:"identity"`
	Store    Store    `mapstructure:"store"`
	Policy   Policy   `mapstructure:"policy"`
	Log      Log      `mapstructure:"log"`
}

// Slack holds the Slack app's credentials and transport.
type Slack struct {
	Mode          string   `mapstructure:"mode"` // socket (default) or http
	BotToken      string   `mapstructure:"bot_token"`
	AppToken      string   `mapstructure:"app_token"`
	SigningSecret string   `mapstructure:"signing_secret"`
	APIURL        string   `mapstructure:"api_url"`
	Command       string   `mapstructure:"command"`
	AllowedTeams  []string `mapstructure:"allowed_teams"`
}

// HTTP holds the listener and the public base URL.
type HTTP struct {
	Listen    string `mapstructure:"listen"`
	PublicURL string `mapstructure:"public_url"`
}

// MDE holds the Defender API settings.
type MDE struct {
	Cloud           string         `mapstructure:"cloud"`
	Region          string         `mapstructure:"region"`
	BaseURL         string         `mapstructure:"base_url"`
	DownloadHosts   []string       `mapstructure:"download_hosts"`
	PollInterval    time.Duration  `mapstructure:"poll_interval"`
	WaitTimeout     time.Duration  `mapstructure:"wait_timeout"`
	PackageURILimit PackageURIRate `mapstructure:"package_uri_limit"`
	MaxPackageSize  int64          `mapstructure:"max_package_size"`
}

// PackageURIRate is the getPackageUri budget.
type PackageURIRate struct {
	PerMinute int `mapstructure:"per_minute"`
	PerHour   int `mapstructure:"per_hour"`
}

// Identity holds the Entra app registration and linking flow.
type Identity struct {
	TenantID          string   `mapstructure:"tenant_id"`
	ClientID          string   `mapstructure:"client_id"`
	ClientSecret      string   `mapstructure:"client_secret"`
	Authority         string   `mapstructure:"authority"`
	Flow              string   `mapstructure:"flow"`
	RequireEmailMatch bool     `mapstructure:"require_email_match"`
	Scopes            []string `mapstructure:"scopes"`
}

// Store holds the database settings.
type Store struct {
	Driver        string `mapstructure:"driver"`
	DSN           string `mapstructure:"dsn"`
	EncryptionKey string `mapstructure:"encryption_key"`
}

// Policy says where and by whom packages may be requested.
type Policy struct {
	Channels   []ChannelPolicy `mapstructure:"channels"`
	Requesters []string        `mapstructure:"requesters"`
}

// ChannelPolicy applies to channels whose ID equals Match or whose name matches the glob Match.
type ChannelPolicy struct {
	Match    string   `mapstructure:"match"`
	Delivery string   `mapstructure:"delivery"`
	Approval Approval `mapstructure:"approval"`
}

// Approval is a channel's approval rule.
type Approval struct {
	Required          bool          `mapstructure:"required"`
	Approvers         []string      `mapstructure:"approvers"`
	RequiredApprovals int           `mapstructure:"required_approvals"`
	ExpiresAfter      time.Duration `mapstructure:"expires_after"`
}

// Log holds the logging settings.
type Log struct {
	Level  string `mapstructure:"level"`
	Format string `mapstructure:"format"`
}
