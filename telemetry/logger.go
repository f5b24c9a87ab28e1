package telemetry

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/url"
	"strings"
)

// NewLogger builds the process logger: a JSON or text handler at level
// (debug, info, warn, error) behind a redacting handler that removes the
// given secrets (signing secret, client secret, tokens, encryption key) and
// every credential Redact recognises from the message and all attributes.
func NewLogger(w io.Writer, level, format string, secrets ...string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	var inner slog.Handler
	switch strings.ToLower(format) {
	case "json":
		inner = slog.NewJSONHandler(w, opts)
	case "text":
		inner = slog.NewTextHandler(w, opts)
	default:
		return nil, fmt.Errorf("log format %q: want json or text", format)
	}
	return slog.New(NewRedactingHandler(inner, secrets...)), nil
}

// HTTPErrorLog is the ErrorLog for an http.Server: net/http's own messages
// (panics, TLS handshake and header errors) go through l's handler, so
// they are redacted like every other line, at warn level.
func HTTPErrorLog(l *slog.Logger) *log.Logger {
	return slog.NewLogLogger(l.Handler(), slog.LevelWarn)
}

// RedactingHandler rewrites records before its inner handler sees them.
type RedactingHandler struct {
	inner slog.Handler
	r     *redactor
}

// NewRedactingHandler wraps inner so that no secret reaches it.
func NewRedactingHandler(inner slog.Handler, secrets ...string) *RedactingHandler {
	return &RedactingHandler{inner: inner, r: newRedactor(secrets)}
}

// Enabled implements slog.Handler.
func (h *RedactingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

// Handle implements slog.Handler.
func (h *RedactingHandler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, h.r.redact(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.inner.Handle(ctx, out)
}

// WithAttrs implements slog.Handler; the attributes are redacted once, here.
func (h *RedactingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		clean[i] = h.attr(a)
	}
	return &RedactingHandler{inner: h.inner.WithAttrs(clean), r: h.r}
}

// WithGroup implements slog.Handler.
func (h *RedactingHandler) WithGroup(name string) slog.Handler {
	return &RedactingHandler{inner: h.inner.WithGroup(h.r.redact(name)), r: h.r}
}

func (h *RedactingHandler) attr(a slog.Attr) slog.Attr {
	a.Key = h.r.redact(a.Key)
	v := a.Value.Resolve() // LogValuer results are redacted like the rest
	switch v.Kind() {
	case slog.KindString:
		a.Value = slog.StringValue(h.r.redact(v.String()))
	case slog.KindGroup:
		group := v.Group()
		clean := make([]slog.Attr, len(group))
		for i, g := range group {
			clean[i] = h.attr(g)
		}
		a.Value = slog.GroupValue(clean...)
	case slog.KindAny:
		a.Value = h.any(v.Any())
	default: // numbers, bools, times and durations hold no secrets
		a.Value = v
	}
	return a
}

// any renders values the inner handler would format itself, so that their
// text can be redacted: errors and Stringers as their text; other values are
// kept unless their JSON form holds something to redact, in which case the
// redacted text replaces them.
func (h *RedactingHandler) any(v any) slog.Value {
	switch x := v.(type) {
	case nil:
		return slog.AnyValue(nil)
	case error:
		return slog.StringValue(h.r.redact(x.Error()))
	case url.URL: // String has a pointer receiver: a URL held by value is no Stringer
		return slog.StringValue(h.r.redact(x.String()))
	case fmt.Stringer:
		return slog.StringValue(h.r.redact(x.String()))
	case []byte:
		return slog.StringValue(h.r.redact(string(x)))
	}
	if b, err := json.Marshal(v); err == nil {
		if text := string(b); h.r.redact(text) != text {
			return slog.StringValue(h.r.redact(text))
		}
	}
	// fmt shows what JSON hides (unexported fields) and is what the text handler prints.
	if text := fmt.Sprintf("%+v", v); h.r.redact(text) != text {
		return slog.StringValue(h.r.redact(text))
	}
	return slog.AnyValue(v)
}
