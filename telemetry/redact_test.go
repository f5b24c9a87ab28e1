package telemetry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
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
	{"workflow step token", "step xwfp-T0001-Fx1-0a1b2c3d4e5f", "xwfp-T0001-Fx1-0a1b2c3d4e5f", "step"},
	{"refresh_token pair", "grant_type=refresh_token&refresh_token=0.AXoA-secret&scope=x", "0.AXoA-secret", "scope=x"},
	{"access_token pair", "access_token=abc123secret;", "abc123secret", "access_token=" + Redacted},
	{"code pair", "callback state=s1&code=auth-code-xyz", "auth-code-xyz", "state=s1"},
	{"client_secret pair", "client_id=c1&client_secret=hunter22hunter", "hunter22hunter", "client_id=c1"},
	{"JSON token field", `{"access_token":"opaque-at","token_type":"Bearer"}`, "opaque-at", `"token_type"`},
	{"package URL query", "fetch https://userrequests-us.securitycenter.windows.com/safedownload/WDATP_Investigation_Package.zip?token=sv%3Dsig123 failed",
		"sig123", "https://userrequests-us.securitycenter.windows.com/safedownload/WDATP_Investigation_Package.zip?" + Redacted + " failed"},
	{"http URL query", "GET http://127.0.0.1:9000/pkg.zip?sig=abc&se=2030 ok", "sig=abc", "http://127.0.0.1:9000/pkg.zip?" + Redacted},
	{"SAS URL", "blob https://acct.blob.core.windows.net/evidence/r1.zip?sv=2022-11-02&sr=b&sp=r&sig=Zm9vYmFyYmF6%2Bq%3D done",
		"Zm9vYmFyYmF6", "https://acct.blob.core.windows.net/evidence/r1.zip?" + Redacted + " done"},
	{"token pair outside a URL", "evidence link token=k7Hq2mZ9wXvB3 refused", "k7Hq2mZ9wXvB3", "token=" + Redacted + " refused"},
	{"SAS query without its URL", "sv=2022-11-02&se=2030-01-01T00%3A00Z&sr=b&sp=r&sig=Zm9vYmFyYmF6%2Bq%3D", "Zm9vYmFyYmF6", "sig=" + Redacted},
	{"code pair URL-encoded", "redirect=https%3A%2F%2Fbot%2Fauth%2Fcallback%3Fcode%3Dsplx-code-4711%26state%3Ds1", "splx-code-4711", "code%3D" + Redacted},
	{"client_secret pair alone", "client_secret=hunter22hunter", "hunter22hunter", "client_secret=" + Redacted},
	{"escaped-slash URL", `{"url":"https:\/\/userrequests-us.securitycenter.windows.com\/safedownload\/x.zip?token=sv%3D2020\u0026sig=abc123secret"}`,
		"abc123secret", `https:\/\/userrequests-us.securitycenter.windows.com\/safedownload\/x.zip?` + Redacted + `"}`},
	{"escaped JSON token field", `{\"refresh_token\":\"opaque-rt-value\",\"scope\":\"x\"}`, "opaque-rt-value", `\"scope\"`},
	{"refresh token after a colon", "cache refresh_token: " + entraRT + " stored", entraRT[:20], "stored"},
	{"refresh token after a space", "redeeming refresh_token " + entraRT, entraRT[:20], "redeeming refresh_token " + Redacted},
	{"bare Entra refresh token", "AADSTS700082 for " + entraRT + ".AgABAAEAAAD", entraRT[:20], "AADSTS700082 for"},
}

// entraRT has the shape of an Entra refresh token (opaque, "0.A" then base64url).
const entraRT = "0.AXoAqk3mZ9wXvB3hQ2pL7sT1uV4yN8cR5eD6fG0jK_-lMnOpQr"

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
		"refresh_token rejected by the authority",
		"token expired for U0ALICE01; signature is fine",
		"version 0.A1 of the schema",
		`{"code":"InvalidRequest","RawQuery":"","Fragment":""}`,
		"https://hooks.slack.com/actions/T1/B2",
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

// A url.URL reaches a handler in many shapes; its query and fragment never
// pass, whichever the shape and format.
func TestLoggerRedactsURLValues(t *testing.T) {
	const secret = "c2lnbmF0dXJlLXNhcw"
	pkg := url.URL{Scheme: "https", Host: "acct.blob.core.windows.net", Path: "/evidence/r1.zip", RawQuery: "sv=2022&sig=" + secret, Fragment: "frag-" + secret}
	type holder struct {
		Name string
		Link url.URL
	}
	type pointerHolder struct {
		Link *url.URL
		N    int
	}
	type nested struct{ Inner holder }
	values := []struct {
		name string
		v    any
	}{
		{"URL by value", pkg},
		{"URL pointer", &pkg},
		{"struct holding a URL", holder{Name: "pkg", Link: pkg}},
		{"struct holding a URL pointer", pointerHolder{Link: &pkg, N: 1}},
		{"pointer to a struct holding a URL", &holder{Name: "pkg", Link: pkg}},
		{"nested struct", nested{Inner: holder{Link: pkg}}},
		{"slice of URLs", []url.URL{pkg, pkg}},
		{"map of URLs", map[string]url.URL{"pkg": pkg}},
	}
	for _, format := range []string{"json", "text"} {
		for _, tc := range values {
			t.Run(format+"/"+tc.name, func(t *testing.T) {
				var buf bytes.Buffer
				l, err := NewLogger(&buf, "debug", format)
				if err != nil {
					t.Fatal(err)
				}
				l.Info("fetch", "link", tc.v)
				l.With("link", tc.v).Info("with")
				out := buf.String()
				if strings.Count(out, "\n") != 2 {
					t.Fatalf("want two lines, got: %s", out)
				}
				if strings.Contains(out, secret) {
					t.Errorf("query or fragment survived: %s", out)
				}
				if !strings.Contains(out, Redacted) {
					t.Errorf("no %s marker in: %s", Redacted, out)
				}
				if !strings.Contains(out, "acct.blob.core.windows.net") {
					t.Errorf("the host is gone too: %s", out)
				}
			})
		}
	}
}

// net/http writes its own messages (here a handler panic carrying a package
// link) to Server.ErrorLog; built with HTTPErrorLog they are redacted too.
func TestHTTPErrorLogRedacts(t *testing.T) {
	const secret = "sig=c2VjcmV0LXNhcy1zaWc"
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			var buf syncWriter
			l, err := NewLogger(&buf, "info", format, signingSecret)
			if err != nil {
				t.Fatal(err)
			}
			ts := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
				panic("fetching https://acct.blob.core.windows.net/e/r1.zip?" + secret + " with " + signingSecret)
			}))
			ts.Config.ErrorLog = HTTPErrorLog(l)
			ts.Start()
			resp, err := ts.Client().Get(ts.URL)
			if err == nil {
				resp.Body.Close()
			}
			ts.Close() // returns after the handler's goroutine logged
			out := buf.String()
			if !strings.Contains(out, "panic serving") {
				t.Fatalf("net/http's message did not reach the logger: %q", out)
			}
			if strings.Contains(out, secret) || strings.Contains(out, signingSecret) {
				t.Errorf("secret survived in net/http's error log: %s", out)
			}
			if !strings.Contains(out, `WARN`) && !strings.Contains(out, `"level":"WARN"`) {
				t.Errorf("net/http's message is not at warn level: %s", out)
			}
		})
	}
}

// syncWriter is a bytes.Buffer safe for the server's goroutines.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
