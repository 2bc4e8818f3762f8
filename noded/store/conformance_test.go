package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"sync"
	"testing"
	"time"

	"lukechampine.com/blake3/bao"

	"dstor/shared/cid"
)

// testStore is the conformance suite every Store passes: each method of
// Store and Writer, and the semantics the node relies on. open returns an
// empty store for one subtest, given that subtest's t; it may register
// cleanups that check what only that store can see (that no temp file is
// left, say) once the subtest is over.
func testStore(t *testing.T, open func(t *testing.T) Store) {
	for _, tc := range []struct {
		name string
		test func(t *testing.T, open func(t *testing.T) Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"UnknownSize", testUnknownSize},
		{"Missing", testMissing},
		{"HashMismatch", testHashMismatch},
		{"SizeMismatch", testSizeMismatch},
		{"BadCommitKeepsStoredBlob", testBadCommitKeepsStoredBlob},
		{"Abort", testAbort},
		{"CommitTwice", testCommitTwice},
		{"CommitVerified", testCommitVerified},
		{"CommitVerifiedBadOutboard", testCommitVerifiedBadOutboard},
		{"Remove", testRemove},
		{"RemoveCommittedBefore", testRemoveCommittedBefore},
		{"Walk", testWalk},
		{"ReadAtMidWrite", testReadAtMidWrite},
		{"ReadAtWhileWriting", testReadAtWhileWriting},
		{"Accounting", testAccounting},
		{"ConcurrentCommits", testConcurrentCommits},
		{"ConcurrentDuplicateCommits", testConcurrentDuplicateCommits},
		{"ConcurrentCommitAndRemove", testConcurrentCommitAndRemove},
		{"Space", testSpace},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.test(t, open) })
	}
}

// contents is what a store holds, as its interface tells.
type contents struct {
	count, used int64
	blobs       map[cid.CID]int64 // from Walk
}

func contentsOf(t *testing.T, s Store) contents {
	t.Helper()
	return contents{count: s.Count(), used: s.Used(), blobs: walkAll(t, s)}
}

// walkAll returns what Walk reports, failing on a blob reported twice.
func walkAll(t *testing.T, s Store) map[cid.CID]int64 {
	t.Helper()
	m := make(map[cid.CID]int64)
	err := s.Walk(func(c cid.CID, size int64) error {
		if _, ok := m[c]; ok {
			t.Errorf("Walk reported %s twice", c)
		}
		m[c] = size
		return nil
	})
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}
	return m
}

// checkContents asserts that the store holds exactly want, and that
// Count, Used, Walk and Has agree with each other.
func checkContents(t *testing.T, s Store, want contents) {
	t.Helper()
	got := contentsOf(t, s)
	if got.count != want.count || got.used != want.used {
		t.Errorf("Count, Used = %d, %d; want %d, %d", got.count, got.used, want.count, want.used)
	}
	if !maps.Equal(got.blobs, want.blobs) {
		t.Errorf("Walk reports %v, want %v", got.blobs, want.blobs)
	}
	checkConsistent(t, s, got)
}

// checkConsistent asserts that Count, Used and Has agree with what Walk
// reported.
func checkConsistent(t *testing.T, s Store, got contents) {
	t.Helper()
	var sum int64
	for c, size := range got.blobs {
		sum += size
		if n, ok := s.Has(c); !ok || n != size {
			t.Errorf("Has(%s) = %d, %v; Walk says %d", c, n, ok, size)
		}
	}
	if int64(len(got.blobs)) != got.count || sum != got.used {
		t.Errorf("Walk reports %d blobs of %d bytes, but Count = %d and Used = %d", len(got.blobs), sum, got.count, got.used)
	}
}

func testRoundTrip(t *testing.T, open func(t *testing.T) Store) {
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
			s := open(t)
			data := blobOf(tc.size, 1)
			c := commit(t, s, data)
			checkBlob(t, s, c, data)
			checkContents(t, s, contents{1, int64(tc.size), map[cid.CID]int64{c: int64(tc.size)}})

			// The outboard really binds the bytes: a flipped byte fails it.
			if tc.size > 0 {
				b, err := s.Open(c)
				if err != nil {
					t.Fatal(err)
				}
				defer b.Close()
				bad := bytes.Clone(data)
				bad[len(bad)/2] ^= 1
				ob := io.NewSectionReader(b.Outboard, 0, b.OutboardSize)
				if ok, _ := bao.Decode(io.Discard, bytes.NewReader(bad), ob, Group, c.Digest()); ok {
					t.Error("bao.Decode accepted a corrupted blob")
				}
			}
		})
	}
}

func testUnknownSize(t *testing.T, open func(t *testing.T) Store) {
	s := open(t)
	data := blobOf(3*GroupSize+5, 2)
	c := cid.Sum(data)
	w, err := s.Create()
	if err != nil {
		t.Fatal(err)
	}
	if w.Len() != 0 {
		t.Errorf("Len of a new writer = %d, want 0", w.Len())
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
	checkBlob(t, s, c, data)
}

func testMissing(t *testing.T, open func(t *testing.T) Store) {
	s := open(t)
	commit(t, s, []byte("something else"))
	c := cid.Sum([]byte("never stored"))
	if n, ok := s.Has(c); ok {
		t.Errorf("Has = %d, true for a blob never stored", n)
	}
	if b, err := s.Open(c); !errors.Is(err, ErrNotFound) {
		if err == nil {
			b.Close()
		}
		t.Errorf("Open = %v, want ErrNotFound", err)
	}
	if err := s.Remove(c); !errors.Is(err, ErrNotFound) {
		t.Errorf("Remove = %v, want ErrNotFound", err)
	}
}

func testHashMismatch(t *testing.T, open func(t *testing.T) Store) {
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
			s := open(t)
			commit(t, s, []byte("already here"))
			before := contentsOf(t, s)
			w, err := s.Create()
			if err != nil {
				t.Fatal(err)
			}
			if err := writeInPieces(w, tc.data); err != nil {
				t.Fatal(err)
			}
			if err := w.Commit(tc.want, int64(len(tc.data))); !errors.Is(err, ErrHashMismatch) {
				t.Fatalf("Commit = %v, want ErrHashMismatch", err)
			}
			for _, c := range []cid.CID{tc.want, cid.Sum(tc.data)} {
				if _, ok := s.Has(c); ok {
					t.Errorf("Has(%s) = true after a failed commit", c)
				}
			}
			checkContents(t, s, before)
			// The writer is done: later calls repeat the failure.
			if err := w.Commit(tc.want, int64(len(tc.data))); !errors.Is(err, ErrHashMismatch) {
				t.Errorf("second Commit = %v, want ErrHashMismatch again", err)
			}
			if _, err := w.Write([]byte("more")); err == nil {
				t.Error("Write after a failed commit succeeded")
			}
			w.Abort() // harmless after a failed commit
			checkContents(t, s, before)
		})
	}
}

func testSizeMismatch(t *testing.T, open func(t *testing.T) Store) {
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
			s := open(t)
			commit(t, s, []byte("already here"))
			before := contentsOf(t, s)
			w, err := s.Create()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(data); err != nil {
				t.Fatal(err)
			}
			if err := w.Commit(cid.Sum(data), tc.announce); !errors.Is(err, ErrSizeMismatch) {
				t.Fatalf("Commit = %v, want ErrSizeMismatch", err)
			}
			if _, ok := s.Has(cid.Sum(data)); ok {
				t.Error("blob stored despite the size mismatch")
			}
			checkContents(t, s, before)
		})
	}
}

// testBadCommitKeepsStoredBlob: a later upload that claims a stored blob's
// CID but carries other bytes fails and leaves the stored blob intact.
func testBadCommitKeepsStoredBlob(t *testing.T, open func(t *testing.T) Store) {
	s := open(t)
	good := blobOf(2*GroupSize+3, 9)
	c := commit(t, s, good)
	before := contentsOf(t, s)
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
			w, err := s.Create()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(tc.data); err != nil {
				t.Fatal(err)
			}
			if err := w.Commit(c, tc.size); !errors.Is(err, tc.want) {
				t.Fatalf("Commit = %v, want %v", err, tc.want)
			}
			checkBlob(t, s, c, good)
			checkContents(t, s, before)
		})
	}
}

func testAbort(t *testing.T, open func(t *testing.T) Store) {
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"nothing written", nil},
		{"some bytes", blobOf(GroupSize+1, 6)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			commit(t, s, []byte("already here"))
			before := contentsOf(t, s)
			w, err := s.Create()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(tc.data); err != nil {
				t.Fatal(err)
			}
			w.Abort()
			w.Abort() // idempotent
			checkContents(t, s, before)
			if err := w.Commit(cid.Sum(tc.data), int64(len(tc.data))); !errors.Is(err, fs.ErrClosed) {
				t.Errorf("Commit after Abort = %v, want an error wrapping fs.ErrClosed", err)
			}
			if _, err := w.Write([]byte("more")); !errors.Is(err, fs.ErrClosed) {
				t.Errorf("Write after Abort = %v, want an error wrapping fs.ErrClosed", err)
			}
			if _, err := w.ReadAt(make([]byte, 1), 0); !errors.Is(err, fs.ErrClosed) {
				t.Errorf("ReadAt after Abort = %v, want an error wrapping fs.ErrClosed", err)
			}
			if _, ok := s.Has(cid.Sum(tc.data)); ok {
				t.Error("blob stored after Abort")
			}
			checkContents(t, s, before)
		})
	}
}

func testCommitTwice(t *testing.T, open func(t *testing.T) Store) {
	a, b := blobOf(GroupSize+1, 7), blobOf(100, 8)
	for _, tc := range []struct {
		name  string
		size2 int64 // announced size of the second commit of a
	}{
		{"known size", int64(len(a))},
		{"unknown size", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			ca := commit(t, s, a)
			w, err := s.Create()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(a); err != nil {
				t.Fatal(err)
			}
			if err := w.Commit(ca, tc.size2); err != nil {
				t.Fatalf("second Commit of the same blob: %v", err)
			}
			checkContents(t, s, contents{1, int64(len(a)), map[cid.CID]int64{ca: int64(len(a))}})
			checkBlob(t, s, ca, a)

			// The same writer cannot commit again; Abort leaves the blob.
			if err := w.Commit(ca, -1); !errors.Is(err, fs.ErrClosed) {
				t.Errorf("Commit of a committed writer = %v, want an error wrapping fs.ErrClosed", err)
			}
			if _, err := w.Write([]byte("more")); !errors.Is(err, fs.ErrClosed) {
				t.Errorf("Write after Commit = %v, want an error wrapping fs.ErrClosed", err)
			}
			w.Abort()
			checkBlob(t, s, ca, a)

			cb := commit(t, s, b)
			checkContents(t, s, contents{2, int64(len(a) + len(b)), map[cid.CID]int64{ca: int64(len(a)), cb: int64(len(b))}})
			checkBlob(t, s, cb, b)
		})
	}
}

func testCommitVerified(t *testing.T, open func(t *testing.T) Store) {
	for i, size := range []int{0, 1, GroupSize, GroupSize + 1, 1<<20 + 7} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			s := open(t)
			data := blobOf(size, 30)
			ob, root := bao.EncodeBuf(data, Group, true)
			c := cid.FromDigest(root)
			create := s.Create
			if i%2 == 1 {
				create = s.CreateVerified // the writer peer fetches use
			}
			w, err := create()
			if err != nil {
				t.Fatal(err)
			}
			if err := writeInPieces(w, data); err != nil {
				t.Fatal(err)
			}
			if err := w.CommitVerified(c, ob); err != nil {
				t.Fatalf("CommitVerified: %v", err)
			}
			clear(ob) // the caller keeps its slice
			checkBlob(t, s, c, data)
			checkContents(t, s, contents{1, int64(size), map[cid.CID]int64{c: int64(size)}})
			w.Abort()
			checkBlob(t, s, c, data)

			// Again, as when a peer fetch races an upload: stored once.
			ob, _ = bao.EncodeBuf(data, Group, true)
			w, err = s.Create()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(data); err != nil {
				t.Fatal(err)
			}
			if err := w.CommitVerified(c, ob); err != nil {
				t.Fatalf("CommitVerified of a stored blob: %v", err)
			}
			checkContents(t, s, contents{1, int64(size), map[cid.CID]int64{c: int64(size)}})
			checkBlob(t, s, c, data)
		})
	}
}

func testCommitVerifiedBadOutboard(t *testing.T, open func(t *testing.T) Store) {
	data := blobOf(2*GroupSize+2, 31)
	ob, _ := bao.EncodeBuf(data, Group, true)
	otherOb, _ := bao.EncodeBuf(data[:len(data)-1], Group, true) // same length, other header
	if len(otherOb) != len(ob) {
		t.Fatalf("setup: outboards of %d and %d bytes differ in length", len(data), len(data)-1)
	}
	small := blobOf(100, 32)
	smallOb, _ := bao.EncodeBuf(small[:99], Group, true) // 8 bytes, as small's
	for _, tc := range []struct {
		name string
		data []byte
		ob   []byte
	}{
		{"nil", data, nil},
		{"one byte short", data, ob[:len(ob)-1]},
		{"one byte long", data, append(bytes.Clone(ob), 0)},
		{"of a one-group blob", data, func() []byte { b, _ := bao.EncodeBuf(data[:GroupSize], Group, true); return b }()},
		{"for another length", data, otherOb},
		{"one group, for another length", small, smallOb},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			commit(t, s, []byte("already here"))
			before := contentsOf(t, s)
			w, err := s.Create()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(tc.data); err != nil {
				t.Fatal(err)
			}
			c := cid.Sum(tc.data)
			if err := w.CommitVerified(c, tc.ob); !errors.Is(err, ErrSizeMismatch) {
				t.Fatalf("CommitVerified = %v, want ErrSizeMismatch", err)
			}
			if _, ok := s.Has(c); ok {
				t.Error("blob stored despite a bad outboard")
			}
			checkContents(t, s, before)
		})
	}
}

func testRemove(t *testing.T, open func(t *testing.T) Store) {
	s := open(t)
	a, b := blobOf(GroupSize+1, 40), blobOf(77, 41)
	ca, cb := commit(t, s, a), commit(t, s, b)
	held, err := s.Open(ca)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()

	if err := s.Remove(ca); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if _, ok := s.Has(ca); ok {
		t.Error("Has = true after Remove")
	}
	if b, err := s.Open(ca); !errors.Is(err, ErrNotFound) {
		if err == nil {
			b.Close()
		}
		t.Errorf("Open after Remove = %v, want ErrNotFound", err)
	}
	if err := s.Remove(ca); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Remove = %v, want ErrNotFound", err)
	}
	checkContents(t, s, contents{1, int64(len(b)), map[cid.CID]int64{cb: int64(len(b))}})
	checkBlob(t, s, cb, b)

	// A blob opened before the removal stays readable.
	got := make([]byte, len(a))
	if _, err := held.Data.ReadAt(got, 0); err != nil || !bytes.Equal(got, a) {
		t.Errorf("reading a blob opened before its removal: %v (bytes equal: %v)", err, bytes.Equal(got, a))
	}

	// It can be stored again.
	commit(t, s, a)
	checkBlob(t, s, ca, a)
	checkContents(t, s, contents{2, int64(len(a) + len(b)), map[cid.CID]int64{ca: int64(len(a)), cb: int64(len(b))}})
}

func testRemoveCommittedBefore(t *testing.T, open func(t *testing.T) Store) {
	s := open(t)
	a, b := blobOf(GroupSize+1, 42), blobOf(300, 43)
	ca, cb := commit(t, s, a), commit(t, s, b)
	if removed, err := s.RemoveCommittedBefore(ca, time.Now().Add(-time.Hour)); err != nil || removed {
		t.Fatalf("RemoveCommittedBefore(an hour ago) = %v, %v; want kept", removed, err)
	}
	checkBlob(t, s, ca, a)
	// A commit of a blob already stored counts: b committed again after
	// mark is not garbage of mark, however soon after it comes. (Commit
	// times are the process's clock, not the filesystem's coarse one,
	// which runs up to a tick behind: with that, b's second commit would
	// look older than mark.)
	mark := time.Now()
	commit(t, s, b)
	if removed, err := s.RemoveCommittedBefore(cb, mark); err != nil || removed {
		t.Fatalf("RemoveCommittedBefore(b, before its second commit) = %v, %v; want kept", removed, err)
	}
	if removed, err := s.RemoveCommittedBefore(ca, mark); err != nil || !removed {
		t.Fatalf("RemoveCommittedBefore(a, after its commit) = %v, %v; want removed", removed, err)
	}
	if _, ok := s.Has(ca); ok {
		t.Error("Has = true after RemoveCommittedBefore removed it")
	}
	if _, err := s.RemoveCommittedBefore(ca, time.Now()); !errors.Is(err, ErrNotFound) {
		t.Errorf("RemoveCommittedBefore of a removed blob = %v, want ErrNotFound", err)
	}
	checkContents(t, s, contents{1, int64(len(b)), map[cid.CID]int64{cb: int64(len(b))}})
}

func testWalk(t *testing.T, open func(t *testing.T) Store) {
	s := open(t)
	if got := walkAll(t, s); len(got) != 0 {
		t.Errorf("Walk of an empty store reports %v", got)
	}
	want := make(map[cid.CID]int64)
	for i := range 40 {
		data := blobOf(i*i*37, uint64(50+i))
		want[commit(t, s, data)] = int64(len(data))
	}
	checkContents(t, s, contents{int64(len(want)), sum(want), want})

	// An error from fn stops the walk and comes back as is.
	for _, stop := range []error{errors.New("stop"), fs.SkipAll, fs.SkipDir} {
		calls := 0
		err := s.Walk(func(cid.CID, int64) error {
			calls++
			return stop
		})
		if err != stop || calls != 1 {
			t.Errorf("Walk with fn returning %v: %v after %d calls, want that error after 1", stop, err, calls)
		}
	}

	// fn may use the store: remove every other blob while walking.
	removed := make(map[cid.CID]bool)
	err := s.Walk(func(c cid.CID, size int64) error {
		if len(removed)%2 == 0 {
			removed[c] = true
			return s.Remove(c)
		}
		removed[c] = false
		return nil
	})
	if err != nil {
		t.Fatalf("Walk removing blobs: %v", err)
	}
	for c, gone := range removed {
		if gone {
			delete(want, c)
		}
	}
	checkContents(t, s, contents{int64(len(want)), sum(want), want})
}

func sum(m map[cid.CID]int64) (n int64) {
	for _, size := range m {
		n += size
	}
	return n
}

func testReadAtMidWrite(t *testing.T, open func(t *testing.T) Store) {
	s := open(t)
	data := blobOf(3*GroupSize+5, 60)
	w, err := s.Create()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	type read struct {
		off, n int64
		want   []byte
		eof    bool
	}
	check := func(reads ...read) {
		t.Helper()
		for _, r := range reads {
			p := make([]byte, r.n)
			k, err := w.ReadAt(p, r.off)
			if !bytes.Equal(p[:k], r.want) || (err == io.EOF) != r.eof || (err != nil && err != io.EOF) {
				t.Errorf("Len %d: ReadAt(%d bytes at %d) = %d bytes, %v; want %d bytes, EOF %v", w.Len(), r.n, r.off, k, err, len(r.want), r.eof)
			}
		}
	}
	check(read{0, 1, nil, true}, read{0, 0, nil, true})

	const half = 10_000
	if err := writeInPieces(w, data[:half]); err != nil {
		t.Fatal(err)
	}
	check(
		read{0, 100, data[:100], false},
		read{4000, half - 4000, data[4000:half], false},
		read{half - 50, 100, data[half-50 : half], true},
		read{half, 10, nil, true},
		read{half + 5000, 10, nil, true},
	)
	if _, err := w.ReadAt(make([]byte, 1), -1); err == nil {
		t.Error("ReadAt at a negative offset succeeded")
	}
	if err := writeInPieces(w, data[half:]); err != nil {
		t.Fatal(err)
	}
	check(
		read{half - 50, 100, data[half-50 : half+50], false},
		read{0, int64(len(data)), data, false},
		read{0, int64(len(data)) + 1, data, true},
	)
	if err := w.Commit(cid.Sum(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	// Once committed, reads go on from the stored blob.
	check(read{1, 100, data[1:101], false}, read{int64(len(data)) - 1, 2, data[len(data)-1:], true})
	w.Abort() // a no-op after Commit
	check(read{GroupSize, 10, data[GroupSize : GroupSize+10], false})
	checkBlob(t, s, cid.Sum(data), data)
}

// testReadAtWhileWriting reads a blob back while it is being written, as
// readers of a peer fetch in progress do, then while it is committed.
func testReadAtWhileWriting(t *testing.T, open func(t *testing.T) Store) {
	s := open(t)
	data := blobOf(8*GroupSize+3, 61)
	w, err := s.Create()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			p := make([]byte, len(data))
			for {
				select {
				case <-done:
					return
				default:
				}
				n := w.Len()
				k, err := w.ReadAt(p[:n], 0)
				if k != int(n) || (err != nil && !(err == io.EOF && n == 0)) {
					t.Errorf("ReadAt(%d bytes) while writing = %d, %v", n, k, err)
					return
				}
				if !bytes.Equal(p[:k], data[:k]) {
					t.Errorf("ReadAt while writing returned bytes that were not written")
					return
				}
			}
		})
	}
	err = writeInPieces(w, data)
	if err == nil {
		err = w.Commit(cid.Sum(data), int64(len(data)))
	}
	close(done)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	checkBlob(t, s, cid.Sum(data), data)
}

// testAccounting follows Count and Used through every kind of change.
func testAccounting(t *testing.T, open func(t *testing.T) Store) {
	s := open(t)
	want := make(map[cid.CID]int64)
	step := func(what string, fn func()) {
		t.Helper()
		fn()
		got := contentsOf(t, s)
		if got.count != int64(len(want)) || got.used != sum(want) || !maps.Equal(got.blobs, want) {
			t.Fatalf("after %s: Count %d, Used %d, Walk %v; want %d, %d, %v", what, got.count, got.used, got.blobs, len(want), sum(want), want)
		}
	}
	a, b := blobOf(100, 70), blobOf(GroupSize+1, 71)
	step("nothing", func() {})
	step("a commit", func() { want[commit(t, s, a)] = 100 })
	step("another", func() { want[commit(t, s, b)] = GroupSize + 1 })
	step("a duplicate", func() { commit(t, s, a) })
	step("an empty blob", func() { want[commit(t, s, nil)] = 0 })
	step("a hash mismatch", func() {
		w, _ := s.Create()
		w.Write(blobOf(500, 72))
		w.Commit(cid.Sum(a), 500)
	})
	step("an abort", func() {
		w, _ := s.Create()
		w.Write(blobOf(300, 73))
		w.Abort()
	})
	step("a writer in progress", func() {
		w, _ := s.Create()
		w.Write(blobOf(300, 74))
		t.Cleanup(w.Abort)
	})
	step("a removal", func() {
		if err := s.Remove(cid.Sum(b)); err != nil {
			t.Fatal(err)
		}
		delete(want, cid.Sum(b))
	})
	step("a failed removal", func() { s.Remove(cid.Sum(b)) })
	step("removing the empty blob", func() {
		if err := s.Remove(cid.Sum(nil)); err != nil {
			t.Fatal(err)
		}
		delete(want, cid.Sum(nil))
	})
}

func testSpace(t *testing.T, open func(t *testing.T) Store) {
	s := open(t)
	for range 2 {
		capacity, free, err := s.Space()
		if err != nil {
			t.Fatalf("Space: %v", err)
		}
		if capacity <= 0 || free < 0 || free > capacity {
			t.Errorf("Space = capacity %d, free %d; want capacity >= free >= 0, capacity > 0", capacity, free)
		}
		commit(t, s, blobOf(GroupSize, 90))
	}
}
