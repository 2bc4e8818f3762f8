package node

import (
	"errors"
	"io"
	"sync"

	"dstor/shared/wire"
)

// outboardHead is how much of a blob's outboard tree a peer fetch asks
// to lead the bytes: the path to the first group (64 bytes a level, 14
// levels for 256 MiB) and the nodes of the groups after it (the tree is in
// pre-order, 64 bytes per 16 KiB group). Kept small, because it shares the
// sender's first burst of packets with the first bytes; the rest of the
// tree comes on its own stream one round trip later.
const outboardHead = 2 << 10

// drained is an outboard being read into memory by its own goroutine: the
// head came with the peer's answer to the fetch, the rest comes on a
// stream of its own; ReadAt hands out what has arrived, waiting for more
// as needed.
type drained struct {
	mu      sync.Mutex
	cond    *sync.Cond
	buf     []byte
	done    bool
	err     error
	cur     *wire.Body // the answer being read
	stopped bool
}

// errStopped is what a drain stopped by its fetch reports.
var errStopped = errors.New("outboard read stopped")

// drain starts reading the rest of a size-byte outboard into memory after
// the head already in hand (at most size bytes), from what rest opens.
func drain(size int64, head []byte, rest func() (*wire.Body, error)) *drained {
	d := &drained{buf: append(make([]byte, 0, size), head...)}
	d.cond = sync.NewCond(&d.mu)
	if len(d.buf) == cap(d.buf) {
		d.done = true
		return d
	}
	go func() {
		b, err := rest()
		if err == nil {
			if err = d.use(b); err == nil {
				err = d.fill(b)
				b.Close()
			}
		}
		if err == nil && len(d.buf) < cap(d.buf) {
			err = io.ErrUnexpectedEOF
		}
		d.mu.Lock()
		d.done, d.err = true, err
		d.mu.Unlock()
		d.cond.Broadcast()
	}()
	return d
}

// fill reads b to its end (or until the buffer is full), each read within
// peerStall.
func (d *drained) fill(b *wire.Body) error {
	r := &stallReader{b}
	for len(d.buf) < cap(d.buf) {
		k, err := r.Read(d.buf[len(d.buf):cap(d.buf)])
		d.mu.Lock()
		d.buf = d.buf[:len(d.buf)+k]
		d.mu.Unlock()
		d.cond.Broadcast()
		if err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
	}
	return nil
}

// use makes b the answer being read, unless the drain was stopped.
func (d *drained) use(b *wire.Body) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped {
		b.Close()
		return errStopped
	}
	d.cur = b
	return nil
}

// stop abandons the answer being read; the goroutine then ends.
func (d *drained) stop() {
	d.mu.Lock()
	d.stopped = true
	cur := d.cur
	d.mu.Unlock()
	if cur != nil {
		cur.Close()
	}
}

// ReadAt reads from what has arrived, waiting for the bytes asked for
// (the verifier asks for tree nodes as it reaches them).
func (d *drained) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for int64(len(d.buf)) < off+int64(len(p)) && !d.done {
		d.cond.Wait()
	}
	if off >= int64(len(d.buf)) {
		if d.err != nil {
			return 0, d.err
		}
		return 0, io.EOF
	}
	k := copy(p, d.buf[off:])
	if k < len(p) {
		if d.err != nil {
			return k, d.err
		}
		return k, io.EOF
	}
	return k, nil
}

// all waits for the whole outboard and returns it.
func (d *drained) all() ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for !d.done {
		d.cond.Wait()
	}
	if d.err != nil {
		return nil, d.err
	}
	return d.buf, nil
}
