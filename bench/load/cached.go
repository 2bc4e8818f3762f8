package load

import (
	"context"
	"fmt"
)

// measureCachedSmall uploads a small blob once, reads it from a holder
// until that node serves it from its cache, then loads
// https://<holder>/ipfs/<cid> exactly as the bare handler and Caddy are
// loaded.
func measureCachedSmall(ctx context.Context, s *suite) error {
	e, err := s.env(ctx)
	if err != nil {
		return err
	}
	size := int64(s.cfg.SmallSize)
	if !e.smallBlob.Defined() {
		if e.smallBlob, err = e.upload(ctx, size); err != nil {
			return err
		}
	}
	node, nodeURL, err := e.clusterNode(ctx, e.smallBlob, true)
	if err != nil {
		return err
	}
	if err := e.warmCache(ctx, node.id, nodeURL, e.smallBlob, size); err != nil {
		return fmt.Errorf("warm the cache: %w", err)
	}
	return s.serverFigures(ctx, serverUnderTest{
		name: "dStor cached", pool: e.pool, pid: node.pid,
		small:   nodeURL + "/ipfs/" + e.smallBlob.String(),
		keys:    figureKeys{smallRPS: keyCachedSmallRPS, smallP50: keyCachedSmallP50, smallP99: keyCachedSmallP99},
		observe: e.cacheObserver(node.id, nodeURL),
	})
}

// measureCachedBig reads the shared large blob from the suite's own node,
// whose cache budget (BigCacheBytes) admits it: reads bring it into the
// node (from a peer, or its disk) and into its cache, then it is measured
// as the bare handler's large body is.
func measureCachedBig(ctx context.Context, s *suite) error {
	e, err := s.env(ctx)
	if err != nil {
		return err
	}
	if e.big == nil {
		if e.big, err = e.startNode(ctx, s.cfg.Bin, "node-bigcache", s.cfg.BigCacheBytes); err != nil {
			return err
		}
	}
	id, err := e.sharedBig(ctx, s.cfg.BigSize)
	if err != nil {
		return err
	}
	if err := e.warmCache(ctx, e.big.id, e.big.url, id, s.cfg.BigSize); err != nil {
		return fmt.Errorf("warm the cache: %w", err)
	}
	s.setup(fmt.Sprintf("dStor cached %s: read from a node the suite starts with -cache-bytes %s (the cluster's nodes have %s)",
		sizeName(s.cfg.BigSize), sizeName(s.cfg.BigCacheBytes), sizeName(s.cfg.CacheBytes)))
	return s.serverFigures(ctx, serverUnderTest{
		name: "dStor cached", pool: e.pool, pid: e.big.pid,
		big:     e.big.url + "/ipfs/" + id.String(),
		keys:    figureKeys{big: keyCachedBig, bigTTFB: keyCachedBigTTFB},
		observe: e.cacheObserver(e.big.id, e.big.url),
	})
}
