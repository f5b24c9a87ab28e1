package mde

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// wireAction decodes a machine action, accepting both spellings of the last
// update time (the docs' examples write lastUpdateTimeUtc).
type wireAction struct {
	MachineAction
	LastUpdateTimeUtc *time.Time `json:"lastUpdateTimeUtc"`
}

func (w *wireAction) action() MachineAction {
	a := w.MachineAction
	if a.LastUpdateDateTimeUtc.IsZero() && w.LastUpdateTimeUtc != nil {
		a.LastUpdateDateTimeUtc = *w.LastUpdateTimeUtc
	}
	return a
}

// GetMachineAction returns an action by ID (GET /api/machineactions/{id}).
func (c *Client) GetMachineAction(ctx context.Context, ts TokenSource, id string) (*MachineAction, error) {
	const ep = "getMachineAction"
	if err := ValidateActionID(id); err != nil {
		return nil, withEndpoint(err, ep)
	}
	r, err := c.call(ctx, ts, ep, http.MethodGet, "/api/machineactions/"+pathID(id), "", nil, true)
	if err != nil {
		return nil, err
	}
	return decodeAction(ep, r)
}

// GetPackageURI asks for the package link of a succeeded collection (GET
// /api/machineactions/{id}/getPackageUri). It is never repeated here: every
// attempt counts against the 2/min budget the caller's limiter manages. A
// 404 means not complete yet (KindNotReady); a 429 is KindRateLimited with
// RetryAfter. The link must be https (http only on loopback) on an allowed
// download host, or the result is KindRefusedURL.
func (c *Client) GetPackageURI(ctx context.Context, ts TokenSource, id string) (PackageURL, error) {
	const ep = "getPackageUri"
	if err := ValidateActionID(id); err != nil {
		return PackageURL{}, withEndpoint(err, ep)
	}
	r, err := c.call(ctx, ts, ep, http.MethodGet, "/api/machineactions/"+pathID(id)+"/getPackageUri", "", nil, false)
	if err != nil {
		return PackageURL{}, notFoundIsNotReady(err)
	}
	return c.parseLink(ep, r)
}

// parseLink reads a {"value": "<url>"} answer (getPackageUri,
// GetLiveResponseResultDownloadLink). The link must be https (http only on
// loopback) on an allowed download host, or the result is KindRefusedURL;
// no message ever holds the link's query string.
func (c *Client) parseLink(ep string, r *apiReply) (PackageURL, error) {
	var body struct {
		Value *string `json:"value"`
	}
	if err := decode(ep, r, &body); err != nil {
		return PackageURL{}, err
	}
	if body.Value == nil || strings.TrimSpace(*body.Value) == "" {
		return PackageURL{}, &Error{Kind: KindInvalidResponse, Endpoint: ep, HTTPStatus: r.status, Message: "answer has no download link"}
	}
	v := strings.TrimSpace(*body.Value)
	// getPackageUri's documented example wraps the link in one pair of escaped quotes.
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	u, err := url.Parse(v)
	if err != nil {
		// url's own error would quote the link, credential included.
		return PackageURL{}, &Error{Kind: KindRefusedURL, Endpoint: ep, HTTPStatus: r.status, Message: "download link is not a URL"}
	}
	if err := checkPackageURL(u, c.downloadHosts); err != nil {
		return PackageURL{}, &Error{Kind: KindRefusedURL, Endpoint: ep, HTTPStatus: r.status, Message: err.Error()}
	}
	return NewPackageURL(u), nil
}

// notFoundIsNotReady turns a 404 into KindNotReady: Defender answers 404 for
// a result asked before the action completed.
func notFoundIsNotReady(err error) error {
	if e, ok := err.(*Error); ok && e.Kind == KindNotFound {
		nr := *e
		nr.Kind = KindNotReady
		return &nr
	}
	return err
}

// ListMachineActions lists actions matching an OData filter (GET
// /api/machineactions?$filter=...); an empty filter lists them all.
func (c *Client) ListMachineActions(ctx context.Context, ts TokenSource, filter string) ([]MachineAction, error) {
	const ep = "listMachineActions"
	r, err := c.call(ctx, ts, ep, http.MethodGet, "/api/machineactions", filterQuery(filter), nil, true)
	if err != nil {
		return nil, err
	}
	var body struct {
		Value []wireAction `json:"value"`
	}
	if err := decode(ep, r, &body); err != nil {
		return nil, err
	}
	out := make([]MachineAction, 0, len(body.Value))
	for i := range body.Value {
		out = append(out, body.Value[i].action())
	}
	return out, nil
}

// defaultComment is sent when the caller gives none: Defender requires one.
const defaultComment = "Investigation package requested with mdebot"

// CollectInvestigationPackage starts a collection on a device (POST
// /api/machines/{id}/collectInvestigationPackage). Not repeated: it is not
// idempotent. A collection already running is KindAlreadyRunning.
func (c *Client) CollectInvestigationPackage(ctx context.Context, ts TokenSource, machineID, comment string) (*MachineAction, error) {
	const ep = "collectInvestigationPackage"
	if err := ValidateMachineID(machineID); err != nil {
		return nil, withEndpoint(err, ep)
	}
	if strings.TrimSpace(comment) == "" {
		comment = defaultComment
	}
	// Defender's parameter names are case-sensitive: "Comment".
	body, err := json.Marshal(struct {
		Comment string `json:"Comment"`
	}{comment})
	if err != nil {
		return nil, fmt.Errorf("mde %s: encoding body: %w", ep, err)
	}
	r, err := c.call(ctx, ts, ep, http.MethodPost, "/api/machines/"+pathID(machineID)+"/collectInvestigationPackage", "", body, false)
	if err != nil {
		return nil, err
	}
	return decodeAction(ep, r)
}

// ODataQuote makes s an OData string literal: single quotes doubled, wrapped in '...'.
func ODataQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// ActiveCollectionFilter selects the device's collections still running.
func ActiveCollectionFilter(machineID string) string {
	return activeFilter(machineID, TypeCollectInvestigationPackage)
}

// ActiveLiveResponseFilter selects the device's live response sessions still
// open (Pending or InProgress): Defender allows one per device.
func ActiveLiveResponseFilter(machineID string) string {
	return activeFilter(machineID, TypeLiveResponse)
}

func activeFilter(machineID, typ string) string {
	return "machineId eq " + ODataQuote(machineID) +
		" and type eq " + ODataQuote(typ) +
		" and (status eq " + ODataQuote(StatusPending) + " or status eq " + ODataQuote(StatusInProgress) + ")"
}

// filterQuery is the raw query for an OData $filter, spaces as %20 (not '+',
// which OData servers may read literally).
func filterQuery(filter string) string {
	if filter == "" {
		return ""
	}
	return "$filter=" + strings.ReplaceAll(url.QueryEscape(filter), "+", "%20")
}

// decodeAction parses one MachineAction answer, which must carry an id.
func decodeAction(ep string, r *apiReply) (*MachineAction, error) {
	var w wireAction
	if err := decode(ep, r, &w); err != nil {
		return nil, err
	}
	if w.ID == "" {
		return nil, &Error{Kind: KindInvalidResponse, Endpoint: ep, HTTPStatus: r.status, Message: "answer has no action id"}
	}
	a := w.action()
	return &a, nil
}
