package proof

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// TestStreamChunked: with the first group's chunk values, the first group
// is released a chunk at a time as it arrives, the rest as Stream.
func TestStreamChunked(t *testing.T) {
	for _, size := range []int{GroupSize + 1, 2 * GroupSize, 7*GroupSize + 5, 1<<20 + 7} {
		data := blob(size, 21)
		ob, root := encode(t, data)
		v, err := NewVerifier(root, int64(size), bytes.NewReader(ob), int64(len(ob)))
		if err != nil {
			t.Fatal(err)
		}
		cvs := ChunkCVs(nil, data[:GroupSize])
		if len(cvs) != ChunkCVsSize {
			t.Fatalf("%d bytes of chunk values, want %d", len(cvs), ChunkCVsSize)
		}
		for _, bs := range []int{GroupSize, 3*GroupSize + 5, 512 << 10} {
			w := &sizesWriter{}
			// 700-byte reads: the first chunk is whole after two.
			src := &limitedReads{r: bytes.NewReader(data), n: 700}
			if err := v.StreamChunked(w, src, make([]byte, bs), cvs); err != nil {
				t.Fatalf("size %d, buffer %d: %v", size, bs, err)
			}
			if !bytes.Equal(w.Bytes(), data) {
				t.Fatalf("size %d, buffer %d: wrong bytes", size, bs)
			}
			if w.sizes[0] != 1024 {
				t.Fatalf("size %d, buffer %d: first write of %d bytes, want one chunk", size, bs, w.sizes[0])
			}
		}
		if err := v.StreamChunked(io.Discard, iotest.OneByteReader(bytes.NewReader(data)), make([]byte, GroupSize), cvs); err != nil {
			t.Fatalf("size %d, one byte at a time: %v", size, err)
		}
	}
}

// TestStreamChunkedForged: chunk values that do not match the tree, and
// bytes that do not match the values, release nothing that is not the
// original.
func TestStreamChunkedForged(t *testing.T) {
	size := 9*GroupSize + 3
	data := blob(size, 22)
	ob, root := encode(t, data)
	v, _ := NewVerifier(root, int64(size), bytes.NewReader(ob), int64(len(ob)))
	cvs := ChunkCVs(nil, data[:GroupSize])
	for i := 0; i < len(cvs); i += 37 {
		forged := bytes.Clone(cvs)
		forged[i] ^= 0x01
		var out bytes.Buffer
		if err := v.StreamChunked(&out, bytes.NewReader(data), make([]byte, GroupSize), forged); !errors.Is(err, ErrMismatch) {
			t.Fatalf("forged value byte %d: %v, want a mismatch", i, err)
		}
		if out.Len() != 0 {
			t.Fatalf("forged value byte %d: released %d bytes", i, out.Len())
		}
	}
	// Values made from other bytes, consistent with them but not the tree.
	other := bytes.Clone(data)
	other[5000] ^= 0x01
	if err := v.StreamChunked(io.Discard, bytes.NewReader(other), make([]byte, GroupSize), ChunkCVs(nil, other[:GroupSize])); !errors.Is(err, ErrMismatch) {
		t.Fatalf("values of other bytes: %v, want a mismatch", err)
	}
	for _, at := range []int{0, 3*1024 + 9, GroupSize - 1, GroupSize, 5*GroupSize + 1, size - 1} {
		bad := bytes.Clone(data)
		bad[at] ^= 0x10
		var out bytes.Buffer
		err := v.StreamChunked(&out, bytes.NewReader(bad), make([]byte, 4*GroupSize), cvs)
		if !errors.Is(err, ErrMismatch) {
			t.Fatalf("flip at %d: err = %v, want a mismatch", at, err)
		}
		if got := out.Bytes(); !bytes.Equal(got, data[:len(got)]) {
			t.Fatalf("flip at %d: released bytes that differ from the original", at)
		}
		limit := at / GroupSize * GroupSize
		if at < GroupSize {
			limit = at / 1024 * 1024
		}
		if out.Len() > limit {
			t.Fatalf("flip at %d: released %d bytes, reaching into the bad chunk or group", at, out.Len())
		}
	}
	for i := 8; i < len(ob); i += 61 {
		forged := bytes.Clone(ob)
		forged[i] ^= 0x04
		v, _ := NewVerifier(root, int64(size), bytes.NewReader(forged), int64(len(forged)))
		if err := v.StreamChunked(io.Discard, bytes.NewReader(data), make([]byte, GroupSize), cvs); !errors.Is(err, ErrMismatch) {
			t.Fatalf("forged node byte %d: %v", i, err)
		}
	}
}

// TestFirstGroup: a holder's check of the first group gives the values
// StreamChunked takes, and refuses a group or tree that is not the blob's.
func TestFirstGroup(t *testing.T) {
	size := 5*GroupSize + 9
	data := blob(size, 25)
	ob, root := encode(t, data)
	v, _ := NewVerifier(root, int64(size), bytes.NewReader(ob), int64(len(ob)))
	lead := []byte("head")
	out, err := v.FirstGroup(lead, data[:GroupSize])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out[:4], lead) || !bytes.Equal(out[4:], ChunkCVs(nil, data[:GroupSize])) {
		t.Fatal("FirstGroup did not append the chunk values")
	}
	bad := bytes.Clone(data[:GroupSize])
	bad[GroupSize-1] ^= 0x80
	if _, err := v.FirstGroup(nil, bad); !errors.Is(err, ErrMismatch) {
		t.Fatalf("a flipped byte: %v, want a mismatch", err)
	}
	forged := bytes.Clone(ob)
	forged[8+64+3] ^= 0x01 // the second node on the path to the first group
	fv, _ := NewVerifier(root, int64(size), bytes.NewReader(forged), int64(len(forged)))
	if _, err := fv.FirstGroup(nil, data[:GroupSize]); !errors.Is(err, ErrMismatch) {
		t.Fatalf("a forged tree node: %v, want a mismatch", err)
	}
	if _, err := v.FirstGroup(nil, data[:GroupSize-1]); err == nil || errors.Is(err, ErrMismatch) {
		t.Fatalf("a short group: %v, want a usage error", err)
	}
}

func TestStreamChunkedErrors(t *testing.T) {
	data := blob(3*GroupSize, 23)
	ob, root := encode(t, data)
	v, _ := NewVerifier(root, int64(len(data)), bytes.NewReader(ob), int64(len(ob)))
	cvs := ChunkCVs(nil, data[:GroupSize])
	if err := v.StreamChunked(io.Discard, bytes.NewReader(data), make([]byte, GroupSize), cvs[:32]); err == nil || errors.Is(err, ErrMismatch) {
		t.Errorf("short values: %v, want a usage error", err)
	}
	if err := v.StreamChunked(io.Discard, bytes.NewReader(data), make([]byte, GroupSize-1), cvs); err == nil || errors.Is(err, ErrMismatch) {
		t.Errorf("a buffer smaller than a group: %v", err)
	}
	var out bytes.Buffer
	if err := v.StreamChunked(&out, bytes.NewReader(data[:5000]), make([]byte, GroupSize), cvs); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("stream cut in the first group: %v, want io.ErrUnexpectedEOF", err)
	}
	if out.Len() != 4*1024 || !bytes.Equal(out.Bytes(), data[:out.Len()]) {
		t.Errorf("stream cut at 5000 released %d bytes, want the 4 whole chunks", out.Len())
	}
	small := blob(GroupSize, 24)
	sob, sroot := encode(t, small)
	sv, _ := NewVerifier(sroot, int64(len(small)), bytes.NewReader(sob), int64(len(sob)))
	if err := sv.StreamChunked(io.Discard, bytes.NewReader(small), make([]byte, GroupSize), ChunkCVs(nil, small)); err == nil || errors.Is(err, ErrMismatch) {
		t.Errorf("a one-group blob: %v, want a usage error", err)
	}
}

// limitedReads returns at most n bytes per Read.
type limitedReads struct {
	r io.Reader
	n int
}

func (l *limitedReads) Read(p []byte) (int, error) {
	return l.r.Read(p[:min(len(p), l.n)])
}

func BenchmarkFirstGroup(b *testing.B) {
	data := blob(256<<20, 26)
	ob, root := encode(b, data)
	v, _ := NewVerifier(root, int64(len(data)), bytes.NewReader(ob), int64(len(ob)))
	dst := make([]byte, 0, ChunkCVsSize)
	b.SetBytes(GroupSize)
	for b.Loop() {
		if _, err := v.FirstGroup(dst, data[:GroupSize]); err != nil {
			b.Fatal(err)
		}
	}
}
