package challenge

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"slices"
	"sync"

	"lukechampine.com/blake3/guts"
)

// A range's Bao slice (lukechampine.com/blake3/bao's ExtractSlice with
// group 0: chunk granularity) is the blob's length as 8 little-endian
// bytes, then, in pre-order, the 64-byte tree nodes whose subtrees hold
// bytes of the range and the chunks that do: the path from the root down
// to the range's outboard group (nodes the outboard keeps), then the
// group's own subtree down to the chunks holding the range (nodes a node
// hashes from the group), then those chunks (one, for a 1 KiB range on a
// chunk boundary). The BLAKE3 tree is the same whatever the group size,
// so it proves the range against the CID's root. Its size follows from
// the blob's size and the range, so the auditor reads exactly what it
// expects and no more.

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
		m := mid(n)
		if off < pos+m {
			n, ob = m, ob+64
		} else {
			// The left subtree's encoding is 64 bytes per parent: one
			// fewer than its groups.
			pos, n, ob = pos+m, n-m, ob+64*(m/GroupSize)
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
	return 8 + 64*int64(len(p.nodes)) + inGroupSize(p.start, p.end-p.start, r)
}

// mid is where a subtree of n > ChunkSize bytes splits: its left subtree
// holds the largest power of two of chunks that leaves the right one some.
func mid(n int64) int64 { return int64(1) << (bits.Len64(uint64(n-1)) - 1) }

// inGroupSize is the length of the part of r's slice under the subtree of
// n bytes at pos, which holds some of r: its nodes and chunks.
func inGroupSize(pos, n int64, r Range) int64 {
	if n <= ChunkSize {
		return n
	}
	m := mid(n)
	size := int64(64)
	if r.Off < pos+m {
		size += inGroupSize(pos, m, r)
	}
	if r.Off+r.Len > pos+m {
		size += inGroupSize(pos+m, n-m, r)
	}
	return size
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
// node); it hashes each group it read for the tree nodes inside it, then
// writes the whole answer with one Write. It proves what is there: bytes
// that do not match the CID make an answer the auditor rejects.
func Answer(w io.Writer, data, outboard io.ReaderAt, size int64, ranges []Range) error {
	var total, groupsLen int64
	paths := make([]path, len(ranges))
	var nodes []int64
	for i, r := range ranges {
		if err := check(size, r); err != nil {
			return err
		}
		total += SliceSize(size, r)
		paths[i] = pathTo(size, r.Off, nil)
		nodes = append(nodes, paths[i].nodes...)
		groupsLen += paths[i].end - paths[i].start
	}
	if len(nodes) > 0 && outboard == nil {
		return errors.New("challenge: a blob of more than one group needs its outboard")
	}
	spans := spansOf(nodes)
	var treeLen int64
	for _, s := range spans {
		treeLen += s.end - s.start
	}
	tree := make([]byte, treeLen+groupsLen)
	groups := tree[treeLen:]

	reads := make([]read, 0, len(spans)+len(ranges))
	at := int64(0)
	for _, s := range spans {
		reads = append(reads, read{outboard, tree[at : at+s.end-s.start], s.start, "outboard"})
		at += s.end - s.start
	}
	at = 0
	for _, p := range paths {
		reads = append(reads, read{data, groups[at : at+p.end-p.start], p.start, "blob"})
		at += p.end - p.start
	}
	if err := readAll(reads); err != nil {
		return err
	}

	buf := make([]byte, 0, total)
	var cvs groupCVs
	for i, p := range paths {
		buf = binary.LittleEndian.AppendUint64(buf, uint64(size))
		for _, n := range p.nodes {
			o := spans.find(n)
			buf = append(buf, tree[o:o+64]...)
		}
		g := groups[:p.end-p.start]
		groups = groups[len(g):]
		cvs.hash(g, uint64(p.start)/ChunkSize)
		buf, _ = appendInGroup(buf, g, &cvs, p.start, 0, int64(len(g)), ranges[i])
	}
	_, err := w.Write(buf)
	return err
}

// groupCVs is the chaining values of a group's chunks.
type groupCVs [GroupSize / ChunkSize][8]uint32

// hash sets c to the chaining values of the chunks of g, the group at
// chunk counter counter: eight at a time while there are eight.
func (c *groupCVs) hash(g []byte, counter uint64) {
	j := 0
	for ; (j+8)*ChunkSize <= len(g); j += 8 {
		compressChunks8((*[8][8]uint32)(c[j:j+8]), (*[8 * ChunkSize]byte)(g[j*ChunkSize:]), counter+uint64(j))
	}
	for ; j*ChunkSize < len(g); j++ {
		chunk := g[j*ChunkSize : min(len(g), (j+1)*ChunkSize)]
		c[j] = guts.ChainingValue(guts.CompressChunk(chunk, &guts.IV, counter+uint64(j), 0))
	}
}

// cv is the chaining value of the subtree of n bytes at pos in the group.
func (c *groupCVs) cv(pos, n int64) [8]uint32 {
	if n <= ChunkSize {
		return c[pos/ChunkSize]
	}
	m := mid(n)
	return guts.ChainingValue(guts.ParentNode(c.cv(pos, m), c.cv(pos+m, n-m), &guts.IV, 0))
}

// appendInGroup appends to buf the part of r's slice under the subtree of
// n bytes at pos of the group g, whose chunks' chaining values are c and
// which starts at blob offset gpos, and returns the subtree's chaining
// value (not the root's: the caller never needs that). For a subtree of
// more than a chunk, the part is its node (its children's chaining
// values) and the parts under its children that hold some of r; for a
// chunk, its bytes.
func appendInGroup(buf, g []byte, c *groupCVs, gpos, pos, n int64, r Range) ([]byte, [8]uint32) {
	if n <= ChunkSize {
		return append(buf, g[pos:pos+n]...), c[pos/ChunkSize]
	}
	at := len(buf)
	buf = append(buf, make([]byte, 64)...) // the node, once its children are known
	m := mid(n)
	var left, right [8]uint32
	if r.Off < gpos+pos+m {
		buf, left = appendInGroup(buf, g, c, gpos, pos, m, r)
	} else {
		left = c.cv(pos, m)
	}
	if r.Off+r.Len > gpos+pos+m {
		buf, right = appendInGroup(buf, g, c, gpos, pos+m, n-m, r)
	} else {
		right = c.cv(pos+m, n-m)
	}
	node := guts.ParentNode(left, right, &guts.IV, 0)
	for i, w := range node.Block {
		binary.LittleEndian.PutUint32(buf[at+4*i:], w)
	}
	return buf, guts.ChainingValue(node)
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
