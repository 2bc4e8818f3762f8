package challenge

import (
	"encoding/binary"
	"math/bits"

	"lukechampine.com/blake3/guts"
)

// verifySlice checks the slice s of the range at off in a size-byte blob
// (SliceSize bytes, its length header already checked) against the root's
// chaining value, and returns the group it proves. It does what
// bao.VerifySlice does for a slice of one group, which the tests check
// it agrees with, without copying the group or allocating: the group is
// hashed in place.
func verifySlice(s []byte, size int64, off int64, root [8]uint32) ([]byte, bool) {
	cv, flags := root, uint32(guts.FlagRoot)
	pos, n := int64(0), size
	s = s[8:]
	for n > GroupSize {
		l, r := bytesToCV(s[:32]), bytesToCV(s[32:64])
		if guts.ChainingValue(guts.ParentNode(l, r, &guts.IV, flags)) != cv {
			return nil, false
		}
		s, flags = s[64:], 0
		mid := int64(1) << (bits.Len64(uint64(n-1)) - 1)
		if off < pos+mid {
			cv, n = l, mid
		} else {
			cv, pos, n = r, pos+mid, n-mid
		}
	}
	node := compressGroup(s, uint64(pos)/guts.ChunkSize)
	node.Flags |= flags
	return s, guts.ChainingValue(node) == cv
}

func bytesToCV(b []byte) (cv [8]uint32) {
	_ = b[31]
	for i := range cv {
		cv[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return cv
}

// compressGroup is the node of one chunk group starting at chunk counter.
// A whole group as wide as the SIMD compressor is hashed in place.
func compressGroup(p []byte, counter uint64) guts.Node {
	if len(p) == guts.MaxSIMD*guts.ChunkSize {
		return guts.CompressBuffer((*[guts.MaxSIMD * guts.ChunkSize]byte)(p), len(p), &guts.IV, counter, 0)
	}
	return compressGroupSlow(p, counter)
}

// compressGroupSlow is lukechampine.com/blake3/bao's compressGroup (MIT
// licence, Luke Champine), which it does not export.
func compressGroupSlow(p []byte, counter uint64) guts.Node {
	var stack [54 - guts.MaxSIMD][8]uint32
	var sc uint64
	pushSubtree := func(cv [8]uint32) {
		i := 0
		for sc&(1<<i) != 0 {
			cv = guts.ChainingValue(guts.ParentNode(stack[i], cv, &guts.IV, 0))
			i++
		}
		stack[i] = cv
		sc++
	}

	var buf [guts.MaxSIMD * guts.ChunkSize]byte
	var buflen int
	for len(p) > 0 {
		if buflen == len(buf) {
			pushSubtree(guts.ChainingValue(guts.CompressBuffer(&buf, buflen, &guts.IV, counter+(sc*guts.MaxSIMD), 0)))
			buflen = 0
		}
		n := copy(buf[buflen:], p)
		buflen += n
		p = p[n:]
	}
	n := guts.CompressBuffer(&buf, buflen, &guts.IV, counter+(sc*guts.MaxSIMD), 0)
	for i := bits.TrailingZeros64(sc); i < bits.Len64(sc); i++ {
		if sc&(1<<i) != 0 {
			n = guts.ParentNode(stack[i], guts.ChainingValue(n), &guts.IV, 0)
		}
	}
	return n
}
