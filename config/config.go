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
	Evidence Evidence `mapstructure:"evidence"`
	Triage   Triage   `mapstructure:"triage"`
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
	// CallbackHosts are the only hosts a response_url or upload_url may name.
	CallbackHosts []string `mapstructure:"callback_hosts"`
	// Features are the Slack surfaces beyond the slash command that are enabled.
	Features []string `mapstructure:"features"`
}

// HTTP holds the listener and the public base URL.
type HTTP struct {
	Listen    string `mapstructure:"listen"`
	PublicURL string `mapstructure:"public_url"`
	// AdminListen, when set, serves /metrics, /healthz and /readyz apart from the Slack routes.
	AdminListen  string        `mapstructure:"admin_listen"`
	ReadTimeout  time.Duration `mapstructure:"read_timeout"`
	WriteTimeout time.Duration `mapstructure:"write_timeout"`
	IdleTimeout  time.Duration `mapstructure:"idle_timeout"`
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
	// LiveResponseLimit is the runliveresponse budget (Defender: 10 a minute).
	LiveResponseLimit PackageURIRate `mapstructure:"live_response_limit"`
	MaxPackageSize    int64          `mapstructure:"max_package_size"`
}

// PackageURIRate is a Defender call budget (getPackageUri, runliveresponse).
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
	// RequestRetention and AuditRetention delete ended requests and audit
	// events older than this (0 keeps them forever).
	RequestRetention time.Duration `mapstructure:"request_retention"`
	AuditRetention   time.Duration `mapstructure:"audit_retention"`
}

// Evidence is where delivered packages are kept, with their custody records.
type Evidence struct {
	// Store is file, azure_blob or none; empty picks file with SQLite and none with PostgreSQL.
	Store string `mapstructure:"store"`
	// Dir is the file store's folder; empty is mdebot-evidence beside the SQLite file.
	Dir string `mapstructure:"dir"`
	// DirShared declares Dir shared by every replica (a network file system).
	DirShared bool          `mapstructure:"dir_shared"`
	Azure     EvidenceAzure `mapstructure:"azure"`
	// LinkTTL is how long a Download link works.
	LinkTTL time.Duration `mapstructure:"link_ttl"`
	// Retention deletes stored packages older than this (0 keeps them forever).
	Retention time.Duration `mapstructure:"retention"`
}

// EvidenceAzure is the Azure Blob Storage container of the azure_blob store.
type EvidenceAzure struct {
	AccountURL string `mapstructure:"account_url"`
	Container  string `mapstructure:"container"`
	// AccountKey, when empty, means DefaultAzureCredential (managed or workload identity).
	AccountKey string `mapstructure:"account_key"`
}

// Triage bounds the summary read from inside a package.
type Triage struct {
	MaxEntries      int   `mapstructure:"max_entries"`
	MaxUncompressed int64 `mapstructure:"max_uncompressed"`
}

// Policy says where and by whom packages may be requested.
type Policy struct {
	Channels   []ChannelPolicy `mapstructure:"channels"`
	Requesters []string        `mapstructure:"requesters"`
	// MaxPendingPerUser bounds one user's requests not yet ended.
	MaxPendingPerUser int `mapstructure:"max_pending_per_user"`
}

// ChannelPolicy applies to channels whose ID equals Match or whose name matches the glob Match.
type ChannelPolicy struct {
	Match    string   `mapstructure:"match"`
	Delivery string   `mapstructure:"delivery"`
	Approval Approval `mapstructure:"approval"`
	// AllowExternal allows delivery into Slack Connect channels and to guests.
	AllowExternal bool `mapstructure:"allow_external"`
}

// Approval is a channel's approval rule.
type Approval struct {
	Required          bool          `mapstructure:"required"`
	Approvers         []string      `mapstructure:"approvers"`
	RequiredApprovals int           `mapstructure:"required_approvals"`
	ExpiresAfter      time.Duration `mapstructure:"expires_after"`
	// RequiredFor lists the request kinds (get, collect, getfile) that need approval.
	RequiredFor []string `mapstructure:"required_for"`
}

// Log holds the logging settings.
type Log struct {
	Level  string `mapstructure:"level"`
	Format string `mapstructure:"format"`
}
