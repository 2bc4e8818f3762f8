package store

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"lukechampine.com/blake3/bao"

	"dstor/shared/cid"
)

func TestCommitRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int
	}{
		{"empty", 0},
		{"one byte", 1},
		{"one group", GroupSize},
		{"one group plus one", GroupSize + 1},
		{"1MiB plus 7", 1<<20 + 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, _ := openTestDisk(t)
			data := blobOf(tc.size, 1)
			c := commit(t, d, data)
			checkBlob(t, d, c, data)
			if got := d.Count(); got != 1 {
				t.Errorf("Count = %d, want 1", got)
			}

			// The outboard really binds the bytes: a flipped byte fails it.
			if tc.size > 0 {
				of, _, err := d.OpenOutboard(c)
				if err != nil {
					t.Fatal(err)
				}
				defer of.Close()
				bad := bytes.Clone(data)
				bad[len(bad)/2] ^= 1
				if ok, _ := bao.Decode(io.Discard, bytes.NewReader(bad), of, Group, c.Digest()); ok {
					t.Error("bao.Decode accepted a corrupted blob")
				}
			}
		})
	}
}

func TestCommitUnknownSize(t *testing.T) {
	d, _ := openTestDisk(t)
	data := blobOf(3*GroupSize+5, 2)
	c := cid.Sum(data)
	w, err := d.Create()
	if err != nil {
		t.Fatal(err)
	}
	if err := writeInPieces(w, data); err != nil {
		t.Fatal(err)
	}
	if w.Len() != int64(len(data)) {
		t.Errorf("Len = %d, want %d", w.Len(), len(data))
	}
	if err := w.Commit(c, -1); err != nil {
		t.Fatalf("Commit(size -1): %v", err)
	}
	checkBlob(t, d, c, data)
}

func TestMissingBlob(t *testing.T) {
	d, _ := openTestDisk(t)
	commit(t, d, []byte("something else"))
	c := cid.Sum([]byte("never stored"))
	if n, ok := d.Has(c); ok {
		t.Errorf("Has = %d, true for a blob never stored", n)
	}
	for name, open := range map[string]func(cid.CID) (int64, error){
		"Open": func(c cid.CID) (int64, error) {
			f, n, err := d.Open(c)
			if f != nil {
				f.Close()
			}
			return n, err
		},
		"OpenOutboard": func(c cid.CID) (int64, error) {
			f, n, err := d.OpenOutboard(c)
			if f != nil {
				f.Close()
			}
			return n, err
		},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := open(c); !errors.Is(err, ErrNotFound) {
				t.Errorf("err = %v, want ErrNotFound", err)
			}
		})
	}
}

func TestCommitHashMismatch(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		want cid.CID
	}{
		{"other content", blobOf(GroupSize+1, 3), cid.Sum([]byte("other"))},
		{"empty blob, cid of one byte", nil, cid.Sum([]byte{0})},
		{"one byte, cid of empty", []byte{0}, cid.Sum(nil)},
		{"one bit flipped", blobOf(1<<20+7, 4), func() cid.CID {
			b := blobOf(1<<20+7, 4)
			b[1<<20] ^= 0x80
			return cid.Sum(b)
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, dir := openTestDisk(t)
			w, err := d.Create()
			if err != nil {
				t.Fatal(err)
			}
			if err := writeInPieces(w, tc.data); err != nil {
				t.Fatal(err)
			}
			err = w.Commit(tc.want, int64(len(tc.data)))
			if !errors.Is(err, ErrHashMismatch) {
				t.Fatalf("Commit = %v, want ErrHashMismatch", err)
			}
			for _, c := range []cid.CID{tc.want, cid.Sum(tc.data)} {
				if _, ok := d.Has(c); ok {
					t.Errorf("Has(%s) = true after a failed commit", c)
				}
			}
			if got := d.Count(); got != 0 {
				t.Errorf("Count = %d, want 0", got)
			}
			checkEmpty(t, dir)
			w.Abort() // harmless after a failed commit
		})
	}
}

func TestCommitSizeMismatch(t *testing.T) {
	data := blobOf(GroupSize+1, 5)
	for _, tc := range []struct {
		name     string
		announce int64
	}{
		{"one more", int64(len(data)) + 1},
		{"one less", int64(len(data)) - 1},
		{"zero", 0},
		{"huge", 1 << 62},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, dir := openTestDisk(t)
			w, err := d.Create()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(data); err != nil {
				t.Fatal(err)
			}
			err = w.Commit(cid.Sum(data), tc.announce)
			if !errors.Is(err, ErrSizeMismatch) {
				t.Fatalf("Commit = %v, want ErrSizeMismatch", err)
			}
			if _, ok := d.Has(cid.Sum(data)); ok {
				t.Error("blob stored despite the size mismatch")
			}
			if got := d.Count(); got != 0 {
				t.Errorf("Count = %d, want 0", got)
			}
			checkEmpty(t, dir)
		})
	}
}

func TestAbort(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"nothing written", nil},
		{"some bytes", blobOf(GroupSize+1, 6)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, dir := openTestDisk(t)
			w, err := d.Create()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(tc.data); err != nil {
				t.Fatal(err)
			}
			if got := filesUnder(t, dir, "tmp"); len(got) != 1 {
				t.Fatalf("tmp/ holds %q while writing, want one temp file", got)
			}
			w.Abort()
			w.Abort() // idempotent
			checkEmpty(t, dir)
			if err := w.Commit(cid.Sum(tc.data), int64(len(tc.data))); err == nil {
				t.Error("Commit after Abort succeeded")
			}
			if _, ok := d.Has(cid.Sum(tc.data)); ok {
				t.Error("blob stored after Abort")
			}
			if got := d.Count(); got != 0 {
				t.Errorf("Count = %d, want 0", got)
			}
			checkEmpty(t, dir)
		})
	}
}

func TestCommitTwice(t *testing.T) {
	a, b := blobOf(GroupSize+1, 7), blobOf(100, 8)
	for _, tc := range []struct {
		name  string
		size2 int64 // announced size of the second commit of a
	}{
		{"known size", int64(len(a))},
		{"unknown size", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, dir := openTestDisk(t)
			ca := commit(t, d, a)
			w, err := d.Create()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(a); err != nil {
				t.Fatal(err)
			}
			if err := w.Commit(ca, tc.size2); err != nil {
				t.Fatalf("second Commit of the same blob: %v", err)
			}
			if got := d.Count(); got != 1 {
				t.Errorf("Count after committing one blob twice = %d, want 1", got)
			}
			if got := filesUnder(t, dir, "tmp"); len(got) != 0 {
				t.Errorf("tmp/ holds %q, want nothing", got)
			}
			if got := filesUnder(t, dir, "blobs"); len(got) != 2 {
				t.Errorf("blobs/ holds %q, want the blob and its outboard", got)
			}
			checkBlob(t, d, ca, a)

			cb := commit(t, d, b)
			if got := d.Count(); got != 2 {
				t.Errorf("Count after a second distinct blob = %d, want 2", got)
			}
			checkBlob(t, d, cb, b)

			// What is on disk agrees with the running count.
			d.Close()
			d2, err := OpenDisk(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer d2.Close()
			if got := d2.Count(); got != 2 {
				t.Errorf("Count after reopening = %d, want 2", got)
			}
		})
	}
}

// TestBadCommitKeepsStoredBlob: a later upload that claims a stored blob's
// CID but carries other bytes fails and leaves the stored blob intact.
func TestBadCommitKeepsStoredBlob(t *testing.T) {
	d, dir := openTestDisk(t)
	good := blobOf(2*GroupSize+3, 9)
	c := commit(t, d, good)
	for _, tc := range []struct {
		name string
		data []byte
		size int64
		want error
	}{
		{"other bytes", blobOf(2*GroupSize+3, 10), int64(len(good)), ErrHashMismatch},
		{"truncated", good[:len(good)-1], int64(len(good)), ErrSizeMismatch},
		{"truncated, size unknown", good[:len(good)-1], -1, ErrHashMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := d.Create()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(tc.data); err != nil {
				t.Fatal(err)
			}
			if err := w.Commit(c, tc.size); !errors.Is(err, tc.want) {
				t.Fatalf("Commit = %v, want %v", err, tc.want)
			}
			checkBlob(t, d, c, good)
			if got := d.Count(); got != 1 {
				t.Errorf("Count = %d, want 1", got)
			}
			if got := filesUnder(t, dir, "tmp"); len(got) != 0 {
				t.Errorf("tmp/ holds %q, want nothing", got)
			}
		})
	}
}
