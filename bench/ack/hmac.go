package main

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

// maxBody is the bot's cap on a Slack request body (bot.maxBody).
const maxBody = 64 << 10

// verify is Slack's v0 check as the bot does it (bot/verify.go): timestamp
// within 5 minutes, hex HMAC-SHA256 of "v0:{ts}:{body}", constant-time compare.
func verify(h http.Header, body []byte, secret string, now time.Time) error {
	sig, ts := h.Get("X-Slack-Signature"), h.Get("X-Slack-Request-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("bad timestamp")
	}
	if now.Sub(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		return errors.New("stale timestamp")
	}
	hexSig, ok := strings.CutPrefix(sig, "v0=")
	if !ok {
		return errors.New("bad signature format")
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return errors.New("bad signature format")
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + ts + ":"))
	mac.Write(body)
	if !hmac.Equal(mac.Sum(nil), got) {
		return errors.New("signature does not match")
	}
	return nil
}
