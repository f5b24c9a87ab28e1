package config

import (
	"slices"
	"testing"

	"github.com/mdebot/mdebot/mde"
)

// The configuration's defaults are the mde client's: a host or budget
// changed in one place must change in the other.
func TestDefaultsMatchMDE(t *testing.T) {
	c, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.MDE.DownloadHosts, mde.DefaultDownloadHosts(); !slices.Equal(got, want) {
		t.Errorf("mde.download_hosts default %v, mde.DefaultDownloadHosts() %v", got, want)
	}
	for _, b := range []struct {
		key  string
		got  PackageURIRate
		want mde.Limits
	}{
		{"mde.package_uri_limit", c.MDE.PackageURILimit, mde.DefaultPackageURILimits()},
		{"mde.live_response_limit", c.MDE.LiveResponseLimit, mde.DefaultLiveResponseLimits()},
	} {
		if b.got.PerMinute != b.want.PerMinute || b.got.PerHour != b.want.PerHour {
			t.Errorf("%s default %+v, mde's %+v", b.key, b.got, b.want)
		}
	}
}
