package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"dstor/shared/cid"
	"dstor/shared/httpblob"
	"dstor/shared/registry"
	"dstor/shared/wire"
)

// handleRead is GET/HEAD /ipfs/{cid}: redirect to the best live node for
// the client's region, or with ?redirect=0 proxy the bytes.
func (g *Gateway) handleRead(w http.ResponseWriter, r *http.Request) {
	id, pin, ok := g.pinOf(w, r)
	if !ok {
		return
	}
	holders := make(map[string]bool, len(pin.Holders))
	for _, h := range pin.Holders {
		holders[h.NodeID] = true
	}
	region := g.clientRegion(r.RemoteAddr)
	live := g.nodes.live()
	if r.URL.Query().Get("redirect") == "0" {
		g.proxy(w, r, id, pin.Size, live, region, holders)
		return
	}
	n, ok := chooseReader(live, region, holders)
	if !ok {
		writeError(w, http.StatusServiceUnavailable, "no live node can serve "+id.String())
		return
	}
	h := w.Header()
	loc := n.URL + "/ipfs/" + id.String()
	if q := r.URL.Query(); len(q) > 0 {
		q.Del("redirect")
		if len(q) > 0 {
			loc += "?" + q.Encode()
		}
	}
	h.Set("Location", loc)
	h.Set("X-Dstor-Node", n.ID)
	h.Set("X-Dstor-Region", n.Region)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusTemporaryRedirect)
}

// proxy serves the blob itself from a live holder, for clients that cannot
// follow redirects.
func (g *Gateway) proxy(w http.ResponseWriter, r *http.Request, id cid.CID, size int64, live []nodeState, region string, holders map[string]bool) {
	var held []nodeState
	for _, n := range live {
		if holders[n.ID] {
			held = append(held, n)
		}
	}
	n, ok := chooseReader(held, region, holders)
	if !ok {
		writeError(w, http.StatusServiceUnavailable, "no live holder of "+id.String())
		return
	}
	w.Header().Set("X-Dstor-Node", n.ID)
	src := &nodeSource{ctx: r.Context(), client: g.client, t: n.target(), id: id, size: size}
	if _, err := httpblob.Serve(w, r, id, size, src); err != nil {
		writeError(w, http.StatusBadGateway, "read from node "+n.ID+": "+err.Error())
	}
}

// nodeSource reads ranges of a blob from a node over dstor/1. The node
// verifies what it sends against the blob's Bao tree.
type nodeSource struct {
	ctx    context.Context
	client *wire.Client
	t      wire.Target
	id     cid.CID
	size   int64
}

func (s *nodeSource) WriteRange(w io.Writer, off, n int64) error {
	body, err := s.client.Get(s.ctx, s.t, s.id, off, n)
	if err != nil {
		return err
	}
	defer body.Close()
	if body.Size != s.size || body.Length != n {
		return fmt.Errorf("node has %d bytes (%d in range), registry says %d", body.Size, body.Length, s.size)
	}
	_, err = io.Copy(w, body)
	return err
}

// handlePin is GET /v1/pins/{cid}.
func (g *Gateway) handlePin(w http.ResponseWriter, r *http.Request) {
	if _, pin, ok := g.pinOf(w, r); ok {
		writeJSON(w, http.StatusOK, pinResponse(pin))
	}
}

// pinOf parses the request's {cid} and looks up its pin, answering 400,
// 404 or 503 itself when it cannot.
func (g *Gateway) pinOf(w http.ResponseWriter, r *http.Request) (cid.CID, registry.PinInfo, bool) {
	id, err := cid.Parse(r.PathValue("cid"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return id, registry.PinInfo{}, false
	}
	pin, err := g.reg.Pin(r.Context(), id.String())
	if errors.Is(err, registry.ErrNotFound) {
		writeError(w, http.StatusNotFound, "no pin for "+id.String())
		return id, pin, false
	} else if err != nil {
		writeError(w, http.StatusServiceUnavailable, "registry unavailable")
		return id, pin, false
	}
	return id, pin, true
}

// handleNodes is GET /v1/nodes.
func (g *Gateway) handleNodes(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, g.nodesResponse())
}

func (g *Gateway) handleHealth(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if _, err := g.reg.Nodes(ctx); err != nil {
		writeError(w, http.StatusServiceUnavailable, "registry unavailable: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Write([]byte("ok live_nodes=" + strconv.Itoa(len(g.nodes.live())) + "\n"))
}
