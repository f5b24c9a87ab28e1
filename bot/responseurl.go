package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/mdebot/mdebot/handlers"
)

// postResponseURL posts msg privately to a Slack response_url (used exactly as
// given). The URL is not logged or put in errors: it lets anyone post into the
// channel for 30 minutes.
func postResponseURL(ctx context.Context, client *http.Client, responseURL string, msg handlers.Message) error {
	if responseURL == "" {
		return errors.New("no response_url")
	}
	body, err := json.Marshal(responseURLReply(msg))
	if err != nil {
		return fmt.Errorf("response_url: encoding message: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, responseURL, bytes.NewReader(body))
	if err != nil {
		return errors.New("response_url: invalid URL")
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("response_url: %w", withoutURL(err))
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("response_url: HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(text))
	}
	return nil
}

// withoutURL drops the URL from an HTTP client error: response and upload
// URLs are short-lived credentials and must not reach logs.
func withoutURL(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return fmt.Errorf("%s: %w", uerr.Op, uerr.Err)
	}
	return err
}
