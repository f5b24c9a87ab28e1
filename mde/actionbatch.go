package mde

import (
	"context"
	"errors"
	"net/http"
	"strings"
)

// Bounds of one ListMachineActionsByID request.
const (
	// MaxIDsPerFilter is the most ids one $filter names.
	MaxIDsPerFilter = 50
	// MaxFilterQuery bounds a filter's query string in bytes: IIS, which
	// fronts many Microsoft APIs, refuses longer ones by default.
	MaxFilterQuery = 2048
)

// ListMachineActionsByID returns the current state of many actions in few
// calls: GET /api/machineactions?$filter=id eq 'a' or id eq 'b' ..., at most
// MaxIDsPerFilter ids and MaxFilterQuery bytes of query per call. Every id
// is validated first (a GUID or 40 hex characters; nothing else reaches the
// filter). Duplicates are asked once. The map is keyed by the ids as given;
// an id missing from it is not known to Defender (yet: a just-created action
// can briefly be invisible).
//
// When Defender answers 400 to an id filter, the rest are asked one by one
// (GET /api/machineactions/{id}, a 404 leaving the id out) and the client
// keeps doing so for its lifetime. On another error the map holds what was
// learned before it.
func (c *Client) ListMachineActionsByID(ctx context.Context, ts TokenSource, ids []string) (map[string]MachineAction, error) {
	const ep = "listMachineActions"
	asked := make(map[string]string, len(ids)) // lower-case id -> id as given
	var uniq []string
	for _, id := range ids {
		if err := ValidateActionID(id); err != nil {
			return nil, withEndpoint(err, ep)
		}
		if _, dup := asked[strings.ToLower(id)]; !dup {
			asked[strings.ToLower(id)] = id
			uniq = append(uniq, id)
		}
	}
	out := make(map[string]MachineAction, len(uniq))
	rest := uniq
	for len(rest) > 0 && !c.idFilterRefused.Load() {
		filter, n := idFilter(rest)
		actions, err := c.ListMachineActions(ctx, ts, filter)
		var me *Error
		switch {
		case errors.As(err, &me) && me.HTTPStatus == http.StatusBadRequest:
			c.idFilterRefused.Store(true)
			c.log.WarnContext(ctx, "Defender refused an id filter; asking for actions one by one from now on", "err", err)
			continue
		case err != nil:
			return out, err
		}
		for _, a := range actions {
			if id, ok := asked[strings.ToLower(a.ID)]; ok {
				out[id] = a
			}
		}
		rest = rest[n:]
	}
	for _, id := range rest {
		a, err := c.GetMachineAction(ctx, ts, id)
		var me *Error
		switch {
		case errors.As(err, &me) && me.Kind == KindNotFound:
		case err != nil:
			return out, err
		default:
			out[id] = *a
		}
	}
	return out, nil
}

// idFilter is the $filter naming the longest prefix of ids (already
// validated) that fits one request, and that prefix's length (at least 1).
func idFilter(ids []string) (string, int) {
	var b strings.Builder
	n := 0
	for _, id := range ids {
		if n == MaxIDsPerFilter {
			break
		}
		clause := "id eq " + ODataQuote(id)
		if n > 0 {
			clause = " or " + clause
		}
		if n > 0 && len(filterQuery(b.String()+clause)) > MaxFilterQuery {
			break
		}
		b.WriteString(clause)
		n++
	}
	return b.String(), n
}
