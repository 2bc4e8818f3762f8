package audit

import (
	"context"
	"errors"
	"net/url"
	"sync"

	"dstor/shared/cid"
	"dstor/shared/identity"
	"dstor/shared/registry"
	"dstor/shared/wire"
)

// collectGarbage deletes the copies of blobs no account has pinned for
// UnpinGrace. The registry hands them out (CollectGarbage checks again,
// under lock, that no account pinned them meanwhile) and each holder is
// told to delete its copy unless it committed the blob within the grace:
// a copy that new belongs to an upload of the same bytes, whose pin may
// not be recorded yet. A holder row goes once its node has no copy; a
// node that cannot be reached, or that kept a new copy, is asked again on
// a later cycle, and the CID leaves the registry with its last copy.
func (a *Auditor) collectGarbage(ctx context.Context) {
	before := a.cfg.now().Add(-a.cfg.UnpinGrace)
	garbage, err := a.reg.CollectGarbage(ctx, before, 100)
	if err != nil {
		a.log.Warn("collect garbage", "err", err)
		return
	}
	var wg sync.WaitGroup
	for _, g := range garbage {
		id, err := cid.Parse(g.CID)
		if err != nil {
			a.log.Warn("garbage with a bad cid", "cid", g.CID, "err", err)
			continue
		}
		for _, h := range g.Holders {
			u, err := url.Parse(h.URL)
			if err != nil {
				continue
			}
			wg.Go(func() {
				t := wire.Target{Addr: u.Host, Peer: identity.Peer{Role: identity.RoleNode, ID: h.NodeID}}
				dctx, cancel := context.WithTimeout(ctx, wire.DialTimeout)
				defer cancel()
				r, err := a.client.Delete(dctx, t, id, before)
				var we *wire.Error
				switch {
				case errors.As(err, &we) && we.Code == wire.CodeNotFound:
				case err != nil:
					a.log.Warn("delete an unpinned copy", "cid", g.CID, "node", h.NodeID, "err", err)
					return
				case !r.Deleted:
					a.log.Info("unpinned copy kept: committed within the grace", "cid", g.CID, "node", h.NodeID)
					return
				}
				if err := a.reg.RemoveHolder(ctx, g.CID, h.NodeID); err != nil && !errors.Is(err, registry.ErrNotFound) {
					a.log.Warn("drop a deleted copy's holder row", "cid", g.CID, "node", h.NodeID, "err", err)
				}
			})
		}
	}
	wg.Wait()
	if len(garbage) > 0 {
		a.log.Info("collected unpinned blobs", "blobs", len(garbage))
	}
}
