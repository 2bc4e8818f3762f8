package gateway

import (
	"context"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"

	"dstor/shared/registry"
)

// Pin cache bounds: reads of a hot CID consult the registry at most once
// per pinTTL. Only found pins are cached: a CID pinned through another
// gateway must be readable here at once.
const (
	pinTTL        = 5 * time.Second
	pinCacheLimit = 1 << 16
)

// cachedPin is what reads need of a pin: its size and who holds a
// verified copy.
type cachedPin struct {
	info    registry.PinInfo
	pinned  map[string]bool // holders whose copy is pinned
	key     uint64          // the CID's hash, for consistent tie-breaks
	fetched time.Time
}

func (p *cachedPin) isHolder(id string) bool { return p.pinned[id] }

type pinCache struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]*cachedPin
}

func newPinCache(now func() time.Time) *pinCache {
	return &pinCache{now: now, m: make(map[string]*cachedPin)}
}

// get returns the pin of cid from the cache or the registry.
func (c *pinCache) get(ctx context.Context, reg registry.Registry, cid string) (*cachedPin, error) {
	c.mu.Lock()
	p := c.m[cid]
	c.mu.Unlock()
	if p != nil && c.now().Sub(p.fetched) < pinTTL {
		return p, nil
	}
	info, err := reg.Pin(ctx, cid)
	if err != nil {
		return nil, err
	}
	p = &cachedPin{info: info, pinned: make(map[string]bool, len(info.Holders)), key: xxhash.Sum64String(cid), fetched: c.now()}
	for _, h := range info.Holders {
		if h.Status == registry.StatusPinned {
			p.pinned[h.NodeID] = true
		}
	}
	c.mu.Lock()
	if len(c.m) >= pinCacheLimit {
		for k := range c.m { // drop an arbitrary entry
			delete(c.m, k)
			break
		}
	}
	c.m[cid] = p
	c.mu.Unlock()
	return p, nil
}

// forget drops cid after this gateway changed its pin.
func (c *pinCache) forget(cid string) {
	c.mu.Lock()
	delete(c.m, cid)
	c.mu.Unlock()
}
