package node

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// countingFile counts the reads that reach a real file.
type countingFile struct {
	f     *os.File
	reads int
}

func (c *countingFile) ReadAt(p []byte, off int64) (int, error) {
	c.reads++
	return c.f.ReadAt(p, off)
}

func TestPagedReader(t *testing.T) {
	for _, size := range []int64{0, 100, outboardPage, 3*outboardPage + 7} {
		data := make([]byte, size)
		rand.NewChaCha8([32]byte{byte(size)}).Read(data)
		path := filepath.Join(t.TempDir(), "ob")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cf := &countingFile{f: f}
		p := newPagedReader(cf, size)
		rng := rand.New(rand.NewPCG(uint64(size), 1))
		for range 200 {
			off := rng.Int64N(size + 1)
			n := rng.Int64N(size-off+1) + rng.Int64N(2) // sometimes one past the end
			buf := make([]byte, n)
			k, err := p.ReadAt(buf, off)
			want := min(n, size-off)
			if int64(k) != want || !bytes.Equal(buf[:k], data[off:off+want]) {
				t.Fatalf("size %d: read %d+%d gave %d bytes (%v), want %d of the file", size, off, n, k, err, want)
			}
			if (want < n) != (err == io.EOF) || want == n && err != nil {
				t.Fatalf("size %d: read %d+%d: err %v", size, off, n, err)
			}
		}
		if pages := int((size + outboardPage - 1) / outboardPage); cf.reads > pages {
			t.Errorf("size %d: %d reads of the file, want each of its %d pages read once", size, cf.reads, pages)
		}
		if _, err := p.ReadAt(make([]byte, 1), -1); err == nil {
			t.Errorf("size %d: a negative offset was read", size)
		}
	}
}

// TestPagedReaderShortFile: a file shorter than it should be is an error,
// never zeros passed off as tree nodes.
func TestPagedReaderShortFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ob")
	if err := os.WriteFile(path, make([]byte, outboardPage+10), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := newPagedReader(f, 2*outboardPage)
	if _, err := p.ReadAt(make([]byte, 64), 10); err != nil {
		t.Fatalf("the whole first page: %v", err)
	}
	if _, err := p.ReadAt(make([]byte, 64), outboardPage+20); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("the short second page: %v, want io.ErrUnexpectedEOF", err)
	}
}
