package bot

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/mdebot/mdebot/bot/slackfake"
)

// Slack's documented example (api.slack.com/authentication/verifying-requests-from-slack).
const (
	docSecret    = "8f742231b10e8888abcd99yyyzzz85a5"
	docTimestamp = 1531420618
	docBody      = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	docSignature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
)

func docHeader() http.Header {
	h := http.Header{}
	h.Set("X-Slack-Request-Timestamp", "1531420618")
	h.Set("X-Slack-Signature", docSignature)
	return h
}

func TestVerifySignatureSlackExample(t *testing.T) {
	at := time.Unix(docTimestamp, 0)
	if err := verifySignature(docHeader(), []byte(docBody), docSecret, at.Add(30*time.Second)); err != nil {
		t.Fatalf("Slack's documented example refused with the clock at its time: %v", err)
	}
	if err := verifySignature(docHeader(), []byte(docBody), docSecret, time.Now()); !errors.Is(err, errStale) {
		t.Fatalf("Slack's documented example with the real clock: got %v, want %v", err, errStale)
	}
}

func TestVerifySignature(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	body := []byte("team_id=T1&text=status+abc")
	signed := func(secret string, at time.Time, b []byte) http.Header {
		ts, sig := slackfake.Sign(secret, at, b)
		h := http.Header{}
		h.Set("X-Slack-Request-Timestamp", ts)
		h.Set("X-Slack-Signature", sig)
		return h
	}
	tests := []struct {
		name   string
		header http.Header
		body   []byte
		secret string
		want   error
	}{
		{"valid", signed(testSecret, now, body), body, testSecret, nil},
		{"valid at the edge of the window", signed(testSecret, now.Add(-maxSkew), body), body, testSecret, nil},
		{"forged with another secret", signed("other", now, body), body, testSecret, errForged},
		{"tampered body", signed(testSecret, now, body), []byte("team_id=T1&text=collect+evil"), testSecret, errForged},
		{"stale", signed(testSecret, now.Add(-maxSkew-time.Second), body), body, testSecret, errStale},
		{"from the future", signed(testSecret, now.Add(maxSkew+time.Second), body), body, testSecret, errStale},
		{"unsigned", http.Header{}, body, testSecret, errUnsigned},
		{"no secret configured", signed("", now, body), body, "", errNoSecret},
		{"timestamp not a number", func() http.Header {
			h := signed(testSecret, now, body)
			h.Set("X-Slack-Request-Timestamp", "soon")
			return h
		}(), body, testSecret, errBadFormat},
		{"unknown version", func() http.Header {
			h := signed(testSecret, now, body)
			h.Set("X-Slack-Signature", "v1="+h.Get("X-Slack-Signature")[3:])
			return h
		}(), body, testSecret, errBadFormat},
		{"not hex", func() http.Header {
			h := signed(testSecret, now, body)
			h.Set("X-Slack-Signature", "v0=zz")
			return h
		}(), body, testSecret, errBadFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := verifySignature(tt.header, tt.body, tt.secret, now)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

// The fake's signer and slack-go's verifier agree: both follow Slack's algorithm.
func TestSignAgreesWithSlackGo(t *testing.T) {
	body := []byte("team_id=T1&text=help")
	ts, sig := slackfake.Sign(testSecret, time.Now(), body)
	h := http.Header{}
	h.Set("X-Slack-Request-Timestamp", ts)
	h.Set("X-Slack-Signature", sig)
	v, err := slack.NewSecretsVerifier(h, testSecret)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := v.Ensure(); err != nil {
		t.Fatalf("slack-go refuses the fake's signature: %v", err)
	}
	if err := verifySignature(h, body, testSecret, time.Now()); err != nil {
		t.Fatalf("verifySignature refuses what slack-go accepts: %v", err)
	}
}
