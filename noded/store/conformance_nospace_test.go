package store

import (
	"errors"
	"testing"

	"dstor/shared/cid"
)

// testNoSpace checks a store with a few MiB free: a blob larger than the
// free space fails with ErrNoSpace in Write or Commit, gives its space
// back at once, leaves nothing behind and the stored blobs readable, and
// a removal makes room for new blobs.
func testNoSpace(t *testing.T, s Store) {
	old := make(map[cid.CID][]byte)
	for i := range 3 {
		data := blobOf(64<<10, uint64(500+i))
		old[commit(t, s, data)] = data
	}
	before := contentsOf(t, s)
	_, free, err := s.Space()
	if err != nil {
		t.Fatal(err)
	}
	if free <= 0 || free > 64<<20 {
		t.Fatalf("setup: %d bytes free, want a few MiB", free)
	}

	big := blobOf(int(free)+1<<20, 510)
	w, err := s.Create()
	if err != nil {
		t.Fatal(err)
	}
	var werr error
	for p := big; len(p) > 0 && werr == nil; {
		k := min(len(p), 64<<10)
		_, werr = w.Write(p[:k])
		p = p[k:]
	}
	if werr != nil {
		if !errors.Is(werr, ErrNoSpace) {
			t.Fatalf("Write past the free space = %v, want ErrNoSpace", werr)
		}
		t.Logf("Write failed: %v", werr)
		// The writer gave its space back before anyone aborted it: half
		// the free space fits.
		half := blobOf(int(free/2), 511)
		c := commit(t, s, half)
		checkBlob(t, s, c, half)
		if err := s.Remove(c); err != nil {
			t.Fatal(err)
		}
		// And it stays failed.
		if _, err := w.Write([]byte{1}); !errors.Is(err, ErrNoSpace) {
			t.Errorf("Write after ErrNoSpace = %v, want ErrNoSpace again", err)
		}
		if err := w.Commit(cid.Sum(big), int64(len(big))); !errors.Is(err, ErrNoSpace) {
			t.Errorf("Commit after ErrNoSpace = %v, want ErrNoSpace again", err)
		}
	} else if err := w.Commit(cid.Sum(big), int64(len(big))); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("Commit of a blob larger than the free space = %v, want ErrNoSpace", err)
	} else {
		t.Logf("Commit failed: %v", err)
	}
	w.Abort()
	if _, ok := s.Has(cid.Sum(big)); ok {
		t.Error("the blob that did not fit is stored")
	}
	checkContents(t, s, before)
	for c, data := range old {
		checkBlob(t, s, c, data)
	}

	// A removal makes room, and small blobs commit again.
	for c := range old {
		if err := s.Remove(c); err != nil {
			t.Fatal(err)
		}
		delete(old, c)
		break
	}
	small := blobOf(1000, 512)
	c := commit(t, s, small)
	checkBlob(t, s, c, small)
	for c, data := range old {
		checkBlob(t, s, c, data)
	}
}
