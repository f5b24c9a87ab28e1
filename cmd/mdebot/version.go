package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

// runVersion prints the version, the Go version and the VCS revision.
func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("version", "", stderr)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	info, _ := debug.ReadBuildInfo()
	fmt.Fprint(stdout, versionText(version, info))
	return 0
}

// versionText renders the version lines; info may be nil (no build info).
func versionText(v string, info *debug.BuildInfo) string {
	var b strings.Builder
	if info != nil && v == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		v = info.Main.Version // go install github.com/mdebot/mdebot/cmd/mdebot@vX.Y.Z
	}
	fmt.Fprintf(&b, "mdebot %s\n", v)
	if info == nil {
		return b.String()
	}
	fmt.Fprintf(&b, "go: %s\n", info.GoVersion)
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	if rev := settings["vcs.revision"]; rev != "" {
		fmt.Fprintf(&b, "commit: %s", rev)
		if settings["vcs.modified"] == "true" {
			b.WriteString(" (modified)")
		}
		if t := settings["vcs.time"]; t != "" {
			fmt.Fprintf(&b, " %s", t)
		}
		b.WriteString("\n")
	}
	return b.String()
}
