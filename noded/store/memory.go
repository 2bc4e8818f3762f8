package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"
	"time"

	"lukechampine.com/blake3/bao"

	"dstor/shared/cid"
)

// Memory is a blob store in memory, for tests and for nodes that keep
// nothing on disk. It holds at most its capacity in blob bytes, counting
// those being written (outboards, 1/256 of a blob, are not counted). It is
// safe for concurrent use.
type Memory struct {
	capacity int64

	mu      sync.RWMutex
	blobs   map[[32]byte]memBlob
	used    int64 // bytes of the stored blobs
	pending int64 // bytes held by writers not yet committed or aborted
	closed  bool
}

type memBlob struct {
	data, outboard []byte
	committed      time.Time // last commit
}

var _ Store = (*Memory)(nil)

var errMemoryClosed = fmt.Errorf("store: memory store closed: %w", fs.ErrClosed)

// NewMemory returns an empty store that holds up to capacity bytes.
func NewMemory(capacity int64) *Memory {
	return &Memory{capacity: capacity, blobs: make(map[[32]byte]memBlob)}
}

// Create starts a new blob.
func (m *Memory) Create() (Writer, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, errMemoryClosed
	}
	return &memWriter{m: m}, nil
}

// CreateVerified is Create: a memory store hashes at commit, from memory.
func (m *Memory) CreateVerified() (Writer, error) { return m.Create() }

// Open returns a stored blob and its outboard. They stay readable after
// the blob is removed.
func (m *Memory) Open(c cid.CID) (*Blob, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	b, ok := m.blobs[c.Digest()]
	if !ok {
		return nil, ErrNotFound
	}
	return &Blob{
		Size:         int64(len(b.data)),
		Data:         bytesReader{bytes.NewReader(b.data)},
		Outboard:     bytesReader{bytes.NewReader(b.outboard)},
		OutboardSize: int64(len(b.outboard)),
	}, nil
}

// Has reports whether c is stored, and its size.
func (m *Memory) Has(c cid.CID) (int64, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	b, ok := m.blobs[c.Digest()]
	return int64(len(b.data)), ok
}

// Remove deletes a blob and its outboard.
func (m *Memory) Remove(c cid.CID) error {
	_, err := m.remove(c, time.Time{})
	return err
}

// RemoveCommittedBefore deletes a blob last committed before t.
func (m *Memory) RemoveCommittedBefore(c cid.CID, t time.Time) (bool, error) {
	return m.remove(c, t)
}

// remove deletes blob c if before is zero or it was committed before it.
func (m *Memory) remove(c cid.CID, before time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.blobs[c.Digest()]
	if !ok {
		return false, ErrNotFound
	}
	if !before.IsZero() && !b.committed.Before(before) {
		return false, nil
	}
	delete(m.blobs, c.Digest())
	m.used -= int64(len(b.data))
	return true, nil
}

// Walk calls fn for every blob stored when it starts, until fn returns an
// error, which Walk returns. fn may use the store.
func (m *Memory) Walk(fn func(c cid.CID, size int64) error) error {
	type entry struct {
		digest [32]byte
		size   int64
	}
	m.mu.RLock()
	if m.closed {
		m.mu.RUnlock()
		return errMemoryClosed
	}
	all := make([]entry, 0, len(m.blobs))
	for d, b := range m.blobs {
		all = append(all, entry{d, int64(len(b.data))})
	}
	m.mu.RUnlock()
	for _, e := range all {
		if err := fn(cid.FromDigest(e.digest), e.size); err != nil {
			return err
		}
	}
	return nil
}

// Count returns how many blobs the store holds.
func (m *Memory) Count() int64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return int64(len(m.blobs))
}

// Used returns the sum of the sizes of the stored blobs.
func (m *Memory) Used() int64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.used
}

// Space returns the capacity and the capacity not used by stored blobs.
func (m *Memory) Space() (capacity, free int64, err error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.capacity, m.capacity - m.used, nil
}

// Close drops every blob; the store cannot be used afterwards.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed, m.blobs, m.used = true, nil, 0
	return nil
}

// reserve takes k bytes of capacity for a writer.
func (m *Memory) reserve(k int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errMemoryClosed
	}
	if m.used+m.pending+k > m.capacity {
		return fmt.Errorf("%w: %d bytes more would exceed the capacity of %d (%d stored, %d being written)", ErrNoSpace, k, m.capacity, m.used, m.pending)
	}
	m.pending += k
	return nil
}

// release gives back k bytes a writer reserved.
func (m *Memory) release(k int64) {
	m.mu.Lock()
	m.pending -= k
	m.mu.Unlock()
}

// put stores a writer's blob under c, unless it is stored already, and
// gives back the writer's reservation.
func (m *Memory) put(c cid.CID, data, ob []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pending -= int64(len(data))
	if m.closed {
		return errMemoryClosed
	}
	b, ok := m.blobs[c.Digest()]
	if !ok {
		b = memBlob{data: data, outboard: ob}
		m.used += int64(len(data))
	}
	b.committed = time.Now()
	m.blobs[c.Digest()] = b
	return nil
}

// memWriter receives one blob into memory.
type memWriter struct {
	m *Memory

	mu     sync.RWMutex
	buf    []byte
	err    error // why the writer is done: errDone, or its failure
	stored bool  // committed: buf is the stored blob's bytes
}

// Write appends blob bytes. One that would exceed the capacity fails with
// ErrNoSpace and discards the blob; later calls return the same error.
func (w *memWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return 0, w.err
	}
	if err := w.m.reserve(int64(len(p))); err != nil {
		return 0, w.fail(err)
	}
	w.buf = append(w.buf, p...)
	return len(p), nil
}

// Len is the number of bytes written so far.
func (w *memWriter) Len() int64 {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return int64(len(w.buf))
}

// ReadAt reads bytes already written.
func (w *memWriter) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("store: negative offset")
	}
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.err != nil && !w.stored {
		return 0, errDiscarded
	}
	if off >= int64(len(w.buf)) {
		return 0, io.EOF
	}
	k := copy(p, w.buf[off:])
	if k < len(p) {
		return k, io.EOF
	}
	return k, nil
}

// Commit stores the blob under c if its BLAKE3 root is c's digest and,
// when size >= 0, its length is size.
func (w *memWriter) Commit(c cid.CID, size int64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	n := int64(len(w.buf))
	if size >= 0 && n != size {
		return w.fail(fmt.Errorf("%w: got %d bytes, announced %d", ErrSizeMismatch, n, size))
	}
	ob, root := bao.EncodeBuf(w.buf, Group, true)
	if root != c.Digest() {
		return w.fail(fmt.Errorf("%w: content is %s, announced %s", ErrHashMismatch, cid.FromDigest(root), c))
	}
	return w.put(c, ob)
}

// CommitVerified is Commit for bytes the caller verified against c with
// the outboard ob: it checks ob's length and header, not the bytes.
func (w *memWriter) CommitVerified(c cid.CID, ob []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if err := checkOutboard(int64(len(w.buf)), ob); err != nil {
		return w.fail(err)
	}
	return w.put(c, bytes.Clone(ob))
}

func (w *memWriter) put(c cid.CID, ob []byte) error {
	if err := w.m.put(c, w.buf, ob); err != nil {
		w.err, w.buf = err, nil
		return err
	}
	w.err, w.stored = errDone, true
	return nil
}

// Abort discards the blob; it does nothing once the writer is done.
func (w *memWriter) Abort() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.fail(errDone)
	}
}

// fail ends the writer with err, giving back its bytes, and returns err.
func (w *memWriter) fail(err error) error {
	w.m.release(int64(len(w.buf)))
	w.err, w.buf = err, nil
	return err
}
