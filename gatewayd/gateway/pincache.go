package gateway

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"
	"golang.org/x/sync/singleflight"

	"dstor/shared/registry"
)

// Pin cache bounds. A pin read within pinTTL is served as it is. An older
// one, up to pinMaxStale, is still served at once while one refresh from
// the registry runs in the background (stale-while-revalidate), so a hot
// CID's reads never wait on the registry; a pin older than that, or not
// cached, is read from the registry, once for all concurrent readers of
// that CID. Only found pins are cached: a CID pinned through another
// gateway must be readable here at once, and a refresh that finds the pin
// gone drops it.
const (
	pinTTL         = 5 * time.Second
	pinMaxStale    = 30 * time.Second
	pinLoadTimeout = 5 * time.Second
	pinCacheLimit  = 1 << 16
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
	// spawn runs a background refresh; the gateway's tracks it so that
	// shutdown waits for it.
	spawn func(func(ctx context.Context))

	mu         sync.Mutex
	m          map[string]*cachedPin
	loading    map[string]*pinLoad // the registry reads running, one per CID
	refreshing map[string]bool
	loads      singleflight.Group
}

func newPinCache(now func() time.Time) *pinCache {
	return &pinCache{
		now:        now,
		spawn:      func(f func(context.Context)) { go f(context.Background()) },
		m:          make(map[string]*cachedPin),
		loading:    make(map[string]*pinLoad),
		refreshing: make(map[string]bool),
	}
}

// get returns the pin of cid from the cache or the registry.
func (c *pinCache) get(ctx context.Context, reg registry.Registry, cid string) (*cachedPin, error) {
	c.mu.Lock()
	p := c.m[cid]
	c.mu.Unlock()
	if p != nil {
		age := c.now().Sub(p.fetched)
		if age < pinTTL {
			return p, nil
		}
		if age < pinMaxStale {
			c.refresh(reg, cid)
			return p, nil
		}
	}
	return c.load(ctx, reg, cid)
}

// load reads cid's pin from the registry, one read for all the callers
// that want it at once, and caches what it finds. The read is not tied to
// the first caller: its cancellation does not fail the others.
func (c *pinCache) load(ctx context.Context, reg registry.Registry, cid string) (*cachedPin, error) {
	ch := c.loads.DoChan(cid, func() (any, error) {
		l := &pinLoad{}
		c.mu.Lock()
		c.loading[cid] = l
		c.mu.Unlock()
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pinLoadTimeout)
		defer cancel()
		info, err := reg.Pin(lctx, cid)
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(c.loading, cid)
		if errors.Is(err, registry.ErrNotFound) {
			delete(c.m, cid)
			return nil, err
		} else if err != nil {
			return nil, err
		}
		p := &cachedPin{info: info, pinned: make(map[string]bool, len(info.Holders)), key: xxhash.Sum64String(cid), fetched: c.now()}
		for _, h := range info.Holders {
			if h.Status == registry.StatusPinned {
				p.pinned[h.NodeID] = true
			}
		}
		if l.changed {
			return p, nil // this gateway changed the pin meanwhile: do not keep what may predate it
		}
		if _, ok := c.m[cid]; !ok && len(c.m) >= pinCacheLimit {
			for k := range c.m { // drop an arbitrary entry
				delete(c.m, k)
				break
			}
		}
		c.m[cid] = p
		return p, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*cachedPin), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// refresh reloads cid's pin in the background unless a refresh of it is
// already running. A failed refresh keeps the entry (until pinMaxStale); a
// pin that is gone is dropped.
func (c *pinCache) refresh(reg registry.Registry, cid string) {
	c.mu.Lock()
	if c.refreshing[cid] {
		c.mu.Unlock()
		return
	}
	c.refreshing[cid] = true
	c.mu.Unlock()
	c.spawn(func(ctx context.Context) {
		c.load(ctx, reg, cid)
		c.mu.Lock()
		delete(c.refreshing, cid)
		c.mu.Unlock()
	})
}

// forget drops cid after this gateway changed its pin; a load already
// running does not put it back.
func (c *pinCache) forget(cid string) {
	c.mu.Lock()
	delete(c.m, cid)
	if l := c.loading[cid]; l != nil {
		l.changed = true
	}
	c.mu.Unlock()
}

// reload drops cid, as forget does, and reads it again in the background:
// for a pin just written, whose first reads (a redirect, a node's holder
// lookup) usually follow at once.
func (c *pinCache) reload(reg registry.Registry, cid string) {
	c.forget(cid)
	c.refresh(reg, cid)
}

// pinLoad is a registry read of one pin in flight.
type pinLoad struct {
	changed bool // forget was called since it began
}
