package challenge

import (
	"bytes"
	"testing"
)

// BenchmarkBaoVerifySlice8x1KiBIn1GiB verifies the same answers as
// BenchmarkVerify8x1KiBIn1GiB with VerifyBao (the library's
// bao.VerifySlice, group 0, one slice at a time): the reference Verify is
// measured against.
func BenchmarkBaoVerifySlice8x1KiBIn1GiB(b *testing.B) {
	g := gib()
	rs := Ranges(nonceOf(1), g.id, "node-a", gibSize, 8, 1024)
	var w bytes.Buffer
	if err := Answer(&w, synth{}, bytes.NewReader(g.ob), gibSize, rs); err != nil {
		b.Fatal(err)
	}
	answer := w.Bytes()
	root := g.id.Digest()
	b.ReportAllocs()
	defer reportCPU(b, cpuTime())
	for b.Loop() {
		if _, err := VerifyBao(root, gibSize, rs, answer); err != nil {
			b.Fatal(err)
		}
	}
}
