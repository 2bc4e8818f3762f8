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
// reading each page of it from r once, when first asked for, into memory
// allocated then (a read that touches the first groups of a large blob
// pays for one page, not the whole tree). It is safe for concurrent use.
type pagedReader struct {
	r     io.ReaderAt
	size  int64
	mu    sync.Mutex
	pages [][]byte // nil until read
}

func newPagedReader(r io.ReaderAt, size int64) *pagedReader {
	return &pagedReader{r: r, size: size, pages: make([][]byte, (size+outboardPage-1)/outboardPage)}
}

func (p *pagedReader) ReadAt(b []byte, off int64) (int, error) {
	if off < 0 || off > p.size {
		return 0, fmt.Errorf("read at %d outside %d bytes", off, p.size)
	}
	end := min(off+int64(len(b)), p.size)
	p.mu.Lock()
	defer p.mu.Unlock()
	k := 0
	for pos := off; pos < end; {
		pg := pos / outboardPage
		if p.pages[pg] == nil {
			lo, hi := pg*outboardPage, min((pg+1)*outboardPage, p.size)
			page := make([]byte, hi-lo)
			n, err := p.r.ReadAt(page, lo)
			if int64(n) < hi-lo {
				if err == nil || err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return 0, fmt.Errorf("read outboard page at %d: %w", lo, err)
			}
			p.pages[pg] = page
		}
		c := copy(b[k:end-off], p.pages[pg][pos-pg*outboardPage:])
		k += c
		pos += int64(c)
	}
	if k < len(b) {
		return k, io.EOF
	}
	return k, nil
}
