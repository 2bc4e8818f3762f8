package node

import (
	"io"
	"sync"
	"sync/atomic"

	"dstor/shared/proof"
)

// bufPools holds the node's reusable buffers, so a read allocates nothing
// proportional to the blob: copy buffers move bytes between streams and
// disk, verify buffers are the verifier's read-ahead (whole groups), and
// a long read sent out takes aheadBufs ahead buffers (aheadChunk bytes
// each) to read and verify while the one before is being sent.
type bufPools struct {
	copyBufs, verifyBufs sync.Pool
	aheadBufs            keptPool
}

const (
	aheadBufs  = 3
	aheadChunk = 512 << 10
)

func newBufPools() bufPools {
	return bufPools{
		copyBufs: sync.Pool{New: func() any {
			b := make([]byte, 256<<10)
			return &b
		}},
		verifyBufs: sync.Pool{New: func() any {
			b := make([]byte, 64*proof.GroupSize)
			return &b
		}},
		aheadBufs: keptPool{keep: make(chan *[]byte, 2*aheadBufs), pool: sync.Pool{New: func() any {
			b := make([]byte, aheadChunk)
			return &b
		}}},
	}
}

// keptPool is a sync.Pool that also keeps a few buffers through garbage
// collections, which empty a sync.Pool: a long read after a quiet spell
// then does not start by allocating (and faulting in) its buffers.
type keptPool struct {
	keep chan *[]byte
	pool sync.Pool
}

func (p *keptPool) Get() *[]byte {
	select {
	case b := <-p.keep:
		return b
	default:
		return p.pool.Get().(*[]byte)
	}
}

func (p *keptPool) Put(b *[]byte) {
	select {
	case p.keep <- b:
	default:
		p.pool.Put(b)
	}
}

// countedWriter counts the bytes written through it.
type countedWriter struct {
	w    io.Writer
	n    *atomic.Int64 // shared
	sent int64         // through this writer
}

func (c *countedWriter) Write(p []byte) (int, error) {
	k, err := c.w.Write(p)
	c.n.Add(int64(k))
	c.sent += int64(k)
	return k, err
}
