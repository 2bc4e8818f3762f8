package challenge

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"slices"
	"sync"
)

// A range's Bao slice (lukechampine.com/blake3/bao's ExtractSlice with
// Group) is the blob's length as 8 little-endian bytes, the 64-byte tree
// nodes on the path from the root to the range's group, top down, then
// that whole group. Its size follows from the blob's size and the range,
// so the auditor reads exactly what it expects and no more.

// path is where the slice of the group holding byte off of a size-byte
// blob comes from: the outboard offsets of the tree nodes above it, top
// down, and the group's extent.
type path struct {
	nodes      []int64
	start, end int64
}

// pathTo walks the outboard's pre-order tree (as bao.Encode lays it out)
// from the root to the group holding off.
func pathTo(size, off int64, nodes []int64) path {
	pos, n, ob := int64(0), size, int64(8)
	for n > GroupSize {
		nodes = append(nodes, ob)
		mid := int64(1) << (bits.Len64(uint64(n-1)) - 1)
		if off < pos+mid {
			n, ob = mid, ob+64
		} else {
			// The left subtree's encoding is 64 bytes per parent: one
			// fewer than its groups.
			pos, n, ob = pos+mid, n-mid, ob+64*(mid/GroupSize)
		}
	}
	return path{nodes: nodes, start: pos, end: pos + n}
}

// check reports whether r is a range a challenge of a size-byte blob can
// hold: non-empty, inside the blob and inside one group.
func check(size int64, r Range) error {
	if r.Off < 0 || r.Len < 1 || r.Len > GroupSize || r.Off > size-r.Len || r.Off/GroupSize != (r.Off+r.Len-1)/GroupSize {
		return fmt.Errorf("challenge: range %d+%d is not inside one group of a %d-byte blob", r.Off, r.Len, size)
	}
	return nil
}

// SliceSize is the length of r's slice in a size-byte blob's answer.
func SliceSize(size int64, r Range) int64 {
	var nodes [64]int64
	p := pathTo(size, r.Off, nodes[:0])
	return 8 + 64*int64(len(p.nodes)) + p.end - p.start
}

// AnswerSize is the length of the answer to ranges of a size-byte blob:
// the sum of their slices' sizes.
func AnswerSize(size int64, ranges []Range) int64 {
	var n int64
	for _, r := range ranges {
		n += SliceSize(size, r)
	}
	return n
}

// Answer writes the slice of each range, in order, for a blob of size
// bytes read through data, with its outboard tree read through outboard
// (which may be nil for a blob of at most one group: it has no tree).
// It reads only the group each range falls in and the tree nodes above
// it, each node once (paths share their top) and nodes close together in
// one read, all reads at once (the device sees them together, so an
// answer from a cold disk costs about one read's latency, not one per
// node); then it writes the whole answer with one Write. It proves what
// is there: bytes that do not match the CID make an answer the auditor
// rejects.
func Answer(w io.Writer, data, outboard io.ReaderAt, size int64, ranges []Range) error {
	var total int64
	for _, r := range ranges {
		if err := check(size, r); err != nil {
			return err
		}
		total += SliceSize(size, r)
	}
	paths := make([]path, len(ranges))
	var nodes []int64
	for i, r := range ranges {
		paths[i] = pathTo(size, r.Off, nil)
		nodes = append(nodes, paths[i].nodes...)
	}
	if len(nodes) > 0 && outboard == nil {
		return errors.New("challenge: a blob of more than one group needs its outboard")
	}
	spans := spansOf(nodes)
	var treeLen int64
	for _, s := range spans {
		treeLen += s.end - s.start
	}
	tree := make([]byte, treeLen)

	buf := make([]byte, total)
	reads := make([]read, 0, len(spans)+len(ranges))
	at := int64(0)
	for _, s := range spans {
		reads = append(reads, read{outboard, tree[at : at+s.end-s.start], s.start, "outboard"})
		at += s.end - s.start
	}
	at = 0
	for _, p := range paths {
		at += 8 + 64*int64(len(p.nodes))
		reads = append(reads, read{data, buf[at : at+p.end-p.start], p.start, "blob"})
		at += p.end - p.start
	}
	if err := readAll(reads); err != nil {
		return err
	}

	at = 0
	for _, p := range paths {
		binary.LittleEndian.PutUint64(buf[at:], uint64(size))
		at += 8
		for _, n := range p.nodes {
			at += int64(copy(buf[at:at+64], tree[spans.find(n):]))
		}
		at += p.end - p.start
	}
	_, err := w.Write(buf)
	return err
}

// Tree nodes less than nearNodes apart are read together, up to maxSpan
// bytes at a time: in the same page or the next, a read costs the same.
const (
	nearNodes = 4096
	maxSpan   = 8192
)

// span is a stretch of the outboard read at once.
type span struct{ start, end int64 }

type spanList []span

// spansOf covers the 64-byte nodes at offs with spans, merging nodes
// near each other. It sorts offs.
func spansOf(offs []int64) spanList {
	slices.Sort(offs)
	var ss spanList
	for _, o := range slices.Compact(offs) {
		if n := len(ss); n > 0 && o-ss[n-1].end < nearNodes && o+64-ss[n-1].start <= maxSpan {
			ss[n-1].end = o + 64
		} else {
			ss = append(ss, span{o, o + 64})
		}
	}
	return ss
}

// find is where the node at off lies in the spans' bytes laid end to end.
func (ss spanList) find(off int64) int64 {
	var at int64
	for _, s := range ss {
		if off < s.end {
			return at + off - s.start
		}
		at += s.end - s.start
	}
	panic("challenge: node outside every span")
}

// read is one positioned read of an answer.
type read struct {
	r    io.ReaderAt
	p    []byte
	off  int64
	what string
}

// readAll does reads concurrently and returns the first error.
func readAll(reads []read) error {
	if len(reads) == 0 {
		return nil
	}
	errs := make([]error, len(reads))
	var wg sync.WaitGroup
	for i, rd := range reads[1:] {
		wg.Go(func() { errs[i+1] = readAt(rd.r, rd.p, rd.off) })
	}
	errs[0] = readAt(reads[0].r, reads[0].p, reads[0].off)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("challenge: read %s at %d: %w", reads[i].what, reads[i].off, err)
		}
	}
	return nil
}

// readAt fills p from r at off; an io.EOF with p full is success.
func readAt(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}
