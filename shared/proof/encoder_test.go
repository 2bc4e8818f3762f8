package proof

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"lukechampine.com/blake3/bao"
)

// TestEncoder: the incremental encoder gives bao.Encode's outboard and
// root for every size around group and tree boundaries, whatever the
// sizes of the writes.
func TestEncoder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 9*GroupSize+3)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	var sizes []int
	for _, g := range []int{0, 1, 2, 3, 4, 5, 8, 9} {
		for _, d := range []int{-1, 0, 1} {
			if s := g*GroupSize + d; s >= 0 && s <= len(data) {
				sizes = append(sizes, s)
			}
		}
	}
	sizes = append(sizes, 1, 1023, 1024, 1025, 5*GroupSize+777)
	for _, size := range sizes {
		wantOB, wantRoot := bao.EncodeBuf(data[:size], Group, true)
		for _, step := range []int{1 << 30, GroupSize, 1000, 3*GroupSize + 1, 1} {
			if step == 1 && size > 2*GroupSize {
				continue
			}
			e := NewEncoder()
			for p := data[:size]; len(p) > 0; {
				k := min(step, len(p))
				e.Write(p[:k])
				p = p[k:]
			}
			ob, root := e.Finish()
			if root != wantRoot || !bytes.Equal(ob, wantOB) {
				t.Errorf("size %d, writes of %d: root or outboard differs from bao.Encode's", size, step)
			}
		}
	}
}

func BenchmarkEncoder64MiB(b *testing.B) {
	data := make([]byte, 64<<20)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		e := NewEncoder()
		for p := data; len(p) > 0; p = p[min(len(p), 1<<20):] {
			e.Write(p[:min(len(p), 1<<20)])
		}
		e.Finish()
	}
}
