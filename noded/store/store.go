// Package store keeps a storage node's blobs, each beside its Bao
// outboard tree (16 KiB chunk groups). Store (iface.go) is the contract
// the node uses; Disk keeps blobs durably in a directory and Memory keeps
// them in memory, and both pass one conformance suite.
//
// On disk a blob lives at blobs/<d0>/<d1>/<digest hex> beside its
// outboard <digest hex>.obao, where d0 and d1 are the digest's first two
// bytes in hex; a blob of at most one group (16 KiB) has no outboard file,
// since its outboard is only its length (see headerOnly). Paths come only from the digest, never from request text:
// directories are opened under an os.Root, and files in them are reached
// by a single path element (a digest in hex, a random temp name) relative
// to those directory handles.
//
// A blob is written to a temp file under tmp/. Commit checks its length and
// BLAKE3 root against the CID, fsyncs it, writes and fsyncs the outboard
// (if it has a file),
// creates the shard directories (fsyncing the parent of each new one),
// renames the outboard then the blob into place and fsyncs the shard
// directory, and only then succeeds: a blob that is visible is complete
// and verified. A failed fsync is never retried (the kernel may have
// dropped the dirty pages and cleared the error) and fails the commit,
// which, like every failure, leaves nothing behind. Opening the store
// empties tmp/, drops outboards whose blob is missing and syncs the
// filesystem.
package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"syscall"

	"lukechampine.com/blake3/bao"
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

// errDone is what a Writer returns once it has been committed or aborted.
var errDone = fmt.Errorf("store: writer already committed or aborted: %w", fs.ErrClosed)

// outboardSize is the length of the Bao outboard of a blob of size bytes.
func outboardSize(size int64) int64 { return int64(bao.EncodedSize(int(size), Group, true)) }

// A blob of at most one chunk group has no tree: its outboard is only the
// 8-byte length header, a function of its size. Disk keeps no outboard
// file for such a blob and makes it up when the blob is opened, which
// spares a small commit a file, its fsync and a rename, and keeps a 4 KiB
// blob in one inode and one block instead of two each.
func headerOnly(size int64) bool { return size <= GroupSize }

// lengthHeader is the outboard of a blob of size <= GroupSize bytes.
func lengthHeader(size int64) []byte {
	return binary.LittleEndian.AppendUint64(nil, uint64(size))
}

// bytesReader is a bytes.Reader with a Close that does nothing.
type bytesReader struct{ *bytes.Reader }

func (bytesReader) Close() error { return nil }

// checkOutboard checks that ob can be the outboard of a size-byte blob:
// its length, and the blob length it starts with.
func checkOutboard(size int64, ob []byte) error {
	if want := outboardSize(size); int64(len(ob)) != want {
		return fmt.Errorf("%w: a %d-byte blob has a %d-byte outboard, got %d bytes", ErrSizeMismatch, size, want, len(ob))
	}
	if n := binary.LittleEndian.Uint64(ob); n != uint64(size) {
		return fmt.Errorf("%w: outboard is for %d bytes, blob has %d", ErrSizeMismatch, n, size)
	}
	return nil
}

// noSpace marks a full filesystem (or quota) as ErrNoSpace, keeping the
// cause.
func noSpace(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("%w: %w", ErrNoSpace, err)
	}
	return err
}

// digestLocks serialises commits and removals of one digest, so that
// concurrent uploads of the same content store and count it once, while
// different blobs never wait for each other.
type digestLocks struct {
	mu sync.Mutex
	m  map[[32]byte]*digestLock
}

type digestLock struct {
	sync.Mutex
	refs int // holders and waiters; guarded by digestLocks.mu
}

// lock locks digest d and returns the function that unlocks it.
func (l *digestLocks) lock(d [32]byte) (unlock func()) {
	l.mu.Lock()
	if l.m == nil {
		l.m = make(map[[32]byte]*digestLock)
	}
	e := l.m[d]
	if e == nil {
		e = new(digestLock)
		l.m[d] = e
	}
	e.refs++
	l.mu.Unlock()
	e.Lock()
	return func() {
		e.Unlock()
		l.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(l.m, d)
		}
		l.mu.Unlock()
	}
}
