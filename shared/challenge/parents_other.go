//go:build !amd64 || purego

package challenge

import "lukechampine.com/blake3/guts"

func compressChunks8(out *[8][8]uint32, buf *[8 * guts.ChunkSize]byte, counter uint64) {
	compressChunksGeneric(out, buf, counter)
}

func compressParents8(out *[8][8]uint32, in *[16][8]uint32, flags uint32) {
	compressParentsGeneric(out, in, flags)
}
