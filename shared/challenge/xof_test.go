package challenge

import (
	"encoding/binary"
	"math/rand/v2"
	"strings"
	"testing"

	"lukechampine.com/blake3"
)

// TestRangeXOFIsBLAKE3: the stream Ranges draws from is the keyed BLAKE3
// XOF of its inputs, past the first output block and for node ids that
// take the input past one chunk.
func TestRangeXOFIsBLAKE3(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for _, idLen := range []int{0, 1, 52, 64, 900, 966, 967, 1100, 3000} {
		var nonce, digest [32]byte
		for i := range nonce {
			nonce[i], digest[i] = byte(r.Uint32()), byte(r.Uint32())
		}
		nodeID := strings.Repeat("n", idLen)
		h := blake3.New(32, nonce[:])
		h.Write([]byte(domain))
		h.Write(digest[:])
		h.Write([]byte(nodeID))
		want := make([]byte, 8*40)
		h.XOF().Read(want)
		x := newRangeXOF(nonce, digest, nodeID)
		for i := range 40 {
			if got, w := x.next(), binary.LittleEndian.Uint64(want[8*i:]); got != w {
				t.Fatalf("node id of %d bytes, word %d: %#x, want %#x", idLen, i, got, w)
			}
		}
	}
}
