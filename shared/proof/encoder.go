package proof

import (
	"encoding/binary"
	"math/bits"

	"lukechampine.com/blake3/guts"
)

// Encoder computes a blob's BLAKE3 root and Bao outboard (GroupSize
// groups, bao.Encode's layout) as its bytes are written, so a store need
// not read a blob back to commit it: each whole group is hashed once as it
// arrives, and Finish builds the tree above the groups from their
// chaining values (32 bytes per 16 KiB).
//
// The last group is hashed only in Finish: while more bytes may come it is
// not known to be last, and a blob of one group hashes it as the root.
type Encoder struct {
	pending []byte      // the group not yet known not to be the last
	cvs     [][8]uint32 // chaining values of the groups before it
	n       int64       // bytes written
}

// NewEncoder returns an empty encoder.
func NewEncoder() *Encoder { return &Encoder{pending: make([]byte, 0, GroupSize)} }

// Write adds blob bytes. It never fails.
func (e *Encoder) Write(p []byte) (int, error) {
	k := len(p)
	e.n += int64(k)
	for len(p) > 0 {
		if len(e.pending) == GroupSize { // more bytes came: not the last group
			e.push(e.pending)
			e.pending = e.pending[:0]
		}
		if len(e.pending) == 0 && len(p) > GroupSize {
			e.push(p[:GroupSize]) // hashed in place, not copied
			p = p[GroupSize:]
			continue
		}
		c := min(GroupSize-len(e.pending), len(p))
		e.pending = append(e.pending, p[:c]...)
		p = p[c:]
	}
	return k, nil
}

func (e *Encoder) push(group []byte) {
	counter := uint64(len(e.cvs)) << Group
	e.cvs = append(e.cvs, guts.ChainingValue(compressGroup(group, counter)))
}

// Len is the number of bytes written.
func (e *Encoder) Len() int64 { return e.n }

// Finish returns the outboard and the root of the bytes written. The
// encoder must not be used afterwards.
func (e *Encoder) Finish() (outboard []byte, root [32]byte) {
	groups := int64(len(e.cvs)) + 1 // the pending group (empty for an empty blob)
	outboard = make([]byte, 8+64*(groups-1))
	binary.LittleEndian.PutUint64(outboard, uint64(e.n))
	leaf := 0
	var rec func(length uint64, flags uint32, off int) (int, [8]uint32)
	rec = func(length uint64, flags uint32, off int) (int, [8]uint32) {
		if length <= GroupSize {
			i := leaf
			leaf++
			if i < len(e.cvs) && flags == 0 {
				return 0, e.cvs[i]
			}
			// The last group, or the only one (then it is the root).
			n := compressGroup(e.pending, uint64(i)<<Group)
			n.Flags |= flags
			return 0, guts.ChainingValue(n)
		}
		mid := uint64(1) << (bits.Len64(length-1) - 1)
		lchildren, l := rec(mid, 0, off+64)
		rchildren, r := rec(length-mid, 0, off+64+lchildren*32)
		putCV(outboard[off:], l)
		putCV(outboard[off+32:], r)
		return 2 + lchildren + rchildren, guts.ChainingValue(guts.ParentNode(l, r, &guts.IV, flags))
	}
	_, cv := rec(uint64(e.n), guts.FlagRoot, 8)
	putCV(root[:], cv)
	return outboard, root
}

func putCV(b []byte, cv [8]uint32) {
	for i, w := range cv {
		binary.LittleEndian.PutUint32(b[4*i:], w)
	}
}
