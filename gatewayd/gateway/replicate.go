package gateway

import (
	"context"
	"slices"
	"sync"

	"dstor/shared/choose"
	"dstor/shared/cid"
	"dstor/shared/registry"
	"dstor/shared/wire"
)

// Replication after an upload: the gateway sent W copies itself; the
// other R-W nodes are ordered to pull the blob from holders (the peer-fetch
// path), so the gateway's upload bandwidth is spent W times, not R times.
// A blob has at most pullsPerBlob pulls in flight, and every node that
// completes one becomes a source for the next; a node that fails is
// replaced by the next best placement, up to pullRounds rounds.
const (
	pullsPerBlob = 4
	pullRounds   = 3
)

// planReplicas records the blob's target R and starts its pulls; it
// returns the pin's status.
func (g *Gateway) planReplicas(ctx context.Context, id cid.CID, size int64, holders []string, pulls []*choose.Node) string {
	target := len(holders) + len(pulls)
	status := registry.StatusPinned
	if len(pulls) > 0 {
		status = registry.StatusQueued
	}
	if err := g.reg.SetReplicas(ctx, id.String(), target); err != nil {
		g.log.Warn("record replica target", "cid", id, "err", err)
	}
	if err := g.reg.SetPinStatus(ctx, id.String(), status); err != nil {
		g.log.Warn("record pin status", "cid", id, "err", err)
	}
	g.pins.reload(g.reg, id.String())
	if len(pulls) > 0 {
		ids := make([]string, len(pulls))
		for i, n := range pulls {
			ids[i] = n.ID
		}
		g.background(func(ctx context.Context) { g.replicate(ctx, id, size, holders, ids, target) })
	}
	return status
}

// replicate orders pulls until the blob has target pinned copies or the
// rounds run out, then records the pin's final status.
func (g *Gateway) replicate(ctx context.Context, id cid.CID, size int64, holders, pulls []string, target int) {
	key := id.String()
	var mu sync.Mutex
	pinned := slices.Clone(holders)
	tried := map[string]bool{}
	for _, h := range holders {
		tried[h] = true
	}
	started := false
	for round := 0; round < pullRounds && len(pulls) > 0 && ctx.Err() == nil; round++ {
		perBlob := make(chan struct{}, pullsPerBlob)
		var wg sync.WaitGroup
		for _, nid := range pulls {
			tried[nid] = true
			perBlob <- struct{}{}
			select {
			case g.pullSem <- struct{}{}:
			case <-ctx.Done():
				<-perBlob
				continue
			}
			if !started {
				started = true
				g.setPinStatus(ctx, key, registry.StatusPinning)
			}
			mu.Lock()
			srcs := g.holdersOf(pinned)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer func() { <-g.pullSem; <-perBlob; wg.Done() }()
				if g.pull(ctx, id, size, nid, srcs) {
					mu.Lock()
					pinned = append(pinned, nid)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		missing := target - len(pinned)
		if missing <= 0 {
			break
		}
		pulls = pulls[:0]
		for _, n := range g.currentView().Place(missing, pinned, func(nid string) bool { return tried[nid] }, nil) {
			pulls = append(pulls, n.ID)
		}
	}
	if ctx.Err() != nil {
		return // the gateway is stopping; the pin stays "pinning" for repair
	}
	status := registry.StatusPinned
	if len(pinned) < target {
		status = registry.StatusFailed
		g.log.Warn("blob under its replica target", "cid", id, "pinned", len(pinned), "target", target)
	}
	g.setPinStatus(ctx, key, status)
}

// pull orders node nid to fetch the blob from srcs and records the outcome.
func (g *Gateway) pull(ctx context.Context, id cid.CID, size int64, nid string, srcs []wire.Holder) bool {
	key := id.String()
	n, ok := g.nodes.get(nid)
	if !ok {
		return false
	}
	if err := g.reg.SetHolderStatus(ctx, key, nid, registry.StatusPinning); err != nil {
		g.log.Warn("record holder status", "cid", id, "node", nid, "err", err)
		return false
	}
	pctx, cancel := context.WithTimeout(ctx, wire.PullTimeout(size))
	resp, err := g.client.Pull(pctx, n.target(), id, size, srcs)
	cancel()
	if err == nil && (resp.CID != id || resp.Size != size) {
		err = wire.Errorf(wire.CodeHashMismatch, "node pulled %s (%d bytes), want %s (%d)", resp.CID, resp.Size, id, size)
	}
	status := registry.StatusPinned
	if err != nil {
		status = registry.StatusFailed
		g.metrics.pullsFail.Add(1)
		g.log.Warn("pull failed", "cid", id, "node", nid, "err", err)
	} else {
		g.metrics.pullsOK.Add(1)
	}
	g.nodes.request(nid, err == nil)
	if ctx.Err() != nil {
		return false
	}
	if rerr := g.reg.SetHolderStatus(ctx, key, nid, status); rerr != nil {
		g.log.Warn("record holder status", "cid", id, "node", nid, "err", rerr)
		return false
	}
	g.pins.forget(key)
	return err == nil
}

func (g *Gateway) setPinStatus(ctx context.Context, cid, status string) {
	if err := g.reg.SetPinStatus(ctx, cid, status); err != nil && ctx.Err() == nil {
		g.log.Warn("record pin status", "cid", cid, "status", status, "err", err)
	}
	g.pins.forget(cid)
}

// holdersOf lists nodes as pull sources, live ones first.
func (g *Gateway) holdersOf(ids []string) []wire.Holder {
	var up, down []wire.Holder
	for _, id := range ids {
		n, ok := g.nodes.get(id)
		if !ok {
			continue
		}
		if h := n.holder(); h.Up && !n.suspect {
			up = append(up, h)
		} else {
			down = append(down, h)
		}
	}
	return append(up, down...)
}

// background runs f until the gateway stops; Run waits for it.
func (g *Gateway) background(f func(ctx context.Context)) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		f(g.bgCtx)
	}()
}
