package bot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"

	"github.com/slack-go/slack"

	"github.com/mdebot/mdebot/handlers"
)

// msgOptions renders m for chat.* calls: blocks, the plain text fallback and
// unfurling off (links may be short-lived package URLs: no previews, ever).
// keepBlocks sends "blocks=[]" for an empty render, which clears old buttons on update.
func msgOptions(m handlers.Message, keepBlocks bool) []slack.MsgOption {
	opts := []slack.MsgOption{
		slack.MsgOptionText(fallbackText(m), false),
		slack.MsgOptionDisableLinkUnfurl(),
		slack.MsgOptionDisableMediaUnfurl(),
	}
	if blocks := renderBlocks(m); len(blocks) > 0 || keepBlocks {
		opts = append(opts, slack.MsgOptionBlocks(blocks...))
	}
	return opts
}

// Private shows msg to one user: chat.postEphemeral in the channel, else a
// response_url post, else a DM. It fails only when all three failed.
func (s *Slack) Private(ctx context.Context, to handlers.Recipient, msg handlers.Message) error {
	var errs []error
	if to.Channel != "" && to.User != "" {
		err := s.call(ctx, "chat.postEphemeral", func(ctx context.Context) error {
			_, err := s.client.PostEphemeralContext(ctx, to.Channel, to.User, msgOptions(msg, false)...)
			return err
		})
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		s.log.Info("ephemeral message failed; falling back", "channel", to.Channel, "user", to.User, "err", err)
		errs = append(errs, err)
	}
	if to.ResponseURL != "" {
		err := postResponseURL(ctx, s.http, s.hosts, to.ResponseURL, msg)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		if errors.Is(err, ErrCallbackRefused) {
			s.log.Warn("response_url refused, not contacted; falling back to a DM", "host", callbackHost(to.ResponseURL), "user", to.User, "err", err)
		} else {
			s.log.Info("response_url post failed; falling back to a DM", "user", to.User, "err", err)
		}
		errs = append(errs, err)
	}
	if to.User == "" {
		return errors.Join(append(errs, errors.New("private message: no user to write to"))...)
	}
	err := s.DM(ctx, to.Team, to.User, msg)
	if err == nil {
		return nil
	}
	return fmt.Errorf("private message to %s: %w", to.User, errors.Join(append(errs, err)...))
}

// DM sends msg as a direct message (conversations.open + chat.postMessage).
// The bot token belongs to one workspace, so team is informational.
func (s *Slack) DM(ctx context.Context, team, user string, msg handlers.Message) error {
	ch, err := s.dmChannel(ctx, user)
	if err != nil {
		return err
	}
	_, err = s.Post(ctx, ch, "", msg)
	return err
}

// dmChannel opens (or finds) the direct message channel with user.
func (s *Slack) dmChannel(ctx context.Context, user string) (string, error) {
	if user == "" {
		return "", errors.New("DM: no user")
	}
	var ch *slack.Channel
	err := s.call(ctx, "conversations.open", func(ctx context.Context) error {
		var err error
		ch, _, _, err = s.client.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{user}})
		return err
	})
	if err != nil {
		return "", err
	}
	if ch == nil || ch.ID == "" {
		return "", errors.New("slack conversations.open: no channel returned")
	}
	return ch.ID, nil
}

// Post posts msg in a channel (in the thread of threadTS when set) and returns its ts.
func (s *Slack) Post(ctx context.Context, channel, threadTS string, msg handlers.Message) (string, error) {
	opts := msgOptions(msg, false)
	if threadTS != "" {
		opts = append(opts, slack.MsgOptionTS(threadTS))
	}
	var ts string
	err := s.call(ctx, "chat.postMessage", func(ctx context.Context) error {
		var err error
		_, ts, err = s.client.PostMessageContext(ctx, channel, opts...)
		return err
	})
	return ts, err
}

// Update replaces the message at ts (its buttons go unless msg has some).
func (s *Slack) Update(ctx context.Context, channel, ts string, msg handlers.Message) error {
	return s.call(ctx, "chat.update", func(ctx context.Context) error {
		_, _, _, err := s.client.UpdateMessageContext(ctx, channel, ts, msgOptions(msg, true)...)
		return err
	})
}

// Upload streams f.Body into the channel thread with Slack's external upload:
// files.getUploadURLExternal (exact length), the bytes to upload_url, then
// files.completeUploadExternal with channel_id and thread_ts. These are the
// steps of slack-go's UploadFileContext, called one by one so that the two Web
// API calls wait out 429s while the byte stream, which cannot be replayed, is
// sent once. One attempt in all: the caller retries with a fresh body.
func (s *Slack) Upload(ctx context.Context, f handlers.Upload) error {
	if f.Channel == "" && f.ToUser != "" {
		ch, err := s.dmChannel(ctx, f.ToUser)
		if err != nil {
			return err
		}
		f.Channel = ch
	}
	switch {
	case f.Size <= 0:
		return fmt.Errorf("upload %q: size must be the exact byte length of the file, got %d", f.Filename, f.Size)
	case f.Size > math.MaxInt:
		return fmt.Errorf("upload %q: size %d too large for this platform", f.Filename, f.Size)
	case f.Body == nil:
		return fmt.Errorf("upload %q: no body", f.Filename)
	case f.Filename == "":
		return errors.New("upload: no filename")
	case f.Channel == "":
		// Without channel_id Slack keeps the file private to the bot.
		return fmt.Errorf("upload %q: no channel", f.Filename)
	}
	var u *slack.GetUploadURLExternalResponse
	err := s.call(ctx, "files.getUploadURLExternal", func(ctx context.Context) error {
		var err error
		u, err = s.client.GetUploadURLExternalContext(ctx, slack.GetUploadURLExternalParameters{
			FileName: f.Filename,
			FileSize: int(f.Size),
		})
		return err
	})
	if err != nil {
		return err
	}
	if err := s.hosts.check(u.UploadURL); err != nil {
		s.log.Warn("upload_url refused, not contacted", "host", callbackHost(u.UploadURL), "file", f.Filename, "err", err)
		return fmt.Errorf("slack upload of %q: upload_url: %w", f.Filename, err)
	}
	if err := s.postBytes(ctx, u.UploadURL, f.Body, f.Size); err != nil {
		return fmt.Errorf("slack upload of %q: %w", f.Filename, withoutURL(err))
	}
	title := f.Title
	if title == "" {
		title = f.Filename
	}
	return s.call(ctx, "files.completeUploadExternal", func(ctx context.Context) error {
		_, err := s.client.CompleteUploadExternalContext(ctx, slack.CompleteUploadExternalParameters{
			Files:           []slack.FileSummary{{ID: u.FileID, Title: title}},
			Channel:         f.Channel,
			ThreadTimestamp: f.ThreadTS,
			InitialComment:  f.Comment,
		})
		return err
	})
}

// postBytes sends the file to upload_url as raw bytes with their exact
// Content-Length, the form Slack documents beside multipart. slack-go's
// UploadToURL always builds a multipart body through an io.Pipe, which hands
// the stream over 32 KiB at a time between two goroutines; the raw body goes
// from the package reader to the socket with nothing in between.
func (s *Slack) postBytes(ctx context.Context, uploadURL string, r io.Reader, size int64) error {
	body := &exactReader{r: r, want: size}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, uploadURL, body)
	if err != nil {
		return err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := s.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if body.n != size {
		return body.lengthErr()
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("upload_url answered %s", resp.Status)
	}
	return nil
}

// exactReader fails the stream when the body is not exactly the declared
// size: Slack would otherwise fail opaquely, or store a truncated file.
type exactReader struct {
	r    io.Reader
	want int64
	n    int64
}

func (e *exactReader) Read(p []byte) (int, error) {
	if room := e.want - e.n + 1; int64(len(p)) > room {
		p = p[:room] // read at most one byte past the end, to detect it
	}
	n, err := e.r.Read(p)
	e.n += int64(n)
	if e.n > e.want {
		return n, fmt.Errorf("body is longer than the declared %d bytes", e.want)
	}
	if errors.Is(err, io.EOF) && e.n < e.want {
		return n, e.lengthErr()
	}
	return n, err
}

func (e *exactReader) lengthErr() error {
	if e.n > e.want {
		return fmt.Errorf("body is longer than the declared %d bytes", e.want)
	}
	return fmt.Errorf("body ended after %d of the declared %d bytes", e.n, e.want)
}
