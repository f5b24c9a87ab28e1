package mde

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Live response command statuses. Defender's example shows Created and
// Completed; the others are unverified. A caller decides on the action's
// Status (Succeeded, Failed, ...) and reads the commands for their errors.
const (
	CommandCreated    = "Created"
	CommandInProgress = "InProgress"
	CommandCompleted  = "Completed"
	CommandFailed     = "Failed"
)

// CommandGetFile is the live response command that fetches a file.
const CommandGetFile = "GetFile"

// LiveResponseCommand is one command of a LiveResponse action with its own
// status, as the action's commands array reports it.
type LiveResponseCommand struct {
	Index         int              `json:"index"`
	StartTime     *time.Time       `json:"startTime"` // null until the command starts
	EndTime       *time.Time       `json:"endTime"`
	CommandStatus string           `json:"commandStatus"`
	Errors        CommandErrorList `json:"errors"`
	Command       CommandDef       `json:"command"`
}

// CommandDef is a live response command as sent: its type (GetFile,
// RunScript, PutFile) and parameters. The request body spells these names
// in lower case.
type CommandDef struct {
	Type   string         `json:"type"`
	Params []CommandParam `json:"params"`
}

// CommandParam is one key/value parameter of a command (GetFile: Path).
type CommandParam struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// CommandErrorList are a command's error texts. Defender sends a list of strings;
// any other element is kept as its "message" or its JSON text rather than
// failing the whole action's decoding (the shape is unverified).
type CommandErrorList []string

// UnmarshalJSON reads a list (or one string) of errors; null is none.
func (e *CommandErrorList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*e = CommandErrorList{s}
		return nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make(CommandErrorList, 0, len(raw))
	for _, r := range raw {
		var s string
		var obj struct {
			Message *string `json:"message"`
		}
		switch {
		case json.Unmarshal(r, &s) == nil:
			out = append(out, s)
		case json.Unmarshal(r, &obj) == nil && obj.Message != nil:
			out = append(out, *obj.Message)
		default:
			var c bytes.Buffer
			if json.Compact(&c, r) != nil {
				return fmt.Errorf("command error %q is not JSON", r)
			}
			out = append(out, c.String())
		}
	}
	*e = out
	return nil
}

// CommandErrors returns the error texts of every command of a LiveResponse
// action, in command order (none for other types).
func (a *MachineAction) CommandErrors() []string {
	var out []string
	for _, c := range a.Commands {
		out = append(out, c.Errors...)
	}
	return out
}

// defaultLiveResponseComment is sent when the caller gives none.
const defaultLiveResponseComment = "File requested with mdebot (live response GetFile)"

// liveResponseBody is runliveresponse's request body. The outer names are
// capitalised, the command's are not: Defender's names are case-sensitive.
type liveResponseBody struct {
	Commands []CommandDef `json:"Commands"`
	Comment  string       `json:"Comment"`
}

// getFileBody is the exact body of a GetFile request, JSON-escaped by
// encoding/json (backslashes doubled), without HTML escaping so a path
// holding & < > is sent as typed.
func getFileBody(path, comment string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(liveResponseBody{
		Commands: []CommandDef{{Type: CommandGetFile, Params: []CommandParam{{Key: "Path", Value: path}}}},
		Comment:  comment,
	})
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), err
}

// RunLiveResponseGetFile starts a live response session fetching one file
// from a device (POST /api/machines/{id}/runliveresponse, as the requester;
// delegated scope Machine.LiveResponse). It answers a LiveResponse action
// whose Commands[0] is the GetFile; poll it like any action, then ask for
// GetLiveResponseResultDownloadLink(index 0). Not repeated (not idempotent;
// 10 calls/min). The machine ID and path are validated first (no request on
// bad input). A session already open on the device is KindSessionOpen; a
// 403 is KindForbidden naming the live response permission.
func (c *Client) RunLiveResponseGetFile(ctx context.Context, ts TokenSource, machineID, path, comment string) (*MachineAction, error) {
	const ep = endpointRunLiveResponse
	if err := ValidateMachineID(machineID); err != nil {
		return nil, withEndpoint(err, ep)
	}
	if err := ValidateLiveResponsePath(path); err != nil {
		return nil, withEndpoint(err, ep)
	}
	if strings.TrimSpace(comment) == "" {
		comment = defaultLiveResponseComment
	}
	body, err := getFileBody(path, comment)
	if err != nil {
		return nil, fmt.Errorf("mde %s: encoding body: %w", ep, err)
	}
	r, err := c.call(ctx, ts, ep, http.MethodPost, "/api/machines/"+pathID(machineID)+"/runliveresponse", "", body, false)
	if err != nil {
		return nil, err
	}
	return decodeAction(ep, r)
}

// endpointRunLiveResponse names runliveresponse in errors and to Observe;
// httpError words its 400 and 403 for live response.
const endpointRunLiveResponse = "runLiveResponse"

// GetLiveResponseResultDownloadLink asks for the result of command index of
// a completed LiveResponse action (GET /api/machineactions/{id}/
// GetLiveResponseResultDownloadLink(index=N); 100/min). The answer is a SAS
// URL on blob storage valid for about 30 minutes; each call makes a new one.
// Open it with OpenPackage (GetFile results are gzip). A 404 is KindNotReady;
// a link off the allowed download hosts is KindRefusedURL.
func (c *Client) GetLiveResponseResultDownloadLink(ctx context.Context, ts TokenSource, actionID string, index int) (ResultURL, error) {
	const ep = "getLiveResponseResultDownloadLink"
	if err := ValidateActionID(actionID); err != nil {
		return ResultURL{}, withEndpoint(err, ep)
	}
	if index < 0 {
		return ResultURL{}, withEndpoint(invalidInput("Command index %d is negative.", index), ep)
	}
	p := "/api/machineactions/" + pathID(actionID) + "/GetLiveResponseResultDownloadLink(index=" + strconv.Itoa(index) + ")"
	r, err := c.call(ctx, ts, ep, http.MethodGet, p, "", nil, true)
	if err != nil {
		return ResultURL{}, notFoundIsNotReady(err)
	}
	return c.parseLink(ep, r)
}
