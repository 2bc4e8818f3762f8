package audit

import (
	"context"
	"errors"
	"net/url"
	"sync"

	"dstor/shared/cid"
	"dstor/shared/identity"
	"dstor/shared/wire"
)

// collectGarbage deletes the copies of blobs no account has pinned for
// UnpinGrace: the registry drops their rows (CollectGarbage, which checks
// again that no account pinned them meanwhile) and each holder is told to
// delete its copy unless it committed the blob after the unpin (the
// bytes were uploaded again). A holder that cannot be reached keeps its
// copy: it is no longer in the registry, so nothing pays for it or reads
// it.
func (a *Auditor) collectGarbage(ctx context.Context) {
	garbage, err := a.reg.CollectGarbage(ctx, a.cfg.now().Add(-a.cfg.UnpinGrace), 100)
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
				r, err := a.client.Delete(dctx, t, id, g.UnpinnedAt)
				var we *wire.Error
				switch {
				case errors.As(err, &we) && we.Code == wire.CodeNotFound:
				case err != nil:
					a.log.Warn("delete an unpinned copy", "cid", g.CID, "node", h.NodeID, "err", err)
				case !r.Deleted:
					a.log.Info("unpinned copy kept: committed again since", "cid", g.CID, "node", h.NodeID)
				default:
					a.log.Debug("deleted an unpinned copy", "cid", g.CID, "node", h.NodeID)
				}
			})
		}
	}
	wg.Wait()
	if len(garbage) > 0 {
		a.log.Info("collected unpinned blobs", "blobs", len(garbage))
	}
}
