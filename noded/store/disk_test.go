package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"dstor/shared/cid"
)

func TestDiskConformance(t *testing.T) {
	testStore(t, func(t *testing.T) Store {
		d, dir := openTestDisk(t)
		t.Cleanup(func() { checkFiles(t, d, dir) })
		return d
	})
}

// checkFiles asserts that tmp/ is empty and that the files under blobs/
// are exactly the blobs Walk reports, each of its size and beside its
// outboard if it is larger than one group.
func checkFiles(t *testing.T, d *Disk, dir string) {
	t.Helper()
	if got := filesUnder(t, dir, "tmp"); len(got) != 0 {
		t.Errorf("tmp/ holds %q, want nothing", got)
	}
	files := tree(t, dir)
	var want []string
	for c, size := range walkAll(t, d) {
		p := "blobs/" + shardOf(c) + "/" + hexOf(c)
		want = append(want, p)
		if e := files[p]; e.size != size {
			t.Errorf("%s is %d bytes, Walk says %d", p, e.size, size)
		}
		if size <= GroupSize {
			continue // its outboard is only its length, made up by Open
		}
		want = append(want, p+".obao")
		if e := files[p+".obao"]; e.size != outboardSize(size) {
			t.Errorf("%s.obao is %d bytes, want %d", p, e.size, outboardSize(size))
		}
	}
	slices.Sort(want)
	if got := filesUnder(t, dir, "blobs"); !slices.Equal(got, want) {
		t.Errorf("blobs/ holds %q, want %q", got, want)
	}
}

// TestDiskTempFile: a blob being written is one file in tmp/, which Abort
// removes.
func TestDiskTempFile(t *testing.T) {
	d, dir := openTestDisk(t)
	w, err := d.Create()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(blobOf(GroupSize+1, 6)); err != nil {
		t.Fatal(err)
	}
	if got := filesUnder(t, dir, "tmp"); len(got) != 1 {
		t.Fatalf("tmp/ holds %q while writing, want one temp file", got)
	}
	w.Abort()
	checkEmpty(t, dir)
}

// TestDiskReopen: what is on disk agrees with the running count and sum.
func TestDiskReopen(t *testing.T) {
	d, dir := openTestDisk(t)
	a, b := blobOf(GroupSize+1, 7), blobOf(100, 8)
	ca := commit(t, d, a)
	commit(t, d, a)
	commit(t, d, b)
	commit(t, d, blobOf(5000, 9))
	if err := d.Remove(cid.Sum(blobOf(5000, 9))); err != nil {
		t.Fatal(err)
	}
	want := contentsOf(t, d)
	if want.count != 2 || want.used != int64(len(a)+len(b)) {
		t.Fatalf("Count, Used = %d, %d; want 2, %d", want.count, want.used, len(a)+len(b))
	}
	d.Close()
	d2, err := OpenDisk(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	checkContents(t, d2, want)
	checkBlob(t, d2, ca, a)
	checkFiles(t, d2, dir)
}

// mountTmpfs mounts a tmpfs with the given options on a fresh directory
// until the test ends, or skips the test where mounting is not permitted.
func mountTmpfs(t *testing.T, opts string) string {
	t.Helper()
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, opts); err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			t.Skipf("cannot mount a small tmpfs to fill (%v): run as root, as CI does, to test a full filesystem; TestMemoryConformance/NoSpace covers the semantics meanwhile", err)
		}
		t.Fatalf("mount tmpfs (%s) on %s: %v", opts, dir, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// TestDiskENOSPC fills a small tmpfs.
func TestDiskENOSPC(t *testing.T) {
	dir := filepath.Join(mountTmpfs(t, "size=4m"), "store")
	d, err := OpenDisk(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })

	t.Run("conformance", func(t *testing.T) {
		testNoSpace(t, d)
		checkFiles(t, d, dir)
	})

	t.Run("write", func(t *testing.T) {
		before := contentsOf(t, d)
		_, free, err := d.Space()
		if err != nil {
			t.Fatal(err)
		}
		w, err := d.Create()
		if err != nil {
			t.Fatal(err)
		}
		defer w.Abort()
		big := blobOf(int(free)+GroupSize, 600)
		_, err = w.Write(big)
		if !errors.Is(err, ErrNoSpace) || !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("Write of %d bytes with %d free = %v, want ErrNoSpace wrapping ENOSPC", len(big), free, err)
		}
		// Gone at once, before Abort or Commit.
		if got := filesUnder(t, dir, "tmp"); len(got) != 0 {
			t.Errorf("tmp/ holds %q after ErrNoSpace, want nothing", got)
		}
		if _, after, _ := d.Space(); after != free {
			t.Errorf("%d bytes free after the failed write, want %d as before", after, free)
		}
		if err := w.Commit(cid.Sum(big), int64(len(big))); !errors.Is(err, ErrNoSpace) {
			t.Errorf("Commit after ErrNoSpace = %v, want ErrNoSpace", err)
		}
		checkContents(t, d, before)
		checkFiles(t, d, dir)
	})

	t.Run("outboard does not fit", func(t *testing.T) {
		// The bytes fill the filesystem exactly; the outboard finds no room.
		before := contentsOf(t, d)
		_, free, err := d.Space()
		if err != nil {
			t.Fatal(err)
		}
		data := blobOf(int(free), 601)
		w, err := d.Create()
		if err != nil {
			t.Fatal(err)
		}
		defer w.Abort()
		if _, err := w.Write(data); err != nil {
			t.Fatalf("Write of exactly the %d free bytes: %v", free, err)
		}
		if err := w.Commit(cid.Sum(data), int64(len(data))); !errors.Is(err, ErrNoSpace) {
			t.Fatalf("Commit = %v, want ErrNoSpace", err)
		} else {
			t.Logf("Commit failed: %v", err)
		}
		if _, after, _ := d.Space(); after != free {
			t.Errorf("%d bytes free after the failed commit, want %d as before", after, free)
		}
		checkContents(t, d, before)
		checkFiles(t, d, dir)
	})
}

// TestDiskNoInodes runs tmpfs filesystems out of inodes: Create, the
// outboard's temp file or a new shard directory (which one depends on the
// inode count) fails with ErrNoSpace, leaving nothing behind, and every
// blob committed before still reads back.
func TestDiskNoInodes(t *testing.T) {
	for inodes := 40; inodes < 48; inodes++ {
		t.Run(fmt.Sprint(inodes), func(t *testing.T) {
			dir := filepath.Join(mountTmpfs(t, fmt.Sprintf("size=4m,nr_inodes=%d", inodes)), "store")
			d, err := OpenDisk(dir)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			var stored [][]byte
			for i := range 40 {
				data := blobOf(100, uint64(700+i))
				w, err := d.Create()
				if err == nil {
					if _, err = w.Write(data); err == nil {
						err = w.Commit(cid.Sum(data), int64(len(data)))
					}
					w.Abort()
				}
				if err != nil {
					if !errors.Is(err, ErrNoSpace) {
						t.Fatalf("blob %d: %v, want ErrNoSpace", i, err)
					}
					t.Logf("blob %d: %v", i, err)
					break
				}
				stored = append(stored, data)
			}
			if len(stored) == 0 || len(stored) == 40 {
				t.Fatalf("%d blobs stored before running out of inodes, want some but not all", len(stored))
			}
			for _, data := range stored {
				checkBlob(t, d, cid.Sum(data), data)
			}
			if got := d.Count(); got != int64(len(stored)) {
				t.Errorf("Count = %d, want %d", got, len(stored))
			}
			checkFiles(t, d, dir)

			// Removing blobs frees inodes.
			for _, data := range stored[:2] {
				if err := d.Remove(cid.Sum(data)); err != nil {
					t.Fatal(err)
				}
			}
			c := commit(t, d, stored[0])
			checkBlob(t, d, c, stored[0])
			checkFiles(t, d, dir)
		})
	}
}

// TestDiskWriteback writes a blob of several writeback chunks in pieces
// that do not line up with them: the writeout of each whole chunk is
// started as it comes and waited for one chunk later, and the blob commits
// and reads back whole.
func TestDiskWriteback(t *testing.T) {
	d, _ := openTestDisk(t)
	data := blobOf(3*writebackChunk+12345, 10)
	w, err := d.Create()
	if err != nil {
		t.Fatal(err)
	}
	dw := w.(*diskWriter)
	for p := data; len(p) > 0; {
		k := min(len(p), 777_777)
		if _, err := w.Write(p[:k]); err != nil {
			t.Fatal(err)
		}
		p = p[k:]
		written := int64(len(data) - len(p))
		if want := written / writebackChunk * writebackChunk; dw.started != want {
			t.Fatalf("after %d bytes, writeout started up to %d, want %d", written, dw.started, want)
		}
		if want := max(0, dw.started-writebackChunk); dw.waited != want {
			t.Fatalf("after %d bytes, writeout waited for up to %d, want %d", written, dw.waited, want)
		}
	}
	c := cid.Sum(data)
	if err := w.Commit(c, int64(len(data))); err != nil {
		t.Fatal(err)
	}
	checkBlob(t, d, c, data)
}
