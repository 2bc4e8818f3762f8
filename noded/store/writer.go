package store

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"

	"lukechampine.com/blake3/bao"

	"dstor/shared/cid"
)

// Writer receives one blob. Write the bytes, then Commit or Abort; a
// Writer that is neither committed nor aborted leaves a file in tmp/ that
// the next start-up removes.
type Writer struct {
	d    *Disk
	f    *os.File
	name string
	n    int64
	done bool
}

// Create starts a new blob in tmp/.
func (d *Disk) Create() (*Writer, error) {
	var r [12]byte
	rand.Read(r[:])
	name := "tmp/" + hex.EncodeToString(r[:])
	f, err := d.root.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	return &Writer{d: d, f: f, name: name}, nil
}

// Write appends blob bytes.
func (w *Writer) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.n += int64(n)
	return n, err
}

// Len is the number of bytes written so far.
func (w *Writer) Len() int64 { return w.n }

// Abort discards the blob.
func (w *Writer) Abort() {
	if w.done {
		return
	}
	w.done = true
	w.f.Close()
	w.d.root.Remove(w.name)
}

// Commit makes the blob durable under want if its BLAKE3 root is want's
// digest and, when size >= 0, its length is size. On any failure nothing
// is left behind. Committing a blob that is already stored succeeds.
func (w *Writer) Commit(want cid.CID, size int64) (err error) {
	defer func() {
		if err != nil {
			w.Abort()
		}
	}()
	if size >= 0 && w.n != size {
		return fmt.Errorf("%w: got %d bytes, announced %d", ErrSizeMismatch, w.n, size)
	}
	ob, root, err := w.outboard()
	if err != nil {
		return err
	}
	if root != want.Digest() {
		return fmt.Errorf("%w: content is %s, announced %s", ErrHashMismatch, cid.FromDigest(root), want)
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("store: fsync: %w", err) // never retried: the page cache may have dropped the data
	}
	// One commit per blob at a time, so concurrent uploads of the same
	// content store and count it once.
	mu := &w.d.locks[want.Digest()[0]]
	mu.Lock()
	defer mu.Unlock()
	if _, ok := w.d.Has(want); ok {
		w.Abort()
		return nil
	}
	obName := w.name + ".obao"
	if err := w.d.root.WriteFile(obName, ob, 0o600); err != nil {
		w.d.root.Remove(obName)
		return err
	}
	if err := w.syncAndPlace(want, obName); err != nil {
		w.d.root.Remove(obName)
		return err
	}
	w.done = true
	w.f.Close()
	w.d.blobs.Add(1)
	return nil
}

// outboard reads the temp file back and computes its Bao outboard tree and
// root in memory (an outboard is 1/256 of the blob).
func (w *Writer) outboard() ([]byte, [32]byte, error) {
	if _, err := w.f.Seek(0, 0); err != nil {
		return nil, [32]byte{}, err
	}
	buf := &bufferAt{b: make([]byte, bao.EncodedSize(int(w.n), Group, true))}
	root, err := bao.Encode(buf, bufio.NewReaderSize(w.f, 1<<20), w.n, Group, true)
	return buf.b, root, err
}

// syncAndPlace fsyncs the outboard, creates the shard directories (fsyncing
// each new one's parent), renames outboard then blob into place and fsyncs
// the shard directory.
func (w *Writer) syncAndPlace(c cid.CID, obName string) error {
	of, err := w.d.root.Open(obName)
	if err != nil {
		return err
	}
	err = of.Sync()
	of.Close()
	if err != nil {
		return fmt.Errorf("store: fsync outboard: %w", err)
	}
	dir := dirOf(c)
	if err := w.d.mkdirSynced(dir); err != nil {
		return err
	}
	final := nameOf(c)
	if err := w.d.root.Rename(obName, final+".obao"); err != nil {
		return err
	}
	if err := w.d.root.Rename(w.name, final); err != nil {
		w.d.root.Remove(final + ".obao")
		return err
	}
	return w.d.syncDir(dir)
}

// mkdirSynced creates dir and its parents under blobs/, fsyncing the parent
// of every directory it creates so the new entry survives a crash.
func (d *Disk) mkdirSynced(dir string) error {
	if _, err := d.root.Stat(dir); err == nil {
		return nil
	}
	parent := path.Dir(dir)
	if parent != "blobs" {
		if err := d.mkdirSynced(parent); err != nil {
			return err
		}
	}
	if err := d.root.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	// Also after losing a race to create it: the winner may not have
	// synced the parent yet, and our blob must not land before it has.
	return d.syncDir(parent)
}

// bufferAt is an io.WriterAt over a fixed slice.
type bufferAt struct{ b []byte }

func (b *bufferAt) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > int64(len(b.b)) {
		return 0, errors.New("store: outboard write out of range")
	}
	return copy(b.b[off:], p), nil
}
