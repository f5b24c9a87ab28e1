package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mdebot/mdebot/bot/slackfake"
	"github.com/mdebot/mdebot/demo"
	"github.com/mdebot/mdebot/mde"
)

// benchToken is a bearer the fake Defender accepts besides the fake Entra's
// tokens, so the curl baseline can ask for package links itself.
const benchToken = "bench-curl-baseline-token"

// clock notes when the fake Slack saw each upload's bytes end and each share,
// stamped in the fake's callback, so the waits in this program do not count.
type clock struct {
	mu       sync.Mutex
	uploaded map[string]time.Time // file ID -> all bytes received at the upload URL
	shared   map[string]time.Time // file ID -> files.completeUploadExternal
}

func newClock() *clock {
	return &clock{uploaded: map[string]time.Time{}, shared: map[string]time.Time{}}
}

func (c *clock) onSlack(ev slackfake.Event) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	switch ev.Kind {
	case slackfake.EventUpload:
		c.uploaded[ev.Upload.FileID] = now
	case slackfake.EventFileShared:
		c.shared[ev.Upload.FileID] = now
	}
}

func (c *clock) times(fileID string) (uploaded, shared time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.uploaded[fileID], c.shared[fileID]
}

// botRun is one delivery through the bot.
type botRun struct {
	e2e      time.Duration // command sent -> file shared in the thread
	toLink   time.Duration // command sent -> getPackageUri answered (the fixed part: jobs, gather, limiter)
	transfer time.Duration // download request at Defender -> last byte at Slack's upload URL
	cpu      time.Duration // the bot process's CPU time for the whole request
}

// deliverThroughBot asks for action id's package in the upload channel and
// waits for the file to be shared, checking every byte arrived.
func deliverThroughBot(ctx context.Context, e *demo.Env, clk *clock, id string) (botRun, error) {
	e.MDE.AddAction(mde.MachineAction{ID: id, Type: mde.TypeCollectInvestigationPackage, MachineID: demo.MachineWS, Status: mde.StatusSucceeded})
	mark := e.Mark()
	start := time.Now()
	ack, err := e.Command(ctx, demo.Alice, demo.ChanUpload, "get "+id)
	if err != nil {
		return botRun{}, err
	}
	if ack.Status != http.StatusOK {
		return botRun{}, fmt.Errorf("command answered %d: %s", ack.Status, ack.Body)
	}
	name := "investigation-package-" + id + ".zip"
	ev, err := e.WaitAfter(ctx, mark, func(ev slackfake.Event) bool {
		switch {
		case ev.Kind == slackfake.EventFileShared:
			return ev.Upload.Filename == name
		case ev.Kind == slackfake.EventEphemeral && ev.Message.User == demo.Alice:
			// A fallback link or a failure ends the run too, as an error.
			t := ev.Message.Text + string(ev.Message.Blocks)
			return strings.Contains(t, id) && (strings.Contains(t, "failed") || strings.Contains(t, "here is the link"))
		}
		return false
	})
	if err != nil {
		return botRun{}, fmt.Errorf("waiting for the upload of %s: %w", name, err)
	}
	if ev.Kind != slackfake.EventFileShared {
		return botRun{}, fmt.Errorf("the bot did not upload: %s", ev.Message.Text)
	}
	if err := checkUpload(*ev.Upload, e); err != nil {
		return botRun{}, err
	}
	uploaded, shared := clk.times(ev.Upload.FileID)
	var linked, download time.Time
	for _, r := range e.MDE.Requests() {
		switch {
		case r.At.Before(start):
		case r.Path == "/api/machineactions/"+id+"/getPackageUri" && r.Status == http.StatusOK && linked.IsZero():
			linked = r.At
		case r.Path == "/safedownload/WDATP_Investigation_Package.zip" && !linked.IsZero() && download.IsZero():
			download = r.At
		}
	}
	if linked.IsZero() || download.IsZero() || uploaded.IsZero() || shared.IsZero() {
		return botRun{}, fmt.Errorf("missing a timestamp: link %v, download %v, uploaded %v, shared %v", linked, download, uploaded, shared)
	}
	return botRun{e2e: shared.Sub(start), toLink: linked.Sub(start), transfer: uploaded.Sub(download)}, nil
}

// pipelines are the curl baselines: the same bytes, same hosts, no bot.
var pipelines = []struct{ name, script string }{
	// The command. --data-binary @- reads all of stdin before sending.
	{"curl --data-binary @-", `curl -sS --fail "$1" | curl -sS --fail -X POST --data-binary @- -o /dev/null "$2"`},
	// Streaming (chunked) upload: the fairer baseline for a streaming bot.
	{"curl -T -", `curl -sS --fail "$1" | curl -sS --fail -X POST -T - -o /dev/null "$2"`},
	// The same work as the bot with the file evidence store: a copy on disk too.
	{"curl | tee FILE | curl -T -", `curl -sS --fail "$1" | tee "$3" | curl -sS --fail -X POST -T - -o /dev/null "$2"`},
}

// pipeThroughCurl fetches a package link and an upload URL from the fakes,
// then times script piping the package from one to the other. cpu is what
// the shell and both curls used (the shell's rusage includes its children).
func pipeThroughCurl(ctx context.Context, e *demo.Env, id, script string) (wall, cpu time.Duration, err error) {
	link, err := packageLink(ctx, e, id)
	if err != nil {
		return 0, 0, err
	}
	upload, fileID, err := uploadURL(ctx, e, "curl-"+id+".zip", e.MDE.PackageBytes())
	if err != nil {
		return 0, 0, err
	}
	tee, err := os.CreateTemp("", "mdebot-bench-tee-*.zip")
	if err != nil {
		return 0, 0, err
	}
	tee.Close()
	defer os.Remove(tee.Name())
	cmd := exec.CommandContext(ctx, "sh", "-c", script, "sh", link, upload, tee.Name())
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	err = cmd.Run()
	wall = time.Since(start)
	if err != nil {
		return 0, 0, fmt.Errorf("curl pipeline: %w: %s", err, stderr.String())
	}
	cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	for _, u := range e.Slack.Uploads() {
		if u.FileID == fileID {
			return wall, cpu, checkUpload(u, e)
		}
	}
	return 0, 0, fmt.Errorf("the fake Slack has no upload %s", fileID)
}

// packageLink calls getPackageUri for id as Defender's API is called.
func packageLink(ctx context.Context, e *demo.Env, id string) (string, error) {
	e.MDE.AddAction(mde.MachineAction{ID: id, Type: mde.TypeCollectInvestigationPackage, MachineID: demo.MachineWS, Status: mde.StatusSucceeded})
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.MDE.URL+"/api/machineactions/"+url.PathEscape(id)+"/getPackageUri", nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+benchToken)
	var body struct{ Value string }
	if err := doJSON(req, &body); err != nil {
		return "", fmt.Errorf("getPackageUri: %w", err)
	}
	// The documented answer quotes the URL inside the string.
	return strings.Trim(body.Value, `"`), nil
}

// uploadURL calls files.getUploadURLExternal on the fake Slack with the bot token.
func uploadURL(ctx context.Context, e *demo.Env, name string, size int64) (upload, fileID string, err error) {
	form := url.Values{"filename": {name}, "length": {strconv.FormatInt(size, 10)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.Slack.URL()+"files.getUploadURLExternal", strings.NewReader(form.Encode()))
	if err != nil {
		return "", "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+e.Slack.BotToken())
	var body struct {
		OK        bool   `json:"ok"`
		Error     string `json:"error"`
		UploadURL string `json:"upload_url"`
		FileID    string `json:"file_id"`
	}
	if err := doJSON(req, &body); err != nil {
		return "", "", fmt.Errorf("files.getUploadURLExternal: %w", err)
	}
	if !body.OK {
		return "", "", fmt.Errorf("files.getUploadURLExternal: %s", body.Error)
	}
	return body.UploadURL, body.FileID, nil
}

func doJSON(req *http.Request, v any) error {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, data)
	}
	return json.Unmarshal(data, v)
}

// checkUpload insists the upload holds exactly the package's bytes.
func checkUpload(u slackfake.Upload, e *demo.Env) error {
	if u.Received != e.MDE.PackageBytes() || u.SHA256 != e.MDE.PackageSHA256() {
		return fmt.Errorf("upload %s: %d bytes sha256 %s, the package is %d bytes sha256 %s",
			u.FileID, u.Received, u.SHA256, e.MDE.PackageBytes(), e.MDE.PackageSHA256())
	}
	return nil
}
