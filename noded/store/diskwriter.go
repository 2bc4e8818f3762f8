package store

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
	"lukechampine.com/blake3/bao"

	"dstor/shared/cid"
	"dstor/shared/proof"
)

// diskWriter receives one blob into a temp file under tmp/. One that is
// neither committed nor aborted (a crash) leaves a temp file there, which
// the next start-up removes.
type diskWriter struct {
	d      *Disk
	tmp    *os.File // the directory of the temp file, one of Disk.tmp
	f      *os.File // the temp file, closed once the writer is done
	name   string   // its name in tmp
	n      atomic.Int64
	stored atomic.Pointer[cid.CID] // set by a successful commit; ReadAt then reads the stored blob
	gone   atomic.Bool             // set when the temp file is discarded

	mu     sync.Mutex     // serialises Write, Commit, CommitVerified and Abort
	err    error          // why the writer is done: errDone, or its failure
	obTemp bool           // the outboard's temp file may exist
	enc    *proof.Encoder // hashes the bytes as they come (nil: CreateVerified)
	// started and waited are the ends of the bytes whose writeout to disk
	// was started, and waited for, as they came (writeback).
	started, waited int64
}

// writebackChunk is the unit of the writeout a blob's bytes start as they
// are written: each time another chunk is in, its writeout starts, and the
// writer waits for the chunk before it. Left to the commit's fsync, 1 GiB
// written at once on three nodes took 0.8 s to flush after its last byte
// (5 ms with this), and every large upload filled the page cache with dirty
// pages.
const writebackChunk = 8 << 20

// errDiscarded is what ReadAt returns once the blob is aborted or failed.
var errDiscarded = fmt.Errorf("store: blob was aborted or failed: %w", fs.ErrClosed)

// Create starts a new blob in a temp file under tmp/. Its bytes are
// hashed as they are written, so Commit need not read them back.
func (d *Disk) Create() (Writer, error) {
	w, err := d.create()
	if err != nil {
		return nil, err
	}
	w.enc = proof.NewEncoder()
	return w, nil
}

// encodeLimit bounds the blobs hashed as they are written: the encoder
// keeps 32 bytes per 16 KiB (16 MiB at the limit); larger blobs are read
// back at commit.
const encodeLimit = 8 << 30

// CreateVerified starts a new blob whose bytes the caller verifies and
// commits with CommitVerified: they are not hashed here.
func (d *Disk) CreateVerified() (Writer, error) { return d.create() }

func (d *Disk) create() (*diskWriter, error) {
	var r [12]byte
	rand.Read(r[:])
	name := hex.EncodeToString(r[:])
	tmp := d.tmp[r[0]%16]
	f, err := openAt(tmp, name, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL, 0o600)
	if err != nil {
		return nil, noSpace(err)
	}
	return &diskWriter{d: d, tmp: tmp, f: f, name: name}, nil
}

// Write appends blob bytes. A failed write (ENOSPC above all) discards the
// blob at once, freeing its space; later calls return the same error.
func (w *diskWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.f.Write(p)
	w.n.Add(int64(n))
	if w.enc != nil {
		w.enc.Write(p[:n])
		if w.enc.Len() > encodeLimit {
			w.enc = nil // Commit reads it back instead
		}
	}
	if err != nil {
		return n, w.fail(noSpace(err))
	}
	if w.n.Load()-w.started >= writebackChunk {
		if err := w.writeback(); err != nil {
			return n, w.fail(err)
		}
	}
	return n, nil
}

// unsupported reports whether err says the filesystem does not do
// sync_file_range, rather than that the writeout failed.
func unsupported(err error) bool {
	return errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ESPIPE)
}

// writeback starts the writeout of the whole chunks written since the last
// call and waits for those started before. A writeback error fails the
// blob: it is not left for the commit's fsync, which may no longer see it.
func (w *diskWriter) writeback() error {
	end := w.n.Load() / writebackChunk * writebackChunk
	fd := int(w.f.Fd())
	if err := unix.SyncFileRange(fd, w.started, end-w.started, unix.SYNC_FILE_RANGE_WRITE); err != nil {
		if unsupported(err) {
			w.started = math.MaxInt64 // this filesystem: the commit's fsync does it all
			return nil
		}
		return fmt.Errorf("store: start writeout: %w", noSpace(err))
	}
	if w.started > w.waited {
		const wait = unix.SYNC_FILE_RANGE_WAIT_BEFORE | unix.SYNC_FILE_RANGE_WRITE | unix.SYNC_FILE_RANGE_WAIT_AFTER
		if err := unix.SyncFileRange(fd, w.waited, w.started-w.waited, wait); err != nil {
			return fmt.Errorf("store: writeout: %w", noSpace(err))
		}
		w.waited = w.started
	}
	w.started = end
	return nil
}

// Len is the number of bytes written so far.
func (w *diskWriter) Len() int64 { return w.n.Load() }

// ReadAt reads bytes already written, from the temp file or, once
// committed, from the stored blob.
func (w *diskWriter) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("store: negative offset")
	}
	if c := w.stored.Load(); c != nil {
		return w.readStored(*c, p, off)
	}
	if w.gone.Load() {
		return 0, errDiscarded
	}
	n := w.n.Load()
	if off >= n {
		return 0, io.EOF
	}
	k, err := w.f.ReadAt(p[:min(int64(len(p)), n-off)], off)
	if errors.Is(err, fs.ErrClosed) {
		if c := w.stored.Load(); c != nil {
			return w.readStored(*c, p, off) // committed meanwhile
		}
		return k, errDiscarded
	}
	if err == nil && k < len(p) {
		err = io.EOF
	}
	return k, err
}

func (w *diskWriter) readStored(c cid.CID, p []byte, off int64) (int, error) {
	dir, err := w.d.openShard(c)
	if err != nil {
		return 0, err
	}
	defer dir.Close()
	f, _, err := openRead(dir, hexOf(c))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return f.ReadAt(p, off)
}

// Abort discards the blob; it does nothing once the writer is done.
func (w *diskWriter) Abort() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = errDone
		w.discard()
	}
}

// fail ends the writer with err, removing its temp files, and returns err.
func (w *diskWriter) fail(err error) error {
	w.err = err
	w.discard()
	return err
}

// discard closes and removes the temp files. After a commit renamed them
// there is nothing to remove.
func (w *diskWriter) discard() {
	w.gone.Store(true)
	w.f.Close()
	unlinkAt(w.tmp, w.name)
	if w.obTemp {
		unlinkAt(w.tmp, w.name+".obao")
	}
}

// Commit makes the blob durable under c if its BLAKE3 root is c's digest
// and, when size >= 0, its length is size. It reads the temp file back to
// compute the outboard and the root. On any failure nothing is left
// behind. Committing a blob that is already stored succeeds.
func (w *diskWriter) Commit(c cid.CID, size int64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	n := w.n.Load()
	if size >= 0 && n != size {
		return w.fail(fmt.Errorf("%w: got %d bytes, announced %d", ErrSizeMismatch, n, size))
	}
	var ob []byte
	var root [32]byte
	if w.enc != nil && w.enc.Len() == n {
		ob, root = w.enc.Finish()
		w.enc = nil
	} else {
		var err error
		if ob, root, err = w.outboard(n); err != nil {
			return w.fail(fmt.Errorf("store: read back: %w", err))
		}
	}
	if root != c.Digest() {
		return w.fail(fmt.Errorf("%w: content is %s, announced %s", ErrHashMismatch, cid.FromDigest(root), c))
	}
	return w.place(c, ob)
}

// CommitVerified is Commit for bytes the caller verified against c with
// the outboard ob: it checks ob's length and header, not the bytes.
func (w *diskWriter) CommitVerified(c cid.CID, ob []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if err := checkOutboard(w.n.Load(), ob); err != nil {
		return w.fail(err)
	}
	return w.place(c, ob)
}

// outboard reads the temp file back and computes its Bao outboard tree and
// root in memory (an outboard is 1/256 of the blob).
func (w *diskWriter) outboard(n int64) ([]byte, [32]byte, error) {
	buf := &bufferAt{b: make([]byte, outboardSize(n))}
	r := bufio.NewReaderSize(io.NewSectionReader(w.f, 0, n), int(min(max(n, 16), 1<<20)))
	root, err := bao.Encode(buf, r, n, Group, true)
	return buf.b, root, err
}

// place stores the temp file as c, beside the outboard ob unless the blob
// is headerOnly, durably, unless c is stored already. It holds c's commit
// lock, under which every placement either completes, directory fsync
// included, or is undone; so a blob found there is durable, and a
// duplicate needs no fsync at all.
func (w *diskWriter) place(c cid.CID, ob []byte) error {
	unlock := w.d.locks.lock(c.Digest())
	defer unlock()
	shardSynced, err := w.d.makeShard(c)
	if err != nil {
		return w.fail(err)
	}
	dir, err := w.d.openShard(c)
	if err != nil {
		return w.fail(err)
	}
	defer dir.Close()
	name := hexOf(c)
	if _, err := statAt(dir, name); err == nil {
		// Stored already: the commit still counts as one (the blob is
		// not garbage committed before it; RemoveCommittedBefore).
		if err := touchAt(dir, name); err != nil {
			return w.fail(err)
		}
		w.finish(c)
		w.discard()
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return w.fail(err)
	}

	// The commit time is the blob's modification time, set now rather
	// than left at its last write's: RemoveCommittedBefore compares it.
	if err := touchAt(w.tmp, w.name); err != nil {
		return w.fail(err)
	}
	// The bytes, then the outboard, are durable before their names are.
	if err := w.f.Sync(); err != nil {
		return w.fail(fmt.Errorf("store: fsync: %w", noSpace(err)))
	}
	withOutboard := !headerOnly(w.n.Load())
	if withOutboard {
		if err := w.writeOutboard(ob); err != nil {
			return w.fail(err)
		}
		if err := renameAt(w.tmp, w.name+".obao", dir, name+".obao"); err != nil {
			return w.fail(noSpace(err))
		}
	}
	unplace := func() {
		unlinkAt(dir, name)
		if withOutboard {
			unlinkAt(dir, name+".obao")
		}
	}
	if err := renameAt(w.tmp, w.name, dir, name); err != nil {
		unplace()
		return w.fail(noSpace(err))
	}
	// Not durable, so not stored: a failed fsync takes the blob back out.
	if err := dir.Sync(); err != nil {
		unplace()
		return w.fail(fmt.Errorf("store: fsync %s: %w", dir.Name(), noSpace(err)))
	}
	if err := shardSynced(); err != nil {
		unplace()
		return w.fail(err)
	}
	w.d.count.Add(1)
	w.d.used.Add(w.n.Load())
	w.finish(c)
	w.f.Close()
	return nil
}

// finish marks the writer committed as c.
func (w *diskWriter) finish(c cid.CID) {
	w.stored.Store(&c)
	w.err = errDone
}

// writeOutboard writes ob to the outboard's temp file and fsyncs it.
func (w *diskWriter) writeOutboard(ob []byte) error {
	f, err := openAt(w.tmp, w.name+".obao", unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, 0o600)
	if err != nil {
		return noSpace(err)
	}
	w.obTemp = true
	if _, err = f.Write(ob); err == nil {
		if err = f.Sync(); err != nil {
			err = fmt.Errorf("store: fsync outboard: %w", err)
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return noSpace(err)
}

// bufferAt is an io.WriterAt over a fixed slice.
type bufferAt struct{ b []byte }

func (b *bufferAt) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > int64(len(b.b)) {
		return 0, errors.New("store: outboard write out of range")
	}
	return copy(b.b[off:], p), nil
}
