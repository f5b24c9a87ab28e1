package mde_test

import (
	"strings"
	"testing"

	"github.com/mdebot/mdebot/mde"
)

func TestEndpoints(t *testing.T) {
	tests := []struct {
		cloud, region, api, authority, errHas string
	}{
		{"", "", "https://api.security.microsoft.com", "https://login.microsoftonline.com", ""},
		{"commercial", "", "https://api.security.microsoft.com", "https://login.microsoftonline.com", ""},
		{"commercial", "eu", "https://eu.api.security.microsoft.com", "https://login.microsoftonline.com", ""},
		{"Commercial", "SWA", "https://swa.api.security.microsoft.com", "https://login.microsoftonline.com", ""},
		{"gcc", "", "https://api-gcc.securitycenter.microsoft.us", "https://login.microsoftonline.com", ""},
		{"gcc-high", "", "https://api-gov.securitycenter.microsoft.us", "https://login.microsoftonline.us", ""},
		{"dod", "", "https://api-gov.securitycenter.microsoft.us", "https://login.microsoftonline.us", ""},
		{"dod", "us", "", "", "only valid with the commercial cloud"},
		{"commercial", "fr", "", "", "us, eu, uk, au, swa"},
		{"azure-china", "", "", "", "commercial, gcc, gcc-high, dod"},
	}
	for _, tt := range tests {
		t.Run(tt.cloud+"/"+tt.region, func(t *testing.T) {
			c, err := mde.Endpoints(tt.cloud, tt.region)
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("err = %v, want one containing %q", err, tt.errHas)
				}
				return
			}
			if err != nil || c.APIBase != tt.api || c.Authority != tt.authority {
				t.Fatalf("got %+v, %v; want %s %s", c, err, tt.api, tt.authority)
			}
		})
	}
}

func TestCheckBaseURL(t *testing.T) {
	tests := []struct {
		raw string
		ok  bool
	}{
		{"https://api.security.microsoft.com", true},
		{"https://api.security.microsoft.com/", true},
		{"http://127.0.0.1:8080", true},
		{"http://127.9.9.9", true},
		{"http://[::1]:9000", true},
		{"http://localhost:9000", true},
		{"http://LOCALHOST", true},
		{"http://api.security.microsoft.com", false},
		{"http://10.0.0.1", false},
		{"http://127.0.0.1.evil.example", false},
		{"http://localhost.evil.example", false},
		{"ftp://127.0.0.1", false},
		{"api.security.microsoft.com", false},
		{"https://", false},
		{"", false},
		{"https://user:pw@api.security.microsoft.com", false},
		{"https://api.security.microsoft.com/?x=1", false},
		{"://bad", false},
	}
	for _, tt := range tests {
		if err := mde.CheckBaseURL(tt.raw); (err == nil) != tt.ok {
			t.Errorf("CheckBaseURL(%q) = %v, want ok=%v", tt.raw, err, tt.ok)
		}
	}
}

func TestMatchHost(t *testing.T) {
	def := mde.DefaultDownloadHosts()
	tests := []struct {
		patterns []string
		host     string
		want     bool
	}{
		{def, "userrequests-us.securitycenter.windows.com", true},
		{def, "USERREQUESTS-EU.SecurityCenter.Windows.com", true},
		{def, "userrequests-us.securitycenter.windows.com:443", true},
		{def, "userrequests.securitycenter.windows.us", true},
		{def, "userrequests-us.securitycenter.windows.com.", true},
		{def, "automatedirstrprdweu.blob.core.windows.net", true}, // live response results
		{def, "blob.core.windows.net", false},
		{def, "securitycenter.windows.com", false}, // *. matches subdomains only
		{def, "evilsecuritycenter.windows.com", false},
		{def, "userrequests.securitycenter.windows.com.evil.example", false},
		{def, "127.0.0.1", false},
		{[]string{"127.0.0.1"}, "127.0.0.1:41234", true},
		{[]string{"127.0.0.1:41234"}, "127.0.0.1:41234", true},
		{[]string{"127.0.0.1:41234"}, "127.0.0.1:41235", false},
		{[]string{"127.0.0.1:41234"}, "127.0.0.1", false},
		{[]string{"::1"}, "[::1]:8080", true},
		{[]string{"[::1]:8080"}, "[::1]:8080", true},
		{[]string{"files.example.com"}, "sub.files.example.com", false},
		{[]string{"*.example.com:8443"}, "a.example.com:8443", true},
		{[]string{"*.example.com:8443"}, "a.example.com", false},
		{[]string{"*"}, "anything.example.com", false},
		{nil, "a.example.com", false},
		{def, "", false},
	}
	for _, tt := range tests {
		if got := mde.MatchHost(tt.patterns, tt.host); got != tt.want {
			t.Errorf("MatchHost(%v, %q) = %v, want %v", tt.patterns, tt.host, got, tt.want)
		}
	}
	d := mde.DefaultDownloadHosts()
	d[0] = "changed"
	if mde.DefaultDownloadHosts()[0] == "changed" {
		t.Error("DefaultDownloadHosts returns shared state")
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	tests := []struct {
		name   string
		o      mde.Options
		errHas string
	}{
		{"no base", mde.Options{}, "BaseURL is required"},
		{"plain http", mde.Options{BaseURL: "http://api.security.microsoft.com"}, "loopback"},
		{"star in middle", mde.Options{BaseURL: "https://a.example", DownloadHosts: []string{"a.*.com"}}, "leading"},
		{"url as host", mde.Options{BaseURL: "https://a.example", DownloadHosts: []string{"https://a.example/x"}}, "not a host name"},
		{"empty list", mde.Options{BaseURL: "https://a.example", DownloadHosts: []string{}}, "no download host"},
		{"negative size", mde.Options{BaseURL: "https://a.example", MaxPackageSize: -1}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := mde.New(tt.o); err == nil || !strings.Contains(err.Error(), tt.errHas) {
				t.Fatalf("err = %v, want one containing %q", err, tt.errHas)
			}
		})
	}
	if _, err := mde.New(mde.Options{BaseURL: "https://api.security.microsoft.com"}); err != nil {
		t.Fatalf("defaults: %v", err)
	}
}
