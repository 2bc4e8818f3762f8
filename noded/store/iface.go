package store

import (
	"errors"
	"io"
	"time"

	"dstor/shared/cid"
)

// ErrNoSpace means the filesystem (or a memory store's capacity) is full.
// A write that hits it leaves nothing behind. Disk wraps the cause too
// (syscall.ENOSPC or EDQUOT).
var ErrNoSpace = errors.New("store: no space left")

// Store keeps a node's blobs, each beside its Bao outboard tree. Disk and
// Memory implement it and pass one conformance suite. All methods are safe
// for concurrent use.
type Store interface {
	// Create starts a new blob. It may fail with ErrNoSpace.
	Create() (Writer, error)
	// CreateVerified starts a new blob that the caller verifies itself
	// and commits with CommitVerified (a peer fetch): the store may skip
	// hashing it.
	CreateVerified() (Writer, error)
	// Open returns a stored blob and its outboard, or ErrNotFound. The
	// caller closes the Blob; it stays readable if the blob is removed
	// meanwhile.
	Open(c cid.CID) (*Blob, error)
	// Has reports whether c is stored, and its size.
	Has(c cid.CID) (int64, bool)
	// Remove deletes a blob and its outboard durably; ErrNotFound if absent.
	Remove(c cid.CID) error
	// RemoveCommittedBefore is Remove for garbage: it deletes the blob
	// only if it was last committed before t (committing a blob already
	// stored counts, as it does when a new upload of the same bytes
	// arrives), and reports whether it did; ErrNotFound if absent.
	RemoveCommittedBefore(c cid.CID, t time.Time) (bool, error)
	// Walk calls fn for every stored blob, in no particular order, until
	// fn returns an error, which Walk returns (as is, even fs.SkipAll).
	// fn may use the store; blobs committed or removed during the walk
	// may or may not be seen.
	Walk(fn func(c cid.CID, size int64) error) error
	// Count is the number of blobs; Used the sum of their sizes
	// (outboards not included).
	Count() int64
	Used() int64
	// Space is the capacity and free bytes of the underlying medium: the
	// filesystem for Disk, the capacity and what stored blobs leave of it
	// for Memory.
	Space() (capacity, free int64, err error)
	// Close releases the store; it cannot be used afterwards.
	Close() error
}

// Writer receives one blob. Write the bytes, then Commit (or
// CommitVerified) or Abort. Bytes already written can be read back with
// ReadAt while the blob is being received.
//
// Write, Commit, CommitVerified and Abort may be called from different
// goroutines but are serialised; Len and ReadAt may be called at any time,
// concurrently with them (Disk's never wait for them).
// A writer is done after a commit (successful or not), an Abort or a
// failed Write: a failure discards the blob at once (a Write that hits
// ErrNoSpace frees its space before it returns) and later calls return
// that failure; after a successful commit or an Abort, they return an
// error wrapping fs.ErrClosed.
type Writer interface {
	// Write appends bytes to the blob.
	io.Writer
	// ReadAt reads bytes already written: [0, Len()), io.EOF past it.
	// After a successful commit it reads the stored blob; once the blob
	// is aborted or failed it returns an error wrapping fs.ErrClosed.
	io.ReaderAt
	// Len is the number of bytes written so far.
	Len() int64
	// Commit makes the blob durable under c if its BLAKE3 root is c's
	// digest and, when size >= 0, its length is size; it computes the
	// outboard itself. On failure (ErrHashMismatch, ErrSizeMismatch,
	// ErrNoSpace, I/O) nothing is left behind. Committing a blob that is
	// already stored succeeds.
	Commit(c cid.CID, size int64) error
	// CommitVerified is Commit for bytes the caller has already verified
	// against c with the given outboard (as a peer fetch does while
	// streaming); it checks the outboard's length (ErrSizeMismatch if it
	// does not fit Len()) but does not re-hash. The caller keeps
	// outboard.
	CommitVerified(c cid.CID, outboard []byte) error
	// Abort discards the blob. It does nothing once the writer is done,
	// so it is safe to call after Commit.
	Abort()
}

// Blob is an open stored blob.
type Blob struct {
	Size     int64
	Data     ReaderAtCloser
	Outboard ReaderAtCloser
	// OutboardSize is the outboard's length in bytes.
	OutboardSize int64
}

// Close releases the blob's files.
func (b *Blob) Close() error {
	return errors.Join(b.Data.Close(), b.Outboard.Close())
}

// ReaderAtCloser is a random-access reader that must be closed.
type ReaderAtCloser interface {
	io.ReaderAt
	io.Closer
}
