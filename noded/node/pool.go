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
	copyBufs, verifyBufs, aheadBufs sync.Pool
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
		aheadBufs: sync.Pool{New: func() any {
			b := make([]byte, aheadChunk)
			return &b
		}},
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
