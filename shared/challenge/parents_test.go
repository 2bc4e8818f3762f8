package challenge

import (
	"math/rand/v2"
	"testing"

	"lukechampine.com/blake3/guts"
)

// TestCompressParents8: the eight-way compressor (SIMD where the CPU has
// it) agrees with hashing one parent at a time.
func TestCompressParents8(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	for _, flags := range []uint32{0, guts.FlagRoot} {
		for range 100 {
			var in [16][8]uint32
			for i := range in {
				for j := range in[i] {
					in[i][j] = r.Uint32()
				}
			}
			var got, want [8][8]uint32
			compressParents8(&got, &in, flags)
			compressParentsGeneric(&want, &in, flags)
			if got != want {
				t.Fatalf("flags %d: got %x, want %x", flags, got, want)
			}
		}
	}
}

// TestCompressChunks8: the eight-way chunk compressor agrees with hashing
// one chunk at a time.
func TestCompressChunks8(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	for range 20 {
		var buf [8 * guts.ChunkSize]byte
		for i := range buf {
			buf[i] = byte(r.Uint32())
		}
		counter := r.Uint64() >> r.IntN(64)
		var got, want [8][8]uint32
		compressChunks8(&got, &buf, counter)
		compressChunksGeneric(&want, &buf, counter)
		if got != want {
			t.Fatalf("counter %d: got %x, want %x", counter, got, want)
		}
	}
}
