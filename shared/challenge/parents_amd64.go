//go:build amd64 && !purego

package challenge

import (
	"golang.org/x/sys/cpu"
	"lukechampine.com/blake3/guts"
)

// compressParentsAVX2 is lukechampine.com/blake3/guts's eight-way parent
// compressor (parents_amd64.s): parents[i] is the chaining value of the
// parent node of cvs[2i] and cvs[2i+1], with flags (FlagParent added).
//
//go:noescape
func compressParentsAVX2(parents *[8][8]uint32, cvs *[16][8]uint32, key *[8]uint32, flags uint32)

// compressChunksAVX2 is lukechampine.com/blake3/guts's eight-way chunk
// compressor (parents_amd64.s): cvs[i] is the chaining value of the i-th
// 1 KiB chunk of buf, at chunk counter counter+i, with flags.
//
//go:noescape
func compressChunksAVX2(cvs *[8][8]uint32, buf *[8 * guts.ChunkSize]byte, key *[8]uint32, counter uint64, flags uint32)

// compressChunks8 sets out[i] to the chaining value of the i-th chunk of
// buf, at chunk counter counter+i (not the root).
func compressChunks8(out *[8][8]uint32, buf *[8 * guts.ChunkSize]byte, counter uint64) {
	if cpu.X86.HasAVX2 {
		compressChunksAVX2(out, buf, &guts.IV, counter, 0)
		return
	}
	compressChunksGeneric(out, buf, counter)
}

// compressParents8 sets out[i] to the chaining value of the parent node
// whose children are in[2i] and in[2i+1], flags added.
func compressParents8(out *[8][8]uint32, in *[16][8]uint32, flags uint32) {
	if cpu.X86.HasAVX2 {
		compressParentsAVX2(out, in, &guts.IV, flags)
		return
	}
	compressParentsGeneric(out, in, flags)
}
