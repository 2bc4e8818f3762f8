package challenge

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"

	"lukechampine.com/blake3/guts"
)

// Verify checks an answer to ranges of a size-byte blob whose BLAKE3 root
// is root, as Answer writes it, and returns the bytes of each range (they
// alias answer). It checks each slice's length header against size and
// its tree nodes and group against root, as bao.VerifySlice does, but
// hashes each group in place, the tree nodes of all the slices eight at a
// time (parents.go), and a check that repeats one of the previous
// slice's only once: the ranges are sorted, so neighbours share the top
// of their paths, and ranges in one group share it all.
//
// An answer is exactly AnswerSize bytes, which the caller knows before
// reading any (the wire client reads no more); an answer of another
// length, or a slice that does not verify, is an error wrapping
// ErrBadProof. Ranges that no challenge could hold are the caller's error.
func Verify(root [32]byte, size int64, ranges []Range, answer []byte) ([][]byte, error) {
	var total int64
	for _, r := range ranges {
		if err := check(size, r); err != nil {
			return nil, err
		}
		total += SliceSize(size, r)
	}
	if int64(len(answer)) != total {
		return nil, fmt.Errorf("%w: answer of %d bytes, want %d", ErrBadProof, len(answer), total)
	}
	bad := func(i int) error {
		return fmt.Errorf("%w: range %d+%d does not hash to the root", ErrBadProof, ranges[i].Off, ranges[i].Len)
	}
	rootCV := bytesToCV(root[:])
	out := make([][]byte, len(ranges))
	var (
		batch             parentBatch
		prevTree, prevGrp []byte
		prevOff           int64
	)
	for i, r := range ranges {
		// The slice is consumed as the walk goes: the answer's length
		// is the sum of the slices', so none runs past it.
		if n := binary.LittleEndian.Uint64(answer); n != uint64(size) {
			return nil, fmt.Errorf("%w: range %d+%d: slice of a %d-byte blob, want %d", ErrBadProof, r.Off, r.Len, n, size)
		}
		s := answer[8:]
		tree := s
		// Walk down the tree as pathTo does. want is the chaining value
		// the next node (then the group) must hash to. same says that
		// this slice's nodes so far are the previous slice's, at the same
		// places in the tree: its checks so far were made already.
		want := root[:]
		pos, n := int64(0), size
		same := i > 0
		for k := 0; n > GroupSize; k++ {
			node := s[:64]
			s = s[64:]
			same = same && bytes.Equal(node, prevTree[64*k:64*k+64])
			switch {
			case same:
			case k == 0:
				if guts.ChainingValue(guts.ParentNode(bytesToCV(node[:32]), bytesToCV(node[32:]), &guts.IV, guts.FlagRoot)) != rootCV {
					return nil, bad(i)
				}
			default:
				if j := batch.add(node, want, i); j >= 0 {
					return nil, bad(j)
				}
			}
			mid := int64(1) << (bits.Len64(uint64(n-1)) - 1)
			left := r.Off < pos+mid
			same = same && (prevOff < pos+mid) == left
			if left {
				want, n = node[:32], mid
			} else {
				want, pos, n = node[32:], pos+mid, n-mid
			}
		}
		s, answer = s[:n], s[n:]
		if !same || !bytes.Equal(s, prevGrp) {
			g := compressGroup(s, uint64(pos)/guts.ChunkSize)
			switch {
			case n < size && g.Flags == guts.FlagParent:
				// The group's top node is a parent: hash it with the tree's.
				if j := batch.addGroup(&g, want, i); j >= 0 {
					return nil, bad(j)
				}
			case n == size: // one group, no tree: the group is the root
				g.Flags |= guts.FlagRoot
				fallthrough
			default:
				if guts.ChainingValue(g) != bytesToCV(want) {
					return nil, bad(i)
				}
			}
		}
		prevTree, prevGrp, prevOff = tree, s, r.Off
		at := r.Off % GroupSize
		out[i] = s[at : at+r.Len : at+r.Len]
	}
	if j := batch.check(); j >= 0 {
		return nil, bad(j)
	}
	return out, nil
}
