package proof

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

func TestStream(t *testing.T) {
	readers := []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{
		{"whole reads", func(r io.Reader) io.Reader { return r }},
		{"one byte at a time", iotest.OneByteReader},
		{"half reads", iotest.HalfReader},
	}
	bufs := []int{GroupSize, 3*GroupSize + 5, 512 << 10}
	for _, size := range []int{0, 1, 1023, GroupSize, GroupSize + 1, 7*GroupSize + 5, 1<<20 + 7} {
		data := blob(size, 11)
		ob, root := encode(t, data)
		v, err := NewVerifier(root, int64(size), bytes.NewReader(ob), int64(len(ob)))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range readers {
			if r.name == "one byte at a time" && size > 64<<10 {
				continue
			}
			for _, bs := range bufs {
				w := &countingWriter{}
				if err := v.Stream(w, r.wrap(bytes.NewReader(data)), make([]byte, bs)); err != nil {
					t.Fatalf("size %d, %s, buffer %d: %v", size, r.name, bs, err)
				}
				if !bytes.Equal(w.Bytes(), data) {
					t.Fatalf("size %d, %s, buffer %d: wrong bytes", size, r.name, bs)
				}
				// Each batch holds at least twice the one before, from
				// one group up to the buffer's whole groups.
				if most := batches(size, bs); w.writes > most {
					t.Errorf("size %d, %s, buffer %d: %d writes, want at most %d", size, r.name, bs, w.writes, most)
				}
			}
		}
	}
	v, _ := NewVerifier([32]byte{}, 0, bytes.NewReader(make([]byte, OutboardSize(0))), OutboardSize(0))
	if err := v.Stream(io.Discard, bytes.NewReader(nil), make([]byte, GroupSize-1)); err == nil || errors.Is(err, ErrMismatch) {
		t.Errorf("a buffer smaller than a group: %v", err)
	}
	if err := v.Stream(io.Discard, bytes.NewReader(nil), make([]byte, GroupSize)); !errors.Is(err, ErrMismatch) {
		t.Errorf("an empty blob under a root that is not the empty hash: %v", err)
	}
}

// batches is the most writes Stream may make for a blob of size bytes
// through a buffer of bs bytes.
func batches(size, bs int) int {
	bs = bs / GroupSize * GroupSize
	n, batch := 0, GroupSize
	for pos := 0; pos < size; n++ {
		pos += min(batch, size-pos)
		batch = min(2*batch, bs)
	}
	return n
}

// TestStreamFlippedByte: a bad byte stops the stream at its group, and
// every byte released before is the original.
func TestStreamFlippedByte(t *testing.T) {
	size := 40*GroupSize + 100
	data := blob(size, 12)
	ob, root := encode(t, data)
	v, _ := NewVerifier(root, int64(size), bytes.NewReader(ob), int64(len(ob)))
	for _, at := range []int{0, 77, GroupSize, 13*GroupSize + 5, 39*GroupSize + 1, size - 1} {
		bad := bytes.Clone(data)
		bad[at] ^= 0x10
		var out bytes.Buffer
		err := v.Stream(&out, bytes.NewReader(bad), make([]byte, 256<<10))
		if !errors.Is(err, ErrMismatch) {
			t.Fatalf("flip at %d: err = %v, want a mismatch", at, err)
		}
		if got := out.Bytes(); !bytes.Equal(got, data[:len(got)]) {
			t.Fatalf("flip at %d: released bytes that differ from the original", at)
		}
		if out.Len() > at/GroupSize*GroupSize {
			t.Fatalf("flip at %d: released %d bytes, reaching into the bad group", at, out.Len())
		}
	}
}

func TestStreamErrors(t *testing.T) {
	data := blob(9*GroupSize+3, 13)
	ob, root := encode(t, data)
	v, _ := NewVerifier(root, int64(len(data)), bytes.NewReader(ob), int64(len(ob)))
	buf := make([]byte, 4*GroupSize)
	var out bytes.Buffer
	err := v.Stream(&out, bytes.NewReader(data[:len(data)-1]), buf)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short stream: %v, want io.ErrUnexpectedEOF", err)
	}
	if got := out.Bytes(); len(got) > 9*GroupSize || !bytes.Equal(got, data[:len(got)]) {
		t.Errorf("short stream released %d bytes, not a prefix of the %d in whole groups", len(got), 9*GroupSize)
	}
	boom := errors.New("boom")
	if err := v.Stream(io.Discard, iotest.ErrReader(boom), buf); !errors.Is(err, boom) {
		t.Errorf("failing reader: %v", err)
	}
	stop := errors.New("client gone")
	w := &failingWriter{after: 1, err: stop}
	if err := v.Stream(w, iotest.HalfReader(bytes.NewReader(data)), buf); !errors.Is(err, stop) {
		t.Errorf("failing writer: %v, want its error", err)
	}
	if w.writes != 2 {
		t.Errorf("%d writes after the writer failed, want none", w.writes-2)
	}
	for i := 8; i < len(ob); i += 61 {
		forged := bytes.Clone(ob)
		forged[i] ^= 0x04
		v, _ := NewVerifier(root, int64(len(data)), bytes.NewReader(forged), int64(len(forged)))
		if err := v.Stream(io.Discard, bytes.NewReader(data), buf); !errors.Is(err, ErrMismatch) {
			t.Fatalf("forged node byte %d: %v", i, err)
		}
	}
}

func FuzzStream(f *testing.F) {
	f.Add(uint32(5000), uint32(0), uint16(0))
	f.Add(uint32(200000), uint32(16384), uint16(100))
	f.Add(uint32(65536), uint32(65535), uint16(7))
	f.Fuzz(func(t *testing.T, size, flip uint32, buf uint16) {
		size %= 1 << 20
		data := blob(int(size), 8)
		ob, root := encode(t, data)
		v, err := NewVerifier(root, int64(size), bytes.NewReader(ob), int64(len(ob)))
		if err != nil {
			t.Fatal(err)
		}
		bad := bytes.Clone(data)
		if size > 0 {
			bad[flip%size] ^= 1
		}
		var out bytes.Buffer
		err = v.Stream(&out, iotest.HalfReader(bytes.NewReader(bad)), make([]byte, GroupSize+int(buf)))
		if !bytes.Equal(out.Bytes(), data[:out.Len()]) {
			t.Fatal("released a corrupt byte")
		}
		if (size > 0) != errors.Is(err, ErrMismatch) {
			t.Fatalf("size %d, flip at %d: err %v", size, flip%max(size, 1), err)
		}
	})
}

func BenchmarkStream256MiB(b *testing.B) {
	data := blob(256<<20, 6)
	ob, root := encode(b, data)
	v, _ := NewVerifier(root, int64(len(data)), bytes.NewReader(ob), int64(len(ob)))
	buf := make([]byte, 512<<10)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := v.Stream(io.Discard, bytes.NewReader(data), buf); err != nil {
			b.Fatal(err)
		}
	}
}
