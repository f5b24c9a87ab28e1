package bot

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxSkew is Slack's replay window for signed requests.
const maxSkew = 5 * time.Minute

var (
	errNoSecret  = errors.New("no signing secret configured")
	errUnsigned  = errors.New("missing X-Slack-Signature or X-Slack-Request-Timestamp")
	errStale     = errors.New("request timestamp outside the 5-minute window")
	errBadFormat = errors.New("malformed signature or timestamp")
	errForged    = errors.New("signature does not match")
)

// verifySignature checks Slack's v0 request signature over the raw body:
// hex HMAC-SHA256 of "v0:{timestamp}:{body}" keyed with the signing secret,
// compared in constant time, with the timestamp within 5 minutes of now.
// It is slack-go's SecretsVerifier algorithm with an injectable clock.
func verifySignature(h http.Header, body []byte, secret string, now time.Time) error {
	if secret == "" {
		return errNoSecret
	}
	sig, ts := h.Get("X-Slack-Signature"), h.Get("X-Slack-Request-Timestamp")
	if sig == "" || ts == "" {
		return errUnsigned
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errBadFormat
	}
	if now.Sub(time.Unix(sec, 0)).Abs() > maxSkew {
		return errStale
	}
	hexSig, ok := strings.CutPrefix(sig, "v0=")
	if !ok {
		return errBadFormat
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return errBadFormat
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + ts + ":"))
	mac.Write(body)
	if !hmac.Equal(mac.Sum(nil), got) {
		return errForged
	}
	return nil
}
