// Package proof verifies blob bytes against their CID with Bao trees: the
// BLAKE3 tree of a blob, kept as an "outboard" beside it (16 KiB chunk
// groups, lukechampine.com/blake3/bao's pre-order layout). A Verifier reads
// only the tree nodes on the paths to the groups a range touches, so a
// 4 KiB read of a 1 GiB blob hashes 16 KiB and reads ~16 parent nodes, and
// no byte is released before the group holding it has been checked all the
// way up to the CID's digest.
package proof

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"

	"lukechampine.com/blake3/bao"
	"lukechampine.com/blake3/guts"
)

// Group is the Bao chunk-group exponent: 1 KiB chunks << 4 = 16 KiB.
const Group = 4

// GroupSize is the number of blob bytes one outboard leaf covers.
const GroupSize = guts.ChunkSize << Group

// ErrMismatch means bytes or tree nodes do not hash to the CID.
var ErrMismatch = errors.New("proof: content does not match the cid")

// OutboardSize is the length of a blob's outboard tree.
func OutboardSize(size int64) int64 { return int64(bao.EncodedSize(int(size), Group, true)) }

// Verifier checks ranges of one blob against its outboard tree and digest.
// It is safe for concurrent use if its outboard reader is.
type Verifier struct {
	root [8]uint32
	size int64
	ob   io.ReaderAt
}

// NewVerifier prepares to verify a blob of size bytes whose BLAKE3 digest
// is root, with its outboard (obSize bytes) readable through ob.
func NewVerifier(root [32]byte, size int64, ob io.ReaderAt, obSize int64) (*Verifier, error) {
	if want := OutboardSize(size); obSize != want {
		return nil, fmt.Errorf("%w: outboard of %d bytes for a %d-byte blob, want %d", ErrMismatch, obSize, size, want)
	}
	var hdr [8]byte
	if _, err := ob.ReadAt(hdr[:], 0); err != nil {
		return nil, fmt.Errorf("proof: read outboard header: %w", err)
	}
	if got := binary.LittleEndian.Uint64(hdr[:]); got != uint64(size) {
		return nil, fmt.Errorf("%w: outboard says %d bytes, blob has %d", ErrMismatch, got, size)
	}
	return &Verifier{root: bytesToCV(root[:]), size: size, ob: ob}, nil
}

// Range writes bytes [off, off+n) of the blob, read from data, to dst. It
// verifies each group covering the range before writing any of its bytes;
// at the first mismatch it stops with an error wrapping ErrMismatch, so dst
// only ever receives verified bytes. buf is scratch space of at least
// GroupSize bytes (larger is faster: data is read ahead through it).
func (v *Verifier) Range(dst io.Writer, data io.ReaderAt, off, n int64, buf []byte) error {
	if off < 0 || n < 0 || off+n > v.size {
		return fmt.Errorf("proof: range %d+%d outside a %d-byte blob", off, n, v.size)
	}
	if len(buf) < GroupSize {
		return errors.New("proof: scratch buffer smaller than a group")
	}
	limit := min((off+n+GroupSize-1)/GroupSize*GroupSize, v.size)
	w := walk{v: v, dst: dst, ra: readahead{r: data, buf: buf, limit: limit}, off: off, end: off + n}
	if n == 0 && v.size > 0 {
		return nil
	}
	w.rec(v.root, 0, v.size, 8, guts.FlagRoot)
	return w.err
}

// Verify checks the whole blob.
func (v *Verifier) Verify(data io.ReaderAt, buf []byte) error {
	return v.Range(io.Discard, data, 0, v.size, buf)
}

// walk is one Range call's descent of the tree.
type walk struct {
	v        *Verifier
	dst      io.Writer
	ra       readahead
	off, end int64
	node     [64]byte
	err      error
}

// rec checks the subtree of length bytes at pos, whose chaining value must
// be cv and whose encoding starts at obOff in the outboard.
func (w *walk) rec(cv [8]uint32, pos, length, obOff int64, flags uint32) {
	if w.err != nil || pos >= w.end || pos+length <= w.off && length > 0 {
		return
	}
	if length <= GroupSize {
		g, err := w.ra.at(pos, length)
		if err != nil {
			w.err = err
			return
		}
		n := compressGroup(g, uint64(pos)/guts.ChunkSize)
		n.Flags |= flags
		if guts.ChainingValue(n) != cv {
			w.err = fmt.Errorf("%w: group at byte %d", ErrMismatch, pos)
			return
		}
		lo, hi := max(w.off, pos)-pos, min(w.end, pos+length)-pos
		if hi > lo {
			_, w.err = w.dst.Write(g[lo:hi])
		}
		return
	}
	if _, err := w.v.ob.ReadAt(w.node[:], obOff); err != nil {
		w.err = fmt.Errorf("proof: read outboard: %w", err)
		return
	}
	l, r := bytesToCV(w.node[:32]), bytesToCV(w.node[32:])
	if guts.ChainingValue(guts.ParentNode(l, r, &guts.IV, flags)) != cv {
		w.err = fmt.Errorf("%w: tree node at outboard byte %d", ErrMismatch, obOff)
		return
	}
	mid := int64(1) << (bits.Len64(uint64(length-1)) - 1)
	w.rec(l, pos, mid, obOff+64, 0)
	w.rec(r, pos+mid, length-mid, obOff+64*groups(mid), 0)
}

// groups is the number of leaves of a subtree of length bytes; its
// encoding takes 64 bytes per parent, 64*(groups-1) in all.
func groups(length int64) int64 { return (length + GroupSize - 1) / GroupSize }

// readahead serves the groups a walk visits, in increasing order, from
// large sequential reads (or, with no reader, from a buffer filled
// beforehand).
type readahead struct {
	r          io.ReaderAt
	buf        []byte
	limit      int64 // no read goes past this: the last group the range needs
	start, end int64 // blob range held in buf[:end-start]
}

func (ra *readahead) at(pos, n int64) ([]byte, error) {
	if pos < ra.start || pos+n > ra.end {
		if ra.r == nil { // check's buffer holds every group it visits
			return nil, fmt.Errorf("proof: group at %d outside the buffer", pos)
		}
		fill := min(int64(len(ra.buf))/GroupSize*GroupSize, ra.limit-pos)
		if err := readFull(ra.r, ra.buf[:fill], pos); err != nil {
			return nil, err
		}
		ra.start, ra.end = pos, pos+fill
	}
	return ra.buf[pos-ra.start : pos-ra.start+n], nil
}
