package challenge

import (
	"encoding/binary"
	"math/bits"

	"lukechampine.com/blake3/guts"
)

func bytesToCV(b []byte) (cv [8]uint32) {
	loadCV(&cv, b)
	return cv
}

// loadCV sets cv to the chaining value in the 32 bytes of b.
func loadCV(cv *[8]uint32, b []byte) {
	_ = b[31]
	for i := range cv {
		cv[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
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
