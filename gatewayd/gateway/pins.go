package gateway

import (
	"net/http"
	"strconv"

	"dstor/shared/api"
	"dstor/shared/cid"
)

// authorize finds the account of the request's API key, or answers 401
// (or 503) itself.
func (g *Gateway) authorize(w http.ResponseWriter, r *http.Request) (string, bool) {
	acct, status, msg := g.account(r)
	if status != 0 {
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="dstor"`)
		}
		writeError(w, status, msg)
		return "", false
	}
	return acct, true
}

// handlePins is GET /v1/pins?after=CID&limit=N: the account's pins by
// CID, a page at a time (limit default 100, at most 1000); next is the
// after of the next page, empty on the last.
func (g *Gateway) handlePins(w http.ResponseWriter, r *http.Request) {
	acct, ok := g.authorize(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	after := q.Get("after")
	if after != "" {
		if _, err := cid.Parse(after); err != nil {
			writeError(w, http.StatusBadRequest, "after: "+err.Error())
			return
		}
	}
	limit := 100
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, "limit: want 1 to 1000, got "+strconv.Quote(s))
			return
		}
		limit = n
	}
	pins, err := g.reg.AccountPins(r.Context(), acct, after, limit)
	if g.registryError(w, err, "account") {
		return
	}
	out := api.PinsResponse{Pins: []api.AccountPin{}}
	for _, p := range pins {
		out.Pins = append(out.Pins, api.AccountPin{
			CID: p.CID, Size: p.Size, Status: p.Status, Replicas: p.Replicas, PinnedAt: timeText(p.PinnedAt),
		})
	}
	if len(pins) == limit {
		out.Next = pins[len(pins)-1].CID
	}
	writeJSON(w, http.StatusOK, out)
}

// handleUnpin is DELETE /v1/pins/{cid}: the account no longer pins the
// blob. When no account does, its copies are deleted after the unpin
// grace (auditd), unless it is pinned again first.
func (g *Gateway) handleUnpin(w http.ResponseWriter, r *http.Request) {
	acct, ok := g.authorize(w, r)
	if !ok {
		return
	}
	id, err := cid.Parse(r.PathValue("cid"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	orphaned, err := g.reg.Unpin(r.Context(), acct, id.String())
	if g.registryError(w, err, "pin of "+id.String()+" by this account") {
		return
	}
	g.pins.forget(id.String())
	writeJSON(w, http.StatusOK, api.UnpinResponse{CID: id.String(), Unpinned: true, PinnedByOthers: !orphaned})
}
