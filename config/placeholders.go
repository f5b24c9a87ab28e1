package config

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
)

// Placeholder marks a value in config.yaml that the operator must replace.
const Placeholder = "REPLACE_ME"

// placeholderHints says where to find the real value of each key.
var placeholderHints = map[string]string{
	"slack.bot_token":                      "Slack app settings > OAuth & Permissions > Bot User OAuth Token, xoxb-…",
	"slack.app_token":                      "Slack app settings > Basic Information > App-Level Tokens, scope connections:write, xapp-…",
	"slack.signing_secret":                 "Slack app settings > Basic Information > App Credentials > Signing Secret",
	"slack.allowed_teams":                  "the workspace ID (T…) from the workspace's About page or the team_id of a slash command",
	"http.public_url":                      "the https address where Slack and browsers reach this bot, e.g. https://mdebot.example.com",
	"identity.tenant_id":                   "Entra admin center > Overview > Tenant ID",
	"identity.client_id":                   "Entra admin center > App registrations > your app > Application (client) ID",
	"identity.client_secret":               "Entra admin center > App registrations > your app > Certificates & secrets > client secret Value",
	"store.dsn":                            "your database connection string",
	"store.encryption_key":                 "generate it once with: openssl rand -base64 32, and keep it",
	"policy.channels[].match":              "the channel ID (C…) from the channel's details, or a name glob such as inc-*",
	"policy.channels[].approval.approvers": "user group ID (S…) from the group's profile or user ID (U…) from a profile's menu > Copy member ID",
	"policy.requesters":                    "user ID (U…) from a profile's menu > Copy member ID, or user group ID (S…)",
}

var indexRE = regexp.MustCompile(`\[\d+\]`)

// placeholders reports every key whose value (or one of whose list entries)
// still holds the Placeholder text.
func placeholders(c *Config) Problems {
	var ps Problems
	seen := map[string]bool{}
	walkStrings(reflect.ValueOf(c).Elem(), "", func(key, s string) {
		if !strings.Contains(s, Placeholder) || seen[key] {
			return
		}
		seen[key] = true
		hint, ok := placeholderHints[indexRE.ReplaceAllString(key, "[]")]
		if !ok {
			hint = "see the comment above this key in config.yaml"
		}
		ps = append(ps, Problem{Key: key, Message: fmt.Sprintf("placeholder value, fill it in (%s)", hint)})
	})
	return ps
}

// walkStrings calls fn with the key of every string held in v, lists
// included (a list's entries share the list's key).
func walkStrings(v reflect.Value, key string, fn func(key, s string)) {
	switch {
	case v.Kind() == reflect.String:
		fn(key, v.String())
	case v.Kind() == reflect.Struct && v.Type() != durationType:
		for i := range v.NumField() {
			if tag := v.Type().Field(i).Tag.Get("mapstructure"); tag != "" && tag != "-" {
				walkStrings(v.Field(i), joinKey(key, tag), fn)
			}
		}
	case v.Kind() == reflect.Slice && isNested(v.Type().Elem()):
		for i := range v.Len() {
			walkStrings(v.Index(i), fmt.Sprintf("%s[%d]", key, i), fn)
		}
	case v.Kind() == reflect.Slice:
		for i := range v.Len() {
			walkStrings(v.Index(i), key, fn)
		}
	}
}
