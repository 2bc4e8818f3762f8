package proof

import (
	"encoding/binary"
	"math/bits"

	"lukechampine.com/blake3/guts"
)

// compressGroup and bytesToCV are lukechampine.com/blake3/bao's own (MIT
// licence, Luke Champine), which it does not export: the chaining value of
// one chunk group, hashed with the SIMD compressor.
func compressGroup(p []byte, counter uint64) guts.Node {
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

	const full = guts.MaxSIMD * guts.ChunkSize
	var buf [full]byte
	// Whole SIMD widths of p are hashed in place, not copied first (a
	// change from bao's, which copies every byte).
	for len(p) > full {
		pushSubtree(guts.ChainingValue(guts.CompressBuffer((*[full]byte)(p), full, &guts.IV, counter+(sc*guts.MaxSIMD), 0)))
		p = p[full:]
	}
	last, buflen := &buf, len(p)
	if buflen == full {
		last = (*[full]byte)(p)
	} else {
		copy(buf[:], p)
	}
	n := guts.CompressBuffer(last, buflen, &guts.IV, counter+(sc*guts.MaxSIMD), 0)
	for i := bits.TrailingZeros64(sc); i < bits.Len64(sc); i++ {
		if sc&(1<<i) != 0 {
			n = guts.ParentNode(stack[i], guts.ChainingValue(n), &guts.IV, 0)
		}
	}
	return n
}

func bytesToCV(b []byte) (cv [8]uint32) {
	for i := range cv {
		cv[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return cv
}
