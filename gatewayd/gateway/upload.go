package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/zeebo/blake3"

	"dstor/shared/api"
	"dstor/shared/choose"
	"dstor/shared/cid"
	"dstor/shared/registry"
	"dstor/shared/wire"
)

// Upload tuning: the body moves in chunkSize pieces through nbuf buffers,
// so one upload holds at most nbuf*chunkSize bytes whatever its size.
const (
	chunkSize   = 1 << 20
	nbuf        = 4
	bodyIdle    = 30 * time.Second // a body that sends nothing this long is cut off
	nodeStall   = 10 * time.Second // a node that takes no bytes this long fails the upload
	openTimeout = 5 * time.Second
)

// account authenticates the Bearer API key.
func (g *Gateway) account(r *http.Request) (string, int, string) {
	h := r.Header.Get("Authorization")
	key, ok := strings.CutPrefix(h, "Bearer ")
	if h == "" || !ok || strings.TrimSpace(key) == "" {
		return "", http.StatusUnauthorized, "missing API key: send Authorization: Bearer <key>"
	}
	acct, err := g.reg.AccountByKey(r.Context(), hashSecret(strings.TrimSpace(key)))
	if errors.Is(err, registry.ErrNotFound) {
		return "", http.StatusUnauthorized, "invalid API key"
	} else if err != nil {
		return "", http.StatusServiceUnavailable, "registry unavailable"
	}
	return acct, 0, ""
}

// handleUpload is POST /v1/blobs: stream the body to W nodes while hashing
// it, and record the pin once they have all committed.
func (g *Gateway) handleUpload(w http.ResponseWriter, r *http.Request) {
	acct, ok := g.authorize(w, r)
	if !ok {
		return
	}
	size := r.ContentLength
	if size > g.cfg.MaxBlobSize {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("blob of %d bytes exceeds the %d-byte limit", size, g.cfg.MaxBlobSize))
		return
	}
	plan := g.currentView().Place(g.cfg.Replicas, nil, nil, nil)
	if len(plan) < g.cfg.Replicas {
		// Probes may have admitted nodes since the last rebuild.
		g.rebuildView()
		plan = g.currentView().Place(g.cfg.Replicas, nil, nil, nil)
	}
	ups, holders, pulls, err := g.openUploads(r.Context(), size, plan)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	abort := func() {
		for _, u := range ups {
			u.Abort()
		}
	}
	id, n, err := g.stream(w, r, ups)
	g.metrics.replicaBytes.Add(n * int64(len(ups)))
	if err != nil {
		abort()
		for _, h := range holders {
			g.nodes.request(h, false)
		}
		var se statusError
		if errors.As(err, &se) {
			writeError(w, se.status, se.Error())
		} else {
			writeError(w, replicaStatus(err), err.Error())
		}
		return
	}
	if pin, ok := g.alreadyStored(r.Context(), id); ok {
		// Stored once: the copies just streamed are discarded, the account
		// gets its own pin on the existing replicas.
		abort()
		created, err := g.reg.RecordPin(r.Context(), acct, id.String(), n, nil)
		if err != nil {
			writeError(w, http.StatusServiceUnavailable, "record pin: "+err.Error())
			return
		}
		g.metrics.uploads.Add(1)
		writeJSON(w, pinStatus(created), api.BlobResponse{CID: id.String(), Size: n, Replicas: pinnedCount(pin), Status: pin.Status})
		return
	}
	if err := commitAll(ups, id); err != nil {
		g.log.Warn("upload commit failed", "cid", id, "err", err)
		writeError(w, replicaStatus(err), "replicas failed to commit: "+err.Error())
		return
	}
	for _, h := range holders {
		g.nodes.request(h, true)
	}
	created, err := g.reg.RecordPin(r.Context(), acct, id.String(), n, holders)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "record pin: "+err.Error())
		return
	}
	pinState := g.planReplicas(r.Context(), id, n, holders, pulls)
	g.metrics.uploads.Add(1)
	g.metrics.ingestBytes.Add(n)
	g.log.Info("pinned", "cid", id, "size", n, "holders", holders, "pulls", len(pulls), "account", acct)
	writeJSON(w, pinStatus(created), api.BlobResponse{CID: id.String(), Size: n, Replicas: len(holders), Status: pinState})
}

// replicaStatus is the answer to an upload a replica refused: 507 when a
// node ran out of space, else 502.
func replicaStatus(err error) int {
	if errors.Is(err, wire.ErrNoSpace) {
		return http.StatusInsufficientStorage
	}
	return http.StatusBadGateway
}

// pinStatus is 201 for a new pin of the account, 200 for one it had.
func pinStatus(created bool) int {
	if created {
		return http.StatusCreated
	}
	return http.StatusOK
}

// alreadyStored reports whether a blob is already held by enough live
// nodes (W, or every live node in a smaller network).
func (g *Gateway) alreadyStored(ctx context.Context, id cid.CID) (registry.PinInfo, bool) {
	pin, err := g.reg.Pin(ctx, id.String())
	if err != nil {
		return pin, false
	}
	live := g.nodes.live()
	up := make(map[string]bool, len(live))
	for _, n := range live {
		up[n.ID] = true
	}
	held := 0
	for _, h := range pin.Holders {
		if h.Status == registry.StatusPinned && up[h.NodeID] {
			held++
		}
	}
	return pin, held >= min(g.cfg.Writes, len(live))
}

func pinnedCount(p registry.PinInfo) int {
	n := 0
	for _, h := range p.Holders {
		if h.Status == registry.StatusPinned {
			n++
		}
	}
	return n
}

type statusError struct {
	status int
	msg    string
}

func (e statusError) Error() string { return e.msg }

// openUploads opens puts to the first W nodes of the placement plan
// (distinct regions first), skipping nodes that cannot be reached in
// favour of the next ones. The plan's remaining nodes are returned to be
// ordered to pull.
func (g *Gateway) openUploads(ctx context.Context, size int64, plan []*choose.Node) ([]*wire.Upload, []string, []*choose.Node, error) {
	if len(plan) == 0 {
		return nil, nil, nil, errors.New("no storage node is available (or every one is full)")
	}
	want := min(g.cfg.Writes, len(plan))
	var ups []*wire.Upload
	var ids []string
	next := 0
	for ; next < len(plan) && len(ups) < want; next++ {
		n, ok := g.nodes.get(plan[next].ID)
		if !ok {
			continue
		}
		octx, cancel := context.WithTimeout(ctx, openTimeout)
		u, err := g.client.Put(octx, n.target(), size)
		cancel()
		if err != nil {
			g.nodes.request(n.ID, false)
			g.log.Warn("cannot open upload", "node", n.ID, "err", err)
			continue
		}
		ups = append(ups, u)
		ids = append(ids, n.ID)
	}
	if len(ups) < want {
		for _, u := range ups {
			u.Abort()
		}
		return nil, nil, nil, fmt.Errorf("only %d of %d storage nodes reachable", len(ups), want)
	}
	return ups, ids, plan[next:], nil
}

// stream copies the request body to every upload and hashes it.
func (g *Gateway) stream(w http.ResponseWriter, r *http.Request, ups []*wire.Upload) (cid.CID, int64, error) {
	ws := make([]io.Writer, len(ups))
	for i, u := range ups {
		ws[i] = u
	}
	rc := http.NewResponseController(w)
	f := newFanout(ws, nbuf, chunkSize, nodeStall)
	h := blake3.New()
	var n int64
	var readErr error
	for !f.failed.Load() {
		buf := f.buffer()
		rc.SetReadDeadline(time.Now().Add(bodyIdle))
		k, err := fill(r.Body, buf)
		if k > 0 {
			h.Write(buf[:k])
			n += int64(k)
			f.send(buf[:k])
		} else {
			f.free <- buf
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			readErr = err
			break
		}
		if n > g.cfg.MaxBlobSize {
			readErr = statusError{http.StatusRequestEntityTooLarge, fmt.Sprintf("blob exceeds the %d-byte limit", g.cfg.MaxBlobSize)}
			break
		}
	}
	if readErr != nil || f.failed.Load() {
		// Unblock writers stuck on a node before waiting for them.
		for _, u := range ups {
			u.Abort()
		}
	}
	errs := f.close()
	if readErr != nil {
		var se statusError
		if errors.As(readErr, &se) {
			return cid.CID{}, n, se
		}
		return cid.CID{}, n, statusError{http.StatusBadRequest, fmt.Sprintf("upload cut off after %d bytes: %v", n, readErr)}
	}
	if err := errors.Join(errs...); err != nil {
		return cid.CID{}, n, fmt.Errorf("replica write failed: %w", err)
	}
	if r.ContentLength >= 0 && n != r.ContentLength {
		return cid.CID{}, n, statusError{http.StatusBadRequest, fmt.Sprintf("upload cut off after %d of %d bytes", n, r.ContentLength)}
	}
	var d [32]byte
	h.Sum(d[:0])
	return cid.FromDigest(d), n, nil
}

// commitAll announces the CID to every upload and waits for all commits.
func commitAll(ups []*wire.Upload, id cid.CID) error {
	errs := make([]error, len(ups))
	var wg sync.WaitGroup
	for i, u := range ups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = u.Commit(id)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// fill reads into buf until it is full or the body ends. Unlike
// io.ReadFull it passes the body's own error through untouched, so a body
// cut off early (io.ErrUnexpectedEOF from net/http) is never mistaken for
// a clean end (io.EOF).
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		k, err := r.Read(buf[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
