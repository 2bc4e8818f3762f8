package node

import (
	"encoding/binary"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
	"github.com/dgraph-io/ristretto/v2"

	"dstor/shared/cid"
)

// cache is the hot cache: whole verified blobs in memory, bounded in
// bytes. One blob may take at most 1/16 of the budget, so a single large
// read cannot flush the working set.
type cache struct {
	c            *ristretto.Cache[string, []byte]
	maxItem      int64
	hits, misses atomic.Int64
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
		KeyToHash:          keyToHash,
	})
	if err != nil {
		return &cache{} // only for nonsensical sizes; run uncached
	}
	return &cache{c: c, maxItem: budget / 16}
}

// keyToHash hashes a digest key with xxhash, and takes a second,
// independent 64 bits of the digest itself to tell colliding keys apart.
func keyToHash(k string) (uint64, uint64) {
	return xxhash.Sum64String(k), binary.LittleEndian.Uint64([]byte(k[8:16]))
}

func key(c cid.CID) string {
	d := c.Digest()
	return string(d[:])
}

func (c *cache) get(id cid.CID) ([]byte, bool) {
	if c.c == nil {
		return nil, false
	}
	b, ok := c.c.Get(key(id))
	if ok {
		c.hits.Add(1)
	} else {
		c.misses.Add(1)
	}
	return b, ok
}

// fits reports whether a blob of size bytes may enter the cache.
func (c *cache) fits(size int64) bool { return c.c != nil && size <= c.maxItem }

func (c *cache) add(id cid.CID, data []byte) {
	if c.fits(int64(len(data))) {
		c.c.Set(key(id), data, int64(len(data)))
	}
}

func (c *cache) del(id cid.CID) {
	if c.c != nil {
		c.c.Del(key(id))
	}
}

func (c *cache) close() {
	if c.c != nil {
		c.c.Close()
	}
}
