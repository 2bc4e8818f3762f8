package store

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"dstor/shared/cid"
)

// Disk is a blob store in one directory. It is safe for concurrent use.
type Disk struct {
	root  *os.Root // the store's directory
	blobs *os.Root // its blobs/
	// tmp holds tmp/0 ... tmp/f, where writers keep their temp files:
	// spread over 16 directories, as every create in a directory and
	// every rename out of it takes that directory's lock.
	tmp   [16]*os.File
	count atomic.Int64
	used  atomic.Int64
	locks digestLocks
	// durable records the shard directories whose entry in their parent
	// is known to be on disk: found at start-up, or created and synced by
	// a commit. See shardIndex.
	durable [256 + 256*256]atomic.Bool
}

var _ Store = (*Disk)(nil)

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
		d.Close()
		return nil, err
	}
	return d, nil
}

// Close releases the store's directory handles.
func (d *Disk) Close() error {
	var errs []error
	for _, f := range d.tmp {
		if f != nil {
			errs = append(errs, f.Close())
		}
	}
	if d.blobs != nil {
		errs = append(errs, d.blobs.Close())
	}
	return errors.Join(append(errs, d.root.Close())...)
}

// recover empties tmp/, drops outboards whose blob is missing, counts the
// blobs and syncs the filesystem, so that what a crashed process left
// in the page cache is durable before anything relies on it.
func (d *Disk) recover() error {
	if err := d.root.RemoveAll("tmp"); err != nil {
		return fmt.Errorf("store: clear tmp: %w", err)
	}
	for _, dir := range []string{"tmp", "blobs"} {
		if err := d.root.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
	}
	var err error
	if d.blobs, err = d.root.OpenRoot("blobs"); err != nil {
		return err
	}
	for i := range d.tmp {
		name := fmt.Sprintf("tmp/%x", i)
		if err := d.root.Mkdir(name, 0o700); err != nil {
			return err
		}
		if d.tmp[i], err = d.root.Open(name); err != nil {
			return err
		}
	}
	var count, used int64
	err = d.shards(func(prefix [2]byte, dir *os.File, entries []fs.DirEntry) error {
		d.durable[prefix[0]].Store(true)
		d.durable[shardIndex(prefix)].Store(true)
		sizes := make(map[[32]byte]int64, len(entries))
		for _, e := range entries {
			if dg, ob, ok := parseName(e.Name()); ok && !ob && inShard(dg, prefix) {
				size, err := statAt(dir, e.Name())
				if errors.Is(err, fs.ErrNotExist) {
					continue // not a regular file; left alone
				} else if err != nil {
					return err
				}
				sizes[dg] = size
				count, used = count+1, used+size
			}
		}
		// An outboard goes if its blob is missing (a crash between the
		// renames of a commit or the removals of a Remove) or needs no
		// outboard file (left by an older version of the store).
		for _, e := range entries {
			dg, ob, ok := parseName(e.Name())
			if !ok || !ob {
				continue // not an outboard: a blob, or not ours and left alone
			}
			if size, found := sizes[dg]; !found || headerOnly(size) {
				if err := unlinkAt(dir, e.Name()); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: scan: %w", err)
	}
	d.count.Store(count)
	d.used.Store(used)
	err = control(d.tmp[0], func(fd int) error { return unix.Syncfs(fd) })
	if err != nil {
		return fmt.Errorf("store: syncfs: %w", err)
	}
	return nil
}

// Count returns how many blobs the store holds.
func (d *Disk) Count() int64 { return d.count.Load() }

// Used returns the sum of the sizes of the blobs the store holds
// (outboards and directories not included).
func (d *Disk) Used() int64 { return d.used.Load() }

// Space returns the capacity of the store's filesystem and the bytes free
// for an unprivileged user.
func (d *Disk) Space() (capacity, free int64, err error) {
	var st unix.Statfs_t
	if err := control(d.tmp[0], func(fd int) error { return unix.Fstatfs(fd, &st) }); err != nil {
		return 0, 0, fmt.Errorf("store: statfs: %w", err)
	}
	return int64(st.Blocks) * st.Bsize, int64(st.Bavail) * st.Bsize, nil
}

// Has reports whether the blob is stored, and its size.
func (d *Disk) Has(c cid.CID) (int64, bool) {
	fi, err := d.blobs.Lstat(shardOf(c) + "/" + hexOf(c))
	if err != nil || !fi.Mode().IsRegular() {
		return 0, false
	}
	return fi.Size(), true
}

// Open opens a stored blob and its outboard for reading. The files stay
// readable after the blob is removed, until they are closed. The outboard
// of a blob of at most one group is made up from its size.
func (d *Disk) Open(c cid.CID) (*Blob, error) {
	dir, err := d.openShard(c)
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	name := hexOf(c)
	data, size, err := openRead(dir, name)
	if err != nil {
		return nil, err
	}
	if headerOnly(size) {
		ob := lengthHeader(size)
		return &Blob{Size: size, Data: data, Outboard: bytesReader{bytes.NewReader(ob)}, OutboardSize: int64(len(ob))}, nil
	}
	ob, obSize, err := openRead(dir, name+".obao")
	if err != nil {
		data.Close()
		return nil, err
	}
	return &Blob{Size: size, Data: data, Outboard: ob, OutboardSize: obSize}, nil
}

// openRead opens the regular file name in dir, and returns its size.
func openRead(dir *os.File, name string) (*os.File, int64, error) {
	f, err := openAt(dir, name, unix.O_RDONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, ErrNotFound
	} else if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = ErrNotFound
	}
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, fi.Size(), nil
}

// Remove deletes a blob, then its outboard (if it has a file), and fsyncs
// their directory. A crash in between leaves an outboard without its
// blob, which start-up removes.
func (d *Disk) Remove(c cid.CID) error {
	_, err := d.remove(c, time.Time{})
	return err
}

// RemoveCommittedBefore deletes a blob last committed before t (its
// modification time: a commit of a blob already stored touches it).
func (d *Disk) RemoveCommittedBefore(c cid.CID, t time.Time) (bool, error) {
	return d.remove(c, t)
}

// remove deletes blob c if before is zero or it was committed before it.
func (d *Disk) remove(c cid.CID, before time.Time) (bool, error) {
	unlock := d.locks.lock(c.Digest())
	defer unlock()
	dir, err := d.openShard(c)
	if err != nil {
		return false, err
	}
	defer dir.Close()
	name := hexOf(c)
	size, mtime, err := statTimeAt(dir, name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, ErrNotFound
	} else if err != nil {
		return false, err
	}
	if !before.IsZero() && !mtime.Before(before) {
		return false, nil
	}
	if err := unlinkAt(dir, name); err != nil {
		return false, err
	}
	d.count.Add(-1)
	d.used.Add(-size)
	var errs []error
	if !headerOnly(size) {
		if err := unlinkAt(dir, name+".obao"); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := dir.Sync(); err != nil {
		errs = append(errs, fmt.Errorf("store: fsync %s: %w", dir.Name(), err))
	}
	return true, errors.Join(errs...)
}

// Walk calls fn for every stored blob, in no particular order, until fn
// returns an error, which Walk returns. Blobs committed or removed during
// the walk may or may not be seen.
func (d *Disk) Walk(fn func(c cid.CID, size int64) error) error {
	return d.shards(func(prefix [2]byte, dir *os.File, entries []fs.DirEntry) error {
		for _, e := range entries {
			dg, ob, ok := parseName(e.Name())
			if !ok || ob || !inShard(dg, prefix) {
				continue
			}
			size, err := statAt(dir, e.Name())
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed since the listing
			} else if err != nil {
				return err
			}
			if err := fn(cid.FromDigest(dg), size); err != nil {
				return err
			}
		}
		return nil
	})
}
