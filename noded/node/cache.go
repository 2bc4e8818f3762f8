package node

import (
	"encoding/binary"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
	"github.com/dgraph-io/ristretto/v2"

	"dstor/shared/cid"
	"dstor/shared/httpblob"
)

// cache is the hot cache: whole verified blobs in memory, ready to serve
// (httpblob.Blob), bounded in bytes. One blob may take at most 1/16 of
// the budget, so a single large read cannot flush the working set. Blobs
// are keyed by their CID's canonical text, so a read finds its blob by
// its URL path without parsing it.
type cache struct {
	c            *ristretto.Cache[string, *httpblob.Blob]
	maxItem      int64
	hits, misses atomic.Int64
}

// blobOverhead is what a cached blob costs beyond its bytes: the Blob,
// its prepared header values and frames, the cache's own entry.
const blobOverhead = 512

func newCache(budget int64) *cache {
	if budget <= 0 {
		return &cache{}
	}
	c, err := ristretto.NewCache(&ristretto.Config[string, *httpblob.Blob]{
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

// keyToHash hashes a CID text with xxhash, and takes its last 8
// characters (base32 of the digest's end) to tell colliding keys apart.
func keyToHash(k string) (uint64, uint64) {
	var conflict uint64
	if len(k) >= 8 {
		conflict = binary.LittleEndian.Uint64([]byte(k[len(k)-8:]))
	}
	return xxhash.Sum64String(k), conflict
}

func key(c cid.CID) string { return c.String() }

// lookup returns the cached blob whose CID text is name, counting only
// hits: a miss goes on to get, which counts it.
func (c *cache) lookup(name string) *httpblob.Blob {
	if c.c == nil {
		return nil
	}
	b, ok := c.c.Get(name)
	if !ok {
		return nil
	}
	c.hits.Add(1)
	return b
}

func (c *cache) get(id cid.CID) (*httpblob.Blob, bool) {
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

func (c *cache) add(b *httpblob.Blob) {
	if c.fits(b.Size()) {
		c.c.Set(b.Name(), b, b.Size()+blobOverhead)
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
