package demo

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/mdebot/mdebot/app"
	"github.com/mdebot/mdebot/config"
	"github.com/mdebot/mdebot/telemetry"
)

func mkTemp() (string, error) { return os.MkdirTemp("", "mdebot-demo-*") }

func removeAll(dir string) { _ = os.RemoveAll(dir) }

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

func newLogger(w io.Writer, c *config.Config) (*slog.Logger, error) {
	return telemetry.NewLogger(w, c.Log.Level, c.Log.Format, app.Secrets(c)...)
}

func orStr(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

func orInt(n, def int64) int64 {
	if n > 0 {
		return n
	}
	return def
}

func orDur(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
