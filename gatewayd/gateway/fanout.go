package gateway

import (
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// fanout copies one stream to several writers at once. Each writer has its
// own goroutine, so a slow node does not serialize the others; a fixed set
// of buffers bounds memory and makes the reader wait for the slowest
// writer instead of buffering the blob.
type fanout struct {
	free    chan []byte
	dsts    []*fanDest
	wg      sync.WaitGroup
	failed  atomic.Bool
	bufSize int
}

type fanDest struct {
	w   io.Writer
	ch  chan *fanChunk
	err error
}

type fanChunk struct {
	b    []byte
	refs atomic.Int32
}

// deadliner is a writer whose blocked writes can time out.
type deadliner interface {
	SetWriteDeadline(time.Time) error
}

// newFanout starts a goroutine per writer with nbuf buffers of size bytes.
// A writer that takes bytes more slowly than one buffer per stall (it may
// be dead) fails, if it supports write deadlines.
func newFanout(ws []io.Writer, nbuf, size int, stall time.Duration) *fanout {
	f := &fanout{free: make(chan []byte, nbuf), bufSize: size}
	for range nbuf {
		f.free <- make([]byte, size)
	}
	for _, w := range ws {
		d := &fanDest{w: w, ch: make(chan *fanChunk, nbuf)}
		f.dsts = append(f.dsts, d)
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			for c := range d.ch {
				if d.err == nil && !f.failed.Load() {
					if dl, ok := d.w.(deadliner); ok && stall > 0 {
						dl.SetWriteDeadline(time.Now().Add(stall))
					}
					if _, err := d.w.Write(c.b); err != nil {
						d.err = err
						f.failed.Store(true)
					}
				}
				if c.refs.Add(-1) == 0 {
					f.free <- c.b[:cap(c.b)]
				}
			}
		}()
	}
	return f
}

// buffer waits for a free buffer.
func (f *fanout) buffer() []byte { return <-f.free }

// send hands a filled buffer to every writer; it comes back to the free
// list when all have written it.
func (f *fanout) send(b []byte) {
	c := &fanChunk{b: b}
	c.refs.Store(int32(len(f.dsts)))
	for _, d := range f.dsts {
		d.ch <- c
	}
}

// close waits for every writer to drain and returns each one's error.
func (f *fanout) close() []error {
	for _, d := range f.dsts {
		close(d.ch)
	}
	f.wg.Wait()
	errs := make([]error, len(f.dsts))
	for i, d := range f.dsts {
		errs[i] = d.err
	}
	return errs
}
