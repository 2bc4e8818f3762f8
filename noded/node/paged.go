package node

import (
	"fmt"
	"io"
	"sync"
)

// outboardPage is the unit in which pagedReader reads an outboard tree: a
// walk to one group touches a node per level, most of them in the page of
// its neighbours.
const outboardPage = 64 << 10

// pagedReader serves reads of the first size bytes of r from memory,
// reading each page of it from r once, when first asked for. It is safe
// for concurrent use.
type pagedReader struct {
	r      io.ReaderAt
	size   int64
	mu     sync.Mutex
	buf    []byte
	loaded []bool
}

func newPagedReader(r io.ReaderAt, size int64) *pagedReader {
	return &pagedReader{r: r, size: size, buf: make([]byte, size), loaded: make([]bool, (size+outboardPage-1)/outboardPage)}
}

func (p *pagedReader) ReadAt(b []byte, off int64) (int, error) {
	if off < 0 || off > p.size {
		return 0, fmt.Errorf("read at %d outside %d bytes", off, p.size)
	}
	end := min(off+int64(len(b)), p.size)
	p.mu.Lock()
	defer p.mu.Unlock()
	for pg := off / outboardPage; pg*outboardPage < end; pg++ {
		if p.loaded[pg] {
			continue
		}
		lo, hi := pg*outboardPage, min((pg+1)*outboardPage, p.size)
		k, err := p.r.ReadAt(p.buf[lo:hi], lo)
		if int64(k) < hi-lo {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, fmt.Errorf("read outboard page at %d: %w", lo, err)
		}
		p.loaded[pg] = true
	}
	k := copy(b, p.buf[off:end])
	if k < len(b) {
		return k, io.EOF
	}
	return k, nil
}
