package proof

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"testing"
)

func buffers(n, size int) [][]byte {
	bufs := make([][]byte, n)
	for i := range bufs {
		bufs[i] = make([]byte, size)
	}
	return bufs
}

func TestRangeAhead(t *testing.T) {
	configs := []struct {
		name string
		bufs [][]byte
	}{
		{"two groups", buffers(2, GroupSize)},
		{"three odd sizes", buffers(3, 3*GroupSize+5)},
		{"four large", buffers(4, 64<<10)},
	}
	for _, size := range []int{0, 1, GroupSize, GroupSize + 1, 7*GroupSize + 5, 1<<20 + 7} {
		data := blob(size, 1)
		ob, root := encode(t, data)
		v, err := NewVerifier(root, int64(size), bytes.NewReader(ob), int64(len(ob)))
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		rng := rand.New(rand.NewPCG(uint64(size), 10))
		ranges := [][2]int{{0, size}, {0, 0}}
		for range 20 {
			if size == 0 {
				break
			}
			off := rng.IntN(size)
			ranges = append(ranges, [2]int{off, rng.IntN(size-off) + 1})
		}
		for _, c := range configs {
			for _, r := range ranges {
				w := &countingWriter{}
				if err := v.RangeAhead(w, bytes.NewReader(data), int64(r[0]), int64(r[1]), c.bufs); err != nil {
					t.Fatalf("%s: size %d range %v: %v", c.name, size, r, err)
				}
				if !bytes.Equal(w.Bytes(), data[r[0]:r[0]+r[1]]) {
					t.Fatalf("%s: size %d range %v: wrong bytes", c.name, size, r)
				}
				if max := (r[1]+GroupSize-1)/GroupSize + 1; w.writes > max {
					t.Fatalf("%s: size %d range %v: %d writes, want one per buffer-full (at most %d)", c.name, size, r, w.writes, max)
				}
			}
		}
	}
	v, _ := NewVerifier([32]byte{}, 0, bytes.NewReader(make([]byte, OutboardSize(0))), OutboardSize(0))
	if err := v.RangeAhead(io.Discard, bytes.NewReader(nil), 0, 0, buffers(1, GroupSize)); err == nil {
		t.Error("one buffer was accepted")
	}
	if err := v.RangeAhead(io.Discard, bytes.NewReader(nil), 0, 0, buffers(2, GroupSize-1)); err == nil {
		t.Error("buffers smaller than a group were accepted")
	}
}

type countingWriter struct {
	bytes.Buffer
	writes int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	return w.Buffer.Write(p)
}

// TestRangeAheadFlippedByte: no byte of a buffer-full (two groups here)
// holding a bad group is released, what is released is the original, and the error is a
// mismatch exactly when the range covers the bad group.
func TestRangeAheadFlippedByte(t *testing.T) {
	size := 8*GroupSize + 100
	data := blob(size, 3)
	ob, root := encode(t, data)
	bad := bytes.Clone(data)
	at := 5*GroupSize + 77
	bad[at] ^= 0x01
	v, _ := NewVerifier(root, int64(size), bytes.NewReader(ob), int64(len(ob)))
	tests := []struct {
		name     string
		off, n   int
		mismatch bool
	}{
		{"whole", 0, size, true},
		{"the byte", at, 1, true},
		{"from the group before", 4 * GroupSize, 2 * GroupSize, true},
		{"group before", 4 * GroupSize, GroupSize, false},
		{"group after", 6 * GroupSize, 100, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := v.RangeAhead(&out, bytes.NewReader(bad), int64(tc.off), int64(tc.n), buffers(2, 2*GroupSize))
			if tc.mismatch != errors.Is(err, ErrMismatch) {
				t.Fatalf("err = %v, want mismatch %v", err, tc.mismatch)
			}
			if got := out.Bytes(); !bytes.Equal(got, data[tc.off:tc.off+len(got)]) {
				t.Fatal("released bytes that differ from the original")
			}
			if tc.mismatch && out.Len() > 0 && tc.off+out.Len() > 5*GroupSize {
				t.Fatalf("released %d bytes, reaching into the bad group", out.Len())
			}
			// Fills of 1, 2, 2 groups, then the bad group's.
			if tc.name == "whole" && out.Len() != 5*GroupSize {
				t.Fatalf("released %d bytes, want the fills before the bad group's (5 groups)", out.Len())
			}
		})
	}
}

func TestRangeAheadErrors(t *testing.T) {
	data := blob(9*GroupSize, 5)
	ob, root := encode(t, data)
	v, _ := NewVerifier(root, int64(len(data)), bytes.NewReader(ob), int64(len(ob)))
	err := v.RangeAhead(io.Discard, bytes.NewReader(data[:len(data)-1]), 0, int64(len(data)), buffers(2, GroupSize))
	if err == nil || errors.Is(err, ErrMismatch) {
		t.Fatalf("truncated data: %v, want an I/O error", err)
	}
	stop := errors.New("client gone")
	w := &failingWriter{after: 2, err: stop}
	if err := v.RangeAhead(w, bytes.NewReader(data), 0, int64(len(data)), buffers(3, GroupSize)); !errors.Is(err, stop) {
		t.Fatalf("failing writer: %v, want its error", err)
	}
	if w.writes != 3 {
		t.Fatalf("%d writes after the writer failed, want none", w.writes-3)
	}
}

type failingWriter struct {
	after, writes int
	err           error
}

func (w *failingWriter) Write(p []byte) (int, error) {
	w.writes++
	if w.writes > w.after {
		return 0, w.err
	}
	return len(p), nil
}

func BenchmarkRangeAhead256MiB(b *testing.B) {
	data := blob(256<<20, 6)
	ob, root := encode(b, data)
	v, _ := NewVerifier(root, int64(len(data)), bytes.NewReader(ob), int64(len(ob)))
	bufs := buffers(3, 512<<10)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := v.RangeAhead(io.Discard, bytes.NewReader(data), 0, int64(len(data)), bufs); err != nil {
			b.Fatal(err)
		}
	}
}

// TestRangeAheadFirstFill: the first bytes of a long range go out after
// one group, not a whole buffer; later writes grow to whole buffers.
func TestRangeAheadFirstFill(t *testing.T) {
	data := blob(4<<20, 9)
	ob, root := encode(t, data)
	v, _ := NewVerifier(root, int64(len(data)), bytes.NewReader(ob), int64(len(ob)))
	w := &sizesWriter{}
	if err := v.RangeAhead(w, bytes.NewReader(data), 0, int64(len(data)), buffers(3, 512<<10)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(w.Bytes(), data) {
		t.Fatal("wrong bytes")
	}
	if w.sizes[0] != GroupSize || w.sizes[1] != 2*GroupSize {
		t.Errorf("first writes of %d and %d bytes, want %d and %d", w.sizes[0], w.sizes[1], GroupSize, 2*GroupSize)
	}
	if most := slices.Max(w.sizes); most != 512<<10 {
		t.Errorf("largest write of %d bytes, want a whole buffer (%d)", most, 512<<10)
	}
}

type sizesWriter struct {
	bytes.Buffer
	sizes []int
}

func (w *sizesWriter) Write(p []byte) (int, error) {
	w.sizes = append(w.sizes, len(p))
	return w.Buffer.Write(p)
}
