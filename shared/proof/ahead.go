package proof

import (
	"errors"
	"fmt"
	"io"

	"lukechampine.com/blake3/guts"
)

// RangeAhead is Range with reading and checking overlapped with writing:
// a goroutine reads the groups covering [off, off+n) into bufs in turn
// and verifies each fill whole, while dst receives the verified ones, one
// Write per fill (the part inside the range). The first fill is one group,
// read in the caller's goroutine, and fills double up to whole buffers, so
// the first byte does not wait for a whole buffer to be read and hashed. So a slow dst (a
// network stream) does not wait for the disk or the hashing, nor they for
// it. bufs needs at least two buffers of at least GroupSize bytes (whole
// groups of each are used); RangeAhead uses them only until it returns.
// As with Range, dst receives only verified bytes, and a mismatch stops it
// with an error wrapping ErrMismatch.
func (v *Verifier) RangeAhead(dst io.Writer, data io.ReaderAt, off, n int64, bufs [][]byte) error {
	if off < 0 || n < 0 || off+n > v.size {
		return fmt.Errorf("proof: range %d+%d outside a %d-byte blob", off, n, v.size)
	}
	if len(bufs) < 2 {
		return errors.New("proof: RangeAhead needs two buffers or more")
	}
	for _, b := range bufs {
		if len(b) < GroupSize {
			return errors.New("proof: scratch buffer smaller than a group")
		}
	}
	if n == 0 {
		return nil
	}
	type filled struct {
		i    int   // which buffer
		pos  int64 // blob offset of its first byte
		size int64
		err  error
	}
	start, end := off/GroupSize*GroupSize, min((off+n+GroupSize-1)/GroupSize*GroupSize, v.size)
	// The first group is read, checked and written by the caller before
	// the reader starts, so the first byte waits for no hand-off between
	// goroutines (each can cost a thread wake-up on an idle machine).
	first := min(firstFill, end-start)
	if err := readFull(data, bufs[0][:first], start); err != nil {
		return err
	}
	if err := v.check(bufs[0][:first], start); err != nil {
		return err
	}
	lo, hi := max(off, start)-start, min(off+n, start+first)-start
	if _, err := dst.Write(bufs[0][lo:hi]); err != nil {
		return err
	}
	if start += first; start >= end {
		return nil
	}
	free := make(chan int, len(bufs))
	for i := range bufs {
		free <- i
	}
	ready := make(chan filled, len(bufs)) // never full: one entry per buffer at most
	stop := make(chan struct{})
	go func() {
		defer close(ready)
		// Fills double from twice the first up to whole buffers, so the
		// bytes after the first group do not wait for a whole buffer to
		// be read and hashed either.
		ramp := 2 * firstFill
		for pos := start; pos < end; {
			var i int
			select {
			case i = <-free:
			case <-stop:
				return
			}
			size := min(int64(len(bufs[i]))/GroupSize*GroupSize, end-pos, ramp)
			ramp = min(2*ramp, int64(len(bufs[i]))/GroupSize*GroupSize)
			err := readFull(data, bufs[i][:size], pos)
			if err == nil {
				err = v.check(bufs[i][:size], pos)
			}
			ready <- filled{i: i, pos: pos, size: size, err: err}
			if err != nil {
				return
			}
			pos += size
		}
	}()
	var err error
	for f := range ready {
		if err = f.err; err != nil {
			break
		}
		lo, hi := max(off, f.pos)-f.pos, min(off+n, f.pos+f.size)-f.pos
		if _, err = dst.Write(bufs[f.i][lo:hi]); err != nil {
			break
		}
		free <- f.i
	}
	close(stop)
	for range ready { // the reader is done with bufs once ready closes
	}
	return err
}

// firstFill is the size of RangeAhead's first read, the one its caller
// makes.
const firstFill int64 = GroupSize

// check verifies that p holds the blob's bytes from pos, a group
// boundary, to pos+len(p), a group boundary or the end of the blob.
func (v *Verifier) check(p []byte, pos int64) error {
	end := pos + int64(len(p))
	w := walk{v: v, dst: io.Discard, ra: readahead{buf: p, start: pos, end: end}, off: pos, end: end}
	w.rec(v.root, 0, v.size, 8, guts.FlagRoot)
	return w.err
}

// readFull reads len(p) bytes at off.
func readFull(r io.ReaderAt, p []byte, off int64) error {
	k, err := r.ReadAt(p, off)
	if k < len(p) {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("proof: read blob at %d: %w", off, err)
	}
	return nil
}
