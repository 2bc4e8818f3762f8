package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"dstor/shared/choose"
	"dstor/shared/cid"
	"dstor/shared/httpblob"
	"dstor/shared/registry"
	"dstor/shared/wire"
)

// handleRead is GET/HEAD /ipfs/{cid}: redirect to the best node for the
// client's region, or with ?redirect=0 proxy the bytes.
func (g *Gateway) handleRead(w http.ResponseWriter, r *http.Request) {
	id, pin, ok := g.cachedPinOf(w, r)
	if !ok {
		return
	}
	region, how := g.clientRegion(r)
	if r.URL.Query().Get("redirect") == "0" {
		g.proxy(w, r, id, pin, region)
		return
	}
	c, ok := g.currentView().ReaderFor(region, pin.key, pin.isHolder)
	if !ok {
		g.metrics.noNode.Add(1)
		writeError(w, http.StatusServiceUnavailable, "no live node can serve "+id.String())
		return
	}
	g.metrics.redirect(c, how)
	h := w.Header()
	loc := c.Node.URL + "/ipfs/" + id.String()
	if r.URL.RawQuery != "" {
		q := r.URL.Query()
		q.Del("redirect")
		if len(q) > 0 {
			loc += "?" + q.Encode()
		}
	}
	h["Location"] = []string{loc}
	h["X-Dstor-Node"] = []string{c.Node.ID}
	h["X-Dstor-Region"] = []string{c.Region}
	h["X-Dstor-Score"] = []string{strconv.FormatFloat(c.Score, 'f', 4, 64)}
	h["X-Dstor-Client-Region"] = []string{region + ";" + how}
	h["Cache-Control"] = noStore
	w.WriteHeader(http.StatusTemporaryRedirect)
}

var noStore = []string{"no-store"}

// proxy serves the blob itself from the best live holder, for clients
// that cannot follow redirects.
func (g *Gateway) proxy(w http.ResponseWriter, r *http.Request, id cid.CID, pin *cachedPin, region string) {
	var best nodeState
	bestScore := -1.0
	for hid := range pin.pinned {
		n, ok := g.nodes.get(hid)
		if !ok || !n.up || n.standing == registry.NodeDisqualified {
			continue
		}
		cn := chooseNode(&n)
		score := choose.Score(&cn)
		if n.suspect {
			score /= 100 // only when no holder answers its probes
		}
		if n.Region == region {
			score *= 2 // same region first, as for redirects
		}
		if score > bestScore {
			best, bestScore = n, score
		}
	}
	if bestScore < 0 {
		writeError(w, http.StatusServiceUnavailable, "no live holder of "+id.String())
		return
	}
	w.Header().Set("X-Dstor-Node", best.ID)
	src := &nodeSource{ctx: r.Context(), client: g.client, t: best.target(), id: id, size: pin.info.Size}
	_, err := httpblob.Serve(w, r, id, pin.info.Size, src)
	g.nodes.request(best.ID, err == nil || r.Context().Err() != nil)
	if err != nil {
		writeError(w, http.StatusBadGateway, "read from node "+best.ID+": "+err.Error())
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

// cachedPinOf is pinOf through the pin cache, for reads.
func (g *Gateway) cachedPinOf(w http.ResponseWriter, r *http.Request) (cid.CID, *cachedPin, bool) {
	id, err := cid.Parse(r.PathValue("cid"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return id, nil, false
	}
	pin, err := g.pins.get(r.Context(), g.reg, id.String())
	if errors.Is(err, registry.ErrNotFound) {
		writeError(w, http.StatusNotFound, "no pin for "+id.String())
		return id, nil, false
	} else if err != nil {
		writeError(w, http.StatusServiceUnavailable, "registry unavailable")
		return id, nil, false
	}
	return id, pin, true
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
