package proof

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"lukechampine.com/blake3/bao"
)

func blob(n int, seed uint64) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{byte(seed), byte(n), byte(n >> 8), byte(n >> 16)}).Read(b)
	return b
}

func encode(t testing.TB, data []byte) ([]byte, [32]byte) {
	t.Helper()
	ob, root := bao.EncodeBuf(data, Group, true)
	if int64(len(ob)) != OutboardSize(int64(len(data))) {
		t.Fatalf("outboard %d bytes, OutboardSize says %d", len(ob), OutboardSize(int64(len(data))))
	}
	return ob, root
}

func TestRange(t *testing.T) {
	buf := make([]byte, 64<<10)
	for _, size := range []int{0, 1, 1023, 1024, GroupSize - 1, GroupSize, GroupSize + 1, 3*GroupSize + 5, 1<<20 + 7} {
		data := blob(size, 1)
		ob, root := encode(t, data)
		v, err := NewVerifier(root, int64(size), bytes.NewReader(ob), int64(len(ob)))
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		rng := rand.New(rand.NewPCG(uint64(size), 9))
		ranges := [][2]int{{0, size}, {0, 0}}
		for range 20 {
			if size == 0 {
				break
			}
			off := rng.IntN(size)
			ranges = append(ranges, [2]int{off, rng.IntN(size-off) + 1})
		}
		for _, r := range ranges {
			var out bytes.Buffer
			if err := v.Range(&out, bytes.NewReader(data), int64(r[0]), int64(r[1]), buf); err != nil {
				t.Fatalf("size %d range %v: %v", size, r, err)
			}
			if !bytes.Equal(out.Bytes(), data[r[0]:r[0]+r[1]]) {
				t.Fatalf("size %d range %v: wrong bytes", size, r)
			}
		}
	}
}

func TestRangeSmallBuffer(t *testing.T) {
	data := blob(5*GroupSize+3, 2)
	ob, root := encode(t, data)
	v, _ := NewVerifier(root, int64(len(data)), bytes.NewReader(ob), int64(len(ob)))
	var out bytes.Buffer
	if err := v.Range(&out, bytes.NewReader(data), 100, int64(len(data))-200, make([]byte, GroupSize)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), data[100:len(data)-100]) {
		t.Fatal("wrong bytes")
	}
	if err := v.Range(io.Discard, bytes.NewReader(data), 0, 1, make([]byte, GroupSize-1)); err == nil {
		t.Fatal("a buffer smaller than a group was accepted")
	}
}

// TestFlippedByte: a flipped data byte is caught by every range covering
// its group, no byte of that group is released, and ranges elsewhere pass.
func TestFlippedByte(t *testing.T) {
	size := 8*GroupSize + 100
	data := blob(size, 3)
	ob, root := encode(t, data)
	bad := bytes.Clone(data)
	at := 5*GroupSize + 77
	bad[at] ^= 0x01
	v, _ := NewVerifier(root, int64(size), bytes.NewReader(ob), int64(len(ob)))
	buf := make([]byte, 64<<10)
	tests := []struct {
		name     string
		off, n   int
		mismatch bool
	}{
		{"whole", 0, size, true},
		{"the byte", at, 1, true},
		{"same group, other bytes", 5 * GroupSize, 10, true},
		{"group before", 4 * GroupSize, GroupSize, false},
		{"group after", 6 * GroupSize, 100, false},
		{"start", 0, 10, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := v.Range(&out, bytes.NewReader(bad), int64(tc.off), int64(tc.n), buf)
			if tc.mismatch != errors.Is(err, ErrMismatch) {
				t.Fatalf("err = %v, want mismatch %v", err, tc.mismatch)
			}
			if got := out.Bytes(); !bytes.Equal(got, data[tc.off:tc.off+len(got)]) {
				t.Fatal("released bytes that differ from the original")
			}
			if tc.mismatch && out.Len() > 0 && tc.off+out.Len() > 5*GroupSize {
				t.Fatalf("released %d bytes, reaching into the bad group", out.Len())
			}
		})
	}
}

func TestBadOutboard(t *testing.T) {
	data := blob(4*GroupSize, 4)
	ob, root := encode(t, data)
	buf := make([]byte, GroupSize)
	if _, err := NewVerifier(root, int64(len(data)), bytes.NewReader(ob[:len(ob)-1]), int64(len(ob)-1)); !errors.Is(err, ErrMismatch) {
		t.Fatalf("short outboard: %v", err)
	}
	lying := bytes.Clone(ob)
	lying[0]++
	if _, err := NewVerifier(root, int64(len(data)), bytes.NewReader(lying), int64(len(lying))); !errors.Is(err, ErrMismatch) {
		t.Fatalf("outboard with the wrong length header: %v", err)
	}
	for i := 8; i < len(ob); i += 17 {
		forged := bytes.Clone(ob)
		forged[i] ^= 0x80
		v, err := NewVerifier(root, int64(len(data)), bytes.NewReader(forged), int64(len(forged)))
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Verify(bytes.NewReader(data), buf); !errors.Is(err, ErrMismatch) {
			t.Fatalf("forged node byte %d: %v", i, err)
		}
	}
	other := root
	other[0]++
	v, _ := NewVerifier(other, int64(len(data)), bytes.NewReader(ob), int64(len(ob)))
	if err := v.Verify(bytes.NewReader(data), buf); !errors.Is(err, ErrMismatch) {
		t.Fatalf("wrong root: %v", err)
	}
}

func TestShortData(t *testing.T) {
	data := blob(3*GroupSize, 5)
	ob, root := encode(t, data)
	v, _ := NewVerifier(root, int64(len(data)), bytes.NewReader(ob), int64(len(ob)))
	err := v.Verify(bytes.NewReader(data[:len(data)-1]), make([]byte, GroupSize))
	if err == nil || errors.Is(err, ErrMismatch) {
		t.Fatalf("truncated data: %v, want an I/O error", err)
	}
}

func FuzzRange(f *testing.F) {
	f.Add(uint16(5000), uint32(10), uint32(100), uint32(0))
	f.Add(uint16(40000), uint32(16383), uint32(2), uint32(16384))
	f.Fuzz(func(t *testing.T, size uint16, off, n, flip uint32) {
		data := blob(int(size), 7)
		ob, root := encode(t, data)
		v, err := NewVerifier(root, int64(size), bytes.NewReader(ob), int64(len(ob)))
		if err != nil {
			t.Fatal(err)
		}
		if size == 0 {
			return
		}
		o := int64(off) % int64(size)
		k := int64(n) % (int64(size) - o + 1)
		bad := bytes.Clone(data)
		fl := int64(flip) % int64(size)
		bad[fl] ^= 1
		var out bytes.Buffer
		err = v.Range(&out, bytes.NewReader(bad), o, k, make([]byte, GroupSize))
		if !bytes.Equal(out.Bytes(), data[o:o+int64(out.Len())]) {
			t.Fatal("released a corrupt byte")
		}
		covers := fl/GroupSize >= o/GroupSize && fl/GroupSize <= (o+k-1)/GroupSize && k > 0
		if covers != (err != nil) {
			t.Fatalf("range %d+%d, flip at %d: err %v", o, k, fl, err)
		}
		out.Reset()
		err = v.RangeAhead(&out, bytes.NewReader(bad), o, k, buffers(2, GroupSize+int(flip%GroupSize)))
		if !bytes.Equal(out.Bytes(), data[o:o+int64(out.Len())]) {
			t.Fatal("RangeAhead released a corrupt byte")
		}
		if covers != (err != nil) {
			t.Fatalf("RangeAhead: range %d+%d, flip at %d: err %v", o, k, fl, err)
		}
	})
}

func BenchmarkVerify256MiB(b *testing.B) {
	data := blob(256<<20, 6)
	ob, root := encode(b, data)
	v, _ := NewVerifier(root, int64(len(data)), bytes.NewReader(ob), int64(len(ob)))
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := v.Verify(bytes.NewReader(data), buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRange4KiBOf1GiB(b *testing.B) {
	size := int64(1 << 30)
	data := blob(1<<20, 8) // repeated: only the tree matters for this figure
	r := &repeat{data}
	ob := make([]byte, OutboardSize(size))
	root, err := bao.Encode(&sliceAt{ob}, io.NewSectionReader(r, 0, size), size, Group, true)
	if err != nil {
		b.Fatal(err)
	}
	v, _ := NewVerifier(root, size, bytes.NewReader(ob), int64(len(ob)))
	buf := make([]byte, GroupSize)
	b.SetBytes(4096)
	for i := 0; b.Loop(); i++ {
		off := int64(i*7919*GroupSize) % (size - 4096)
		if err := v.Range(io.Discard, r, off, 4096, buf); err != nil {
			b.Fatal(err)
		}
	}
}

type repeat struct{ b []byte }

func (r *repeat) ReadAt(p []byte, off int64) (int, error) {
	for i := range p {
		p[i] = r.b[(off+int64(i))%int64(len(r.b))]
	}
	return len(p), nil
}

type sliceAt struct{ b []byte }

func (s *sliceAt) WriteAt(p []byte, off int64) (int, error) { return copy(s.b[off:], p), nil }

// TestRangeReadsOnlyItsGroups: a small range of a large blob reads the
// groups it covers, not a buffer-full beyond them.
func TestRangeReadsOnlyItsGroups(t *testing.T) {
	data := blob(64*GroupSize, 11)
	ob, root := encode(t, data)
	v, _ := NewVerifier(root, int64(len(data)), bytes.NewReader(ob), int64(len(ob)))
	r := &readCounter{r: bytes.NewReader(data)}
	if err := v.Range(io.Discard, r, 3*GroupSize+10, GroupSize, make([]byte, 32*GroupSize)); err != nil {
		t.Fatal(err)
	}
	if r.n != 2*GroupSize {
		t.Fatalf("read %d bytes for a range across two groups, want %d", r.n, 2*GroupSize)
	}
}

type readCounter struct {
	r io.ReaderAt
	n int
}

func (c *readCounter) ReadAt(p []byte, off int64) (int, error) {
	k, err := c.r.ReadAt(p, off)
	c.n += k
	return k, err
}
