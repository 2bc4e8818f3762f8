package store

import (
	"bytes"
	"encoding/binary"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"lukechampine.com/blake3/bao"

	"dstor/shared/cid"
)

// openTestDisk opens a store in a fresh directory and closes it at cleanup.
func openTestDisk(t testing.TB) (*Disk, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "store")
	d, err := OpenDisk(dir)
	if err != nil {
		t.Fatalf("OpenDisk(%s): %v", dir, err)
	}
	t.Cleanup(func() { d.Close() })
	return d, dir
}

// blobOf returns n deterministic pseudo-random bytes; seed tells blobs apart.
func blobOf(n int, seed uint64) []byte {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	binary.LittleEndian.PutUint64(key[8:], uint64(n))
	b := make([]byte, n)
	rand.NewChaCha8(key).Read(b)
	return b
}

// commit writes data to a new Writer in pieces and commits it under its CID.
func commit(t testing.TB, s Store, data []byte) cid.CID {
	t.Helper()
	c := cid.Sum(data)
	w, err := s.Create()
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if err := writeInPieces(w, data); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if err := w.Commit(c, int64(len(data))); err != nil {
		t.Fatalf("Commit(%d bytes): %v", len(data), err)
	}
	return c
}

// writeInPieces writes data with uneven write sizes, as a network would.
func writeInPieces(w io.Writer, data []byte) error {
	for i, step := 0, 1; len(data) > 0; i++ {
		n := min(len(data), step)
		if _, err := w.Write(data[:n]); err != nil {
			return err
		}
		data = data[n:]
		step = step*3 + 7
	}
	return nil
}

// checkBlob asserts that the store holds exactly data under c, with an
// outboard of the right size that verifies against c.
func checkBlob(t testing.TB, s Store, c cid.CID, data []byte) {
	t.Helper()
	n, ok := s.Has(c)
	if !ok || n != int64(len(data)) {
		t.Fatalf("Has = %d, %v; want %d, true", n, ok, len(data))
	}
	b, err := s.Open(c)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer b.Close()
	if b.Size != int64(len(data)) {
		t.Errorf("Blob.Size = %d, want %d", b.Size, len(data))
	}
	got, err := io.ReadAll(io.NewSectionReader(b.Data, 0, b.Size+1))
	if err != nil {
		t.Fatalf("read blob: %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("blob bytes differ from what was committed (%d vs %d bytes)", len(got), len(data))
	}
	ob, err := io.ReadAll(io.NewSectionReader(b.Outboard, 0, b.OutboardSize+1))
	if err != nil {
		t.Fatalf("read outboard: %v", err)
	}
	want := bao.EncodedSize(len(data), Group, true)
	if b.OutboardSize != int64(want) || len(ob) != want {
		t.Errorf("outboard size = %d (%d bytes read), want EncodedSize = %d", b.OutboardSize, len(ob), want)
	}
	ok, err = bao.Decode(io.Discard, bytes.NewReader(data), bytes.NewReader(ob), Group, c.Digest())
	if err != nil || !ok {
		t.Errorf("bao.Decode(outboard) = %v, %v; want true, nil", ok, err)
	}
}

// tree lists every file and directory under dir (slash-separated, relative)
// with its mode and size.
type entry struct {
	mode fs.FileMode
	size int64
}

func tree(t *testing.T, dir string) map[string]entry {
	t.Helper()
	m := make(map[string]entry)
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		size := fi.Size()
		if fi.IsDir() {
			size = 0
		}
		m[filepath.ToSlash(rel)] = entry{mode: fi.Mode(), size: size}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", dir, err)
	}
	return m
}

// filesUnder lists the regular files under dir/sub, relative to dir.
func filesUnder(t *testing.T, dir, sub string) []string {
	t.Helper()
	var out []string
	for p, e := range tree(t, filepath.Join(dir, sub)) {
		if e.mode.IsRegular() {
			out = append(out, sub+"/"+p)
		}
	}
	sort.Strings(out)
	return out
}

// checkEmpty asserts that the store has no temp files and no blob files.
func checkEmpty(t *testing.T, dir string) {
	t.Helper()
	if got := filesUnder(t, dir, "tmp"); len(got) != 0 {
		t.Errorf("tmp/ holds %q, want nothing", got)
	}
	if got := filesUnder(t, dir, "blobs"); len(got) != 0 {
		t.Errorf("blobs/ holds %q, want nothing", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "tmp")); err != nil {
		t.Errorf("tmp/ should still exist: %v", err)
	}
}
