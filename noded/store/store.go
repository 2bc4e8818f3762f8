// Package store is a storage node's content-addressed blob store on disk.
//
// A blob lives at blobs/<d0d1>/<d2d3>/<digest hex> beside its Bao outboard
// tree (<digest hex>.obao, 16 KiB chunk groups). Paths come only from the
// digest, never from request text, and every file is opened under an
// os.Root. A write goes to a temporary file in tmp/; Commit checks the
// length and the BLAKE3 root against the CID, fsyncs the file, renames the
// outboard then the blob into place and fsyncs the directories, so a blob
// that is visible is complete and verified. Opening the store removes
// whatever a crash left in tmp/.
package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"dstor/shared/cid"
)

// Group is the Bao chunk-group exponent: 1 KiB chunks << 4 = 16 KiB groups.
const Group = 4

// GroupSize is the number of blob bytes each outboard leaf covers.
const GroupSize = 1024 << Group

// Sentinel errors.
var (
	ErrNotFound     = errors.New("store: blob not found")
	ErrHashMismatch = errors.New("store: content does not match the cid")
	ErrSizeMismatch = errors.New("store: content length does not match the announced size")
)

// Disk is a blob store in one directory. It is safe for concurrent use.
type Disk struct {
	root  *os.Root
	blobs atomic.Int64
	locks [256]sync.Mutex // commit locks, by the digest's first byte
}

// OpenDisk opens (creating if needed) the store in dir, removing partial
// files a crash may have left.
func OpenDisk(dir string) (*Disk, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	d := &Disk{root: root}
	if err := d.recover(); err != nil {
		root.Close()
		return nil, err
	}
	return d, nil
}

// Close releases the store's directory handle.
func (d *Disk) Close() error { return d.root.Close() }

// recover empties tmp/, drops outboards whose blob never landed and counts
// the blobs.
func (d *Disk) recover() error {
	if err := d.root.RemoveAll("tmp"); err != nil {
		return fmt.Errorf("store: clear tmp: %w", err)
	}
	for _, dir := range []string{"tmp", "blobs"} {
		if err := d.root.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
	}
	var n int64
	err := fs.WalkDir(d.root.FS(), "blobs", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		name := e.Name()
		if hexDigest, ok := strings.CutSuffix(name, ".obao"); ok {
			if _, err := d.root.Stat(path.Join(path.Dir(p), hexDigest)); errors.Is(err, fs.ErrNotExist) {
				return d.root.Remove(p)
			}
			return nil
		}
		n++
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: scan: %w", err)
	}
	d.blobs.Store(n)
	return d.syncDir("tmp")
}

// Count returns how many blobs the store holds.
func (d *Disk) Count() int64 { return d.blobs.Load() }

// Space returns the capacity and free bytes of the store's filesystem.
func (d *Disk) Space() (capacity, free int64, err error) {
	f, err := d.root.Open(".")
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil {
		return 0, 0, err
	}
	return int64(st.Blocks) * st.Bsize, int64(st.Bavail) * st.Bsize, nil
}

// dirOf and nameOf place a blob by its digest only.
func dirOf(c cid.CID) string {
	d := c.Digest()
	return fmt.Sprintf("blobs/%02x/%02x", d[0], d[1])
}

func nameOf(c cid.CID) string {
	d := c.Digest()
	return fmt.Sprintf("%s/%x", dirOf(c), d[:])
}

// Has reports whether the blob is stored, and its size.
func (d *Disk) Has(c cid.CID) (int64, bool) {
	fi, err := d.root.Stat(nameOf(c))
	if err != nil {
		return 0, false
	}
	return fi.Size(), true
}

// Open opens a stored blob for reading.
func (d *Disk) Open(c cid.CID) (*os.File, int64, error) { return d.open(nameOf(c)) }

// OpenOutboard opens a stored blob's Bao outboard tree.
func (d *Disk) OpenOutboard(c cid.CID) (*os.File, int64, error) {
	return d.open(nameOf(c) + ".obao")
}

func (d *Disk) open(name string) (*os.File, int64, error) {
	f, err := d.root.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, ErrNotFound
	} else if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, fi.Size(), nil
}

// syncDir fsyncs a directory of the store.
func (d *Disk) syncDir(name string) error {
	f, err := d.root.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
