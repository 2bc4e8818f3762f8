package node

import (
	"github.com/dgraph-io/ristretto/v2"

	"dstor/shared/cid"
)

// cache is the hot cache: whole small blobs in memory, bounded in bytes.
type cache struct {
	c       *ristretto.Cache[string, []byte]
	maxItem int64
}

func newCache(budget int64) *cache {
	if budget <= 0 {
		return &cache{}
	}
	c, err := ristretto.NewCache(&ristretto.Config[string, []byte]{
		NumCounters:        max(budget/(4<<10)*10, 1000), // ~10 counters per 4 KiB item
		MaxCost:            budget,
		BufferItems:        64,
		IgnoreInternalCost: true,
	})
	if err != nil {
		return &cache{} // only for nonsensical sizes; run uncached
	}
	// One blob may take at most 1/16 of the budget, so a single large
	// read cannot flush the working set.
	return &cache{c: c, maxItem: budget / 16}
}

func key(c cid.CID) string {
	d := c.Digest()
	return string(d[:])
}

func (c *cache) get(id cid.CID) ([]byte, bool) {
	if c.c == nil {
		return nil, false
	}
	return c.c.Get(key(id))
}

// fits reports whether a blob of size bytes may enter the cache.
func (c *cache) fits(size int64) bool { return c.c != nil && size <= c.maxItem }

func (c *cache) add(id cid.CID, data []byte) {
	if c.fits(int64(len(data))) {
		c.c.Set(key(id), data, int64(len(data)))
	}
}

func (c *cache) close() {
	if c.c != nil {
		c.c.Close()
	}
}
