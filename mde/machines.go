package mde

import (
	"context"
	"net/http"
	"strings"
)

// FindMachine looks a device up by what an analyst typed: a 40-hex device ID
// (GET /api/machines/{id}), an FQDN (computerDnsName eq), or a short host name
// (computerDnsName eq, or startswith 'name.'). It returns every match, for the
// caller to decide what ambiguous means; no match is *Error KindNotFound.
func (c *Client) FindMachine(ctx context.Context, ts TokenSource, query string) ([]Machine, error) {
	query = strings.TrimSpace(query)
	if ValidateMachineID(query) == nil {
		const ep = "getMachine"
		r, err := c.call(ctx, ts, ep, http.MethodGet, "/api/machines/"+pathID(query), "", nil, true)
		if err != nil {
			return nil, err
		}
		var m Machine
		if err := decode(ep, r, &m); err != nil {
			return nil, err
		}
		if m.ID == "" {
			return nil, &Error{Kind: KindInvalidResponse, Endpoint: ep, HTTPStatus: r.status, Message: "answer has no device id"}
		}
		return []Machine{m}, nil
	}
	const ep = "listMachines"
	if err := ValidateHostname(query); err != nil {
		return nil, withEndpoint(err, ep)
	}
	// Defender shows computerDnsName in lower case; DNS names ignore case.
	name := strings.ToLower(query)
	filter := "computerDnsName eq " + ODataQuote(name)
	if !strings.Contains(name, ".") {
		filter += " or startswith(computerDnsName," + ODataQuote(name+".") + ")"
	}
	r, err := c.call(ctx, ts, ep, http.MethodGet, "/api/machines", filterQuery(filter), nil, true)
	if err != nil {
		return nil, err
	}
	var body struct {
		Value []Machine `json:"value"`
	}
	if err := decode(ep, r, &body); err != nil {
		return nil, err
	}
	if len(body.Value) == 0 {
		return nil, &Error{Kind: KindNotFound, Endpoint: ep, Message: "no device named " + quoteInput(query) + " in Defender"}
	}
	return body.Value, nil
}
