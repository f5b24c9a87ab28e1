package mde

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Cloud is where a Defender tenant lives: its API base and sign-in authority.
type Cloud struct {
	APIBase   string
	Authority string
}

const (
	loginCommercial = "https://login.microsoftonline.com"
	loginGov        = "https://login.microsoftonline.us"
)

// Endpoints returns the API base and authority of a cloud ("commercial" when
// empty, "gcc", "gcc-high", "dod") and, for commercial only, a region ("" for
// the global host, or us, eu, uk, au, swa).
func Endpoints(cloud, region string) (Cloud, error) {
	cloud = strings.ToLower(strings.TrimSpace(cloud))
	region = strings.ToLower(strings.TrimSpace(region))
	switch cloud {
	case "", "commercial":
		switch region {
		case "":
			return Cloud{APIBase: "https://api.security.microsoft.com", Authority: loginCommercial}, nil
		case "us", "eu", "uk", "au", "swa":
			return Cloud{APIBase: "https://" + region + ".api.security.microsoft.com", Authority: loginCommercial}, nil
		}
		return Cloud{}, fmt.Errorf("mde: unknown region %q: use one of us, eu, uk, au, swa, or leave it empty for the global host", region)
	case "gcc", "gcc-high", "dod":
		if region != "" {
			return Cloud{}, fmt.Errorf("mde: region %q is only valid with the commercial cloud, not %q", region, cloud)
		}
		if cloud == "gcc" {
			return Cloud{APIBase: "https://api-gcc.securitycenter.microsoft.us", Authority: loginCommercial}, nil
		}
		return Cloud{APIBase: "https://api-gov.securitycenter.microsoft.us", Authority: loginGov}, nil
	}
	return Cloud{}, fmt.Errorf("mde: unknown cloud %q: use one of commercial, gcc, gcc-high, dod", cloud)
}

// DefaultDownloadHosts returns the host patterns Defender's package links
// and live response result links (Azure blob storage) point to (a fresh
// slice the caller may change).
func DefaultDownloadHosts() []string {
	return []string{"*.securitycenter.windows.com", "*.securitycenter.windows.us", "*.blob.core.windows.net"}
}

// CheckBaseURL accepts an absolute https URL, or http:// on a loopback host
// (127.0.0.0/8, ::1, localhost), which is what tests use.
func CheckBaseURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("mde: base URL %q does not parse: %w", raw, err)
	}
	if err := checkScheme(u); err != nil {
		return fmt.Errorf("mde: base URL %q: %w", raw, err)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("mde: base URL %q must not carry user info, a query or a fragment", raw)
	}
	return nil
}

// checkScheme is the rule shared by the API base and package links: https,
// or http on a loopback host.
func checkScheme(u *url.URL) error {
	if u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("not an absolute URL with a host")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("http is only accepted on loopback hosts, not %q", u.Hostname())
	}
	return fmt.Errorf("scheme %q is not https", u.Scheme)
}

func isLoopback(host string) bool {
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// MatchHost reports whether host (a URL's host, port optional) matches one of
// patterns: exact hosts or "*.suffix" (subdomains only), compared without
// case. A pattern without a port matches any port; one with a port only that
// port.
func MatchHost(patterns []string, host string) bool {
	name, port := splitHost(host)
	if name == "" {
		return false
	}
	for _, p := range patterns {
		pname, pport := splitHost(strings.TrimSpace(p))
		if pname == "" || (pport != "" && pport != port) {
			continue
		}
		if suffix, ok := strings.CutPrefix(pname, "*"); ok {
			if strings.HasPrefix(suffix, ".") && len(suffix) > 1 &&
				strings.HasSuffix(name, suffix) && len(name) > len(suffix) {
				return true
			}
			continue
		}
		if name == pname {
			return true
		}
	}
	return false
}

// splitHost lower-cases a host, splits off its port and drops IPv6 brackets
// and a trailing root dot.
func splitHost(h string) (name, port string) {
	h = strings.ToLower(h)
	if n, p, err := net.SplitHostPort(h); err == nil {
		h, port = n, p
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	return strings.TrimSuffix(h, "."), port
}

// checkHostPatterns refuses patterns MatchHost would silently never match.
func checkHostPatterns(patterns []string) error {
	if len(patterns) == 0 {
		return fmt.Errorf("mde: no download host patterns: package links could never be fetched")
	}
	for _, p := range patterns {
		tp := strings.TrimSpace(p)
		name, port := splitHost(tp)
		switch {
		case name == "", strings.ContainsAny(tp, "/?#@ \t"), strings.Trim(port, "0123456789") != "":
			return fmt.Errorf("mde: download host pattern %q is not a host name", p)
		case strings.Contains(name, "*") && (!strings.HasPrefix(name, "*.") || strings.Count(name, "*") > 1 || len(name) < 3):
			return fmt.Errorf("mde: download host pattern %q: '*' is only allowed as a leading \"*.\"", p)
		}
	}
	return nil
}

// checkPackageURL applies the scheme and host rules to a download link. Its
// message never contains the query string (the credential).
func checkPackageURL(u *url.URL, hosts []string) error {
	if err := checkScheme(u); err != nil {
		return fmt.Errorf("download link %s: %w", redacted(u), err)
	}
	if u.User != nil {
		return fmt.Errorf("download link %s carries user info", redacted(u))
	}
	if name := strings.TrimSuffix(u.Hostname(), "."); net.ParseIP(name) == nil && ValidateHostname(name) != nil {
		return fmt.Errorf("download link host %q is not a host name", u.Host) // url.Parse lets "!", ">", "%" through
	}
	if !MatchHost(hosts, u.Host) {
		return fmt.Errorf("download link host %q is not in the allowed download hosts", u.Host)
	}
	return nil
}

// redacted is scheme://host/path of u: what may be shown of a download link.
func redacted(u *url.URL) string {
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}
