package config

import (
	"net"
	"net/url"
	"regexp"
	"strings"
)

// hostnameRE is an RFC 1123 host name in lower case.
var hostnameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$`)

// urlRules says what a URL key may hold beyond scheme and host.
type urlRules struct {
	anyHTTP   bool // http:// allowed on any host (otherwise only on loopback)
	path      bool // a path is allowed
	rootSlash bool // the path may be exactly "/"
}

// checkURL returns what is wrong with raw, or "". URLs are not secrets, but
// a query string might be one, so it is never quoted back.
func checkURL(raw string, r urlRules) string {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return "must be an absolute URL such as https://host/path"
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !r.anyHTTP && !isLoopbackHost(u.Hostname()) {
			return "must use https (http:// is accepted only for loopback hosts: 127.0.0.0/8, ::1, localhost)"
		}
	default:
		return "must use https"
	}
	if u.User != nil {
		return "must not contain user credentials"
	}
	if u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(raw, "?#") {
		return "must not have a query string or fragment"
	}
	if !r.path && u.Path != "" && !(r.rootSlash && u.Path == "/") {
		return "must be scheme and host only, without a path"
	}
	return ""
}

// isLoopbackHost reports whether host (without port) is localhost or a
// loopback address: the only hosts where plain http:// is accepted.
func isLoopbackHost(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// checkHostPattern validates a download_hosts entry: an exact host (name or
// IP) or "*.suffix" with a suffix of at least two labels.
func checkHostPattern(p string) string {
	if p != strings.ToLower(p) {
		return "must be lower case"
	}
	if strings.Contains(p, "://") || strings.ContainsAny(p, "/:?#@ ") && net.ParseIP(p) == nil {
		return "must be a host name or *.suffix, without scheme, port or path"
	}
	if suffix, ok := strings.CutPrefix(p, "*."); ok {
		if !hostnameRE.MatchString(suffix) || !strings.Contains(suffix, ".") {
			return "must be *. followed by a domain of at least two labels, e.g. *.securitycenter.windows.com"
		}
		return ""
	}
	if net.ParseIP(p) != nil || hostnameRE.MatchString(p) {
		return ""
	}
	return "must be an exact host or a *.suffix pattern"
}
