package telemetry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

const (
	signingSecret = "8f14e45fceea167a5a36dedd4bea2543"
	clientSecret  = "Qx8~abc.DEF_ghi-JKL"
	jwt           = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"
	unsignedJWT   = "eyJhbGciOiJub25lIn0.eyJvaWQiOiIxIn0."
)

// secretCase: text embeds secret; after redaction, secret is gone and keep remains.
type secretCase struct {
	name, text, secret, keep string
}

var secretCases = []secretCase{
	{"exact signing secret", "verify with " + signingSecret + " now", signingSecret, "verify with"},
	{"exact client secret", "secret=" + clientSecret, clientSecret, "secret="},
	{"bearer token", "Authorization: Bearer abc.def-ghi_123", "abc.def-ghi_123", "Authorization: Bearer " + Redacted},
	{"bearer lower case", "header bearer opaque-token-value", "opaque-token-value", "header"},
	{"JWT", "token " + jwt + " rejected", jwt, "rejected"},
	{"unsigned JWT", "id_token was " + unsignedJWT, "eyJvaWQiOiIxIn0", "id_token was"},
	{"slack bot token", "using xoxb-1234-5678-abcdEFGH", "xoxb-1234-5678-abcdEFGH", "using"},
	{"slack user token", "xoxp-9-9-9-zz leaked", "xoxp-9-9-9-zz", "leaked"},
	{"slack app token", "app xapp-1-A0B1-2345-f00d", "xapp-1-A0B1-2345-f00d", "app"},
	{"refresh_token pair", "grant_type=refresh_token&refresh_token=0.AXoA-secret&scope=x", "0.AXoA-secret", "scope=x"},
	{"access_token pair", "access_token=abc123secret;", "abc123secret", "access_token=" + Redacted},
	{"code pair", "callback state=s1&code=auth-code-xyz", "auth-code-xyz", "state=s1"},
	{"client_secret pair", "client_id=c1&client_secret=hunter22hunter", "hunter22hunter", "client_id=c1"},
	{"JSON token field", `{"access_token":"opaque-at","token_type":"Bearer"}`, "opaque-at", `"token_type"`},
	{"package URL query", "fetch https://userrequests-us.securitycenter.windows.com/safedownload/WDATP_Investigation_Package.zip?token=sv%3Dsig123 failed",
		"sig123", "https://userrequests-us.securitycenter.windows.com/safedownload/WDATP_Investigation_Package.zip?" + Redacted + " failed"},
	{"http URL query", "GET http://127.0.0.1:9000/pkg.zip?sig=abc&se=2030 ok", "sig=abc", "http://127.0.0.1:9000/pkg.zip?" + Redacted},
}

func TestRedact(t *testing.T) {
	secrets := []string{signingSecret, clientSecret, "", "short"}
	for _, tc := range secretCases {
		t.Run(tc.name, func(t *testing.T) {
			got := Redact(tc.text, secrets)
			if strings.Contains(got, tc.secret) || !strings.Contains(got, tc.keep) {
				t.Errorf("Redact(%q) = %q: want %q gone and %q kept", tc.text, got, tc.secret, tc.keep)
			}
		})
	}
}

func TestRedactKeepsOrdinaryText(t *testing.T) {
	secrets := []string{"", "short", signingSecret}
	for _, s := range []string{
		"short words stay short",
		"status_code=200 for machine 0123456789abcdef0123456789abcdef01234567",
		"https://api.security.microsoft.com/api/machineactions/6f1e/getPackageUri",
		"exit code is fine",
	} {
		if got := Redact(s, secrets); got != s {
			t.Errorf("Redact(%q) = %q, want it unchanged", s, got)
		}
	}
}

type stringer string

func (s stringer) String() string { return string(s) }

type valuer string

func (v valuer) LogValue() slog.Value { return slog.StringValue(string(v)) }

type wrapped struct {
	URL string
	N   int
}

// Each way a string reaches a handler, for each secret kind, in JSON and text.
func TestLoggerRedacts(t *testing.T) {
	ways := map[string]func(l *slog.Logger, s string){
		"message":    func(l *slog.Logger, s string) { l.Info(s) },
		"attr":       func(l *slog.Logger, s string) { l.Info("m", "v", s) },
		"error":      func(l *slog.Logger, s string) { l.Error("m", "err", fmt.Errorf("wrapped: %w", errors.New(s))) },
		"group":      func(l *slog.Logger, s string) { l.Info("m", slog.Group("g", slog.Group("h", "v", s))) },
		"with":       func(l *slog.Logger, s string) { l.With("v", s).Info("m") },
		"with group": func(l *slog.Logger, s string) { l.WithGroup("g").With("v", s).Info("m", "w", s) },
		"stringer":   func(l *slog.Logger, s string) { l.Info("m", "v", stringer(s)) },
		"log valuer": func(l *slog.Logger, s string) { l.Info("m", "v", valuer(s)) },
		"struct":     func(l *slog.Logger, s string) { l.Info("m", "v", wrapped{URL: s, N: 1}) },
		"bytes":      func(l *slog.Logger, s string) { l.Info("m", "v", []byte(s)) },
		"attrs": func(l *slog.Logger, s string) {
			l.LogAttrs(context.Background(), slog.LevelWarn, "m", slog.String("v", s))
		},
	}
	for _, format := range []string{"json", "text"} {
		for way, log := range ways {
			for _, tc := range secretCases {
				t.Run(format+"/"+way+"/"+tc.name, func(t *testing.T) {
					var buf bytes.Buffer
					l, err := NewLogger(&buf, "debug", format, signingSecret, clientSecret)
					if err != nil {
						t.Fatal(err)
					}
					log(l, tc.text)
					out := buf.String()
					if out == "" {
						t.Fatal("nothing logged")
					}
					if strings.Contains(out, tc.secret) {
						t.Errorf("secret %q survived: %s", tc.secret, out)
					}
					if !strings.Contains(out, Redacted) {
						t.Errorf("no %s marker in: %s", Redacted, out)
					}
				})
			}
		}
	}
}

func TestLoggerKeepsStructure(t *testing.T) {
	var buf bytes.Buffer
	l, err := NewLogger(&buf, "info", "json")
	if err != nil {
		t.Fatal(err)
	}
	l.Debug("hidden")
	l.With("request_id", "r1").WithGroup("job").Info("step", "n", 3, "w", wrapped{URL: "https://x.example.com/p", N: 2})
	got := strings.TrimSpace(buf.String())
	for _, want := range []string{`"msg":"step"`, `"request_id":"r1"`, `"job":{"n":3,"w":{"URL":"https://x.example.com/p","N":2}}`} {
		if !strings.Contains(got, want) {
			t.Errorf("log line %s lacks %s", got, want)
		}
	}
	if strings.Contains(got, "hidden") {
		t.Errorf("debug line logged at info level: %s", got)
	}
}

func TestNewLoggerRejectsBadSettings(t *testing.T) {
	for _, tt := range []struct{ level, format string }{{"loud", "json"}, {"info", "xml"}} {
		if _, err := NewLogger(&bytes.Buffer{}, tt.level, tt.format); err == nil {
			t.Errorf("NewLogger(level %q, format %q) accepted", tt.level, tt.format)
		}
	}
}

func BenchmarkRedact(b *testing.B) {
	secrets := []string{signingSecret, clientSecret, "xoxb-1-2-3", "xapp-1-2-3"}
	r := newRedactor(secrets)
	for _, in := range []struct{ name, s string }{
		{"plain", "delivered package for action 6f1e2d3c to channel C0123 in 2.3s"},
		{"url", "fetch https://userrequests-us.securitycenter.windows.com/safedownload/x.zip?token=abc failed"},
	} {
		b.Run(in.name, func(b *testing.B) {
			for b.Loop() {
				r.redact(in.s)
			}
		})
	}
}
