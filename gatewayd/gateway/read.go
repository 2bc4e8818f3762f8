package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"time"

	"dstor/shared/choose"
	"dstor/shared/cid"
	"dstor/shared/httpblob"
	"dstor/shared/registry"
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
	g.date.Set(h)
	w.WriteHeader(http.StatusTemporaryRedirect)
}

var noStore = []string{"no-store"}

// proxy serves the blob itself from live holders, for clients that
// cannot follow redirects: the best first, the next ones if a holder
// fails before it sent a byte (a node killed since the last probe).
func (g *Gateway) proxy(w http.ResponseWriter, r *http.Request, id cid.CID, pin *cachedPin, region string) {
	type cand struct {
		n     nodeState
		score float64
	}
	var cands []cand
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
		cands = append(cands, cand{n, score})
	}
	if len(cands) == 0 {
		writeError(w, http.StatusServiceUnavailable, "no live holder of "+id.String())
		return
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].score > cands[j].score })
	src := &nodeSource{ctx: r.Context(), g: g, id: id, size: pin.info.Size}
	for _, c := range cands {
		src.targets = append(src.targets, c.n)
	}
	w.Header().Set("X-Dstor-Node", cands[0].n.ID)
	if _, err := httpblob.Serve(w, r, id, pin.info.Size, src); err != nil {
		writeError(w, http.StatusBadGateway, "read from holders: "+err.Error())
	}
}

// nodeSource reads ranges of a blob from holders over dstor/1, trying
// them in order until one sends the range. The nodes verify what they
// send against the blob's Bao tree.
type nodeSource struct {
	ctx     context.Context
	g       *Gateway
	targets []nodeState
	id      cid.CID
	size    int64
}

// A holder that fails part-way (killed, say) is not the reader's
// failure: the rest of the range comes from the next holder, and the
// blob's address makes the two parts one blob.
func (s *nodeSource) WriteRange(w io.Writer, off, n int64) error {
	var errs []error
	for _, t := range s.targets {
		cw := &countingWriter{w: w}
		err := s.from(t, cw, off, n)
		s.g.nodes.request(t.ID, err == nil || s.ctx.Err() != nil || cw.err != nil)
		if err == nil || s.ctx.Err() != nil || cw.err != nil {
			return err // done, or the reader is gone
		}
		if cw.n > 0 {
			s.g.log.Warn("holder failed part-way through a proxied read; the rest comes from the next", "cid", s.id, "node", t.ID, "sent", cw.n, "err", err)
		}
		off, n = off+cw.n, n-cw.n
		errs = append(errs, fmt.Errorf("%s: %w", t.ID, err))
	}
	return errors.Join(errs...)
}

func (s *nodeSource) from(t nodeState, w io.Writer, off, n int64) error {
	// A holder killed since its last probe must not hold the reader for
	// the wire's 30 s response timeout: 2 s to answer, and time for the
	// range at no less than 8 MB/s.
	ctx, cancel := context.WithTimeout(s.ctx, 2*time.Second+time.Duration(n/8e6)*time.Second)
	defer cancel()
	body, err := s.g.client.Get(ctx, t.target(), s.id, off, n)
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

// countingWriter counts what reached w, and keeps w's own error apart
// from the source's.
type countingWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countingWriter) Write(p []byte) (int, error) {
	k, err := c.w.Write(p)
	c.n += int64(k)
	if err != nil {
		c.err = err
	}
	return k, err
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
