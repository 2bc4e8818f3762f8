package challenge

import "lukechampine.com/blake3/guts"

// A Bao slice's tree nodes are checked independently of each other: each
// 64-byte node must hash (as a BLAKE3 parent) to the half of the node
// above it that leads to the chunk, the top one to the root. So the
// nodes of all the slices of an answer are hashed eight at a time.

// parentBatch collects up to eight tree nodes and the chaining value
// each must hash to.
type parentBatch struct {
	in   [16][8]uint32
	want [8][8]uint32
	who  [8]int // the range each node proves
	n    int
}

// add queues the tree node (64 bytes: two chaining values), which must
// hash to want (32 bytes), for range i. When the batch is full it is
// checked: add returns the range of a node that does not hash to its
// value, or -1.
func (b *parentBatch) add(node, want []byte, i int) int {
	loadCV(&b.in[2*b.n], node[:32])
	loadCV(&b.in[2*b.n+1], node[32:64])
	return b.queued(want, i)
}

// addGroup queues a group's top node, a parent of two chaining values.
func (b *parentBatch) addGroup(top *guts.Node, want []byte, i int) int {
	b.in[2*b.n], b.in[2*b.n+1] = [8]uint32(top.Block[:8]), [8]uint32(top.Block[8:])
	return b.queued(want, i)
}

func (b *parentBatch) queued(want []byte, i int) int {
	loadCV(&b.want[b.n], want)
	b.who[b.n] = i
	b.n++
	if b.n < len(b.want) {
		return -1
	}
	return b.check()
}

// check hashes the queued nodes, empties the batch and returns the range
// of the first node that does not hash to its value, or -1.
func (b *parentBatch) check() int {
	n := b.n
	b.n = 0
	if n == 0 {
		return -1
	}
	var out [8][8]uint32
	compressParents8(&out, &b.in, 0)
	for j := range n {
		if out[j] != b.want[j] {
			return b.who[j]
		}
	}
	return -1
}

// compressParentsGeneric is compressParents8 one node at a time.
func compressParentsGeneric(out *[8][8]uint32, in *[16][8]uint32, flags uint32) {
	for i := range out {
		out[i] = guts.ChainingValue(guts.ParentNode(in[2*i], in[2*i+1], &guts.IV, flags))
	}
}

// compressChunksGeneric is compressChunks8 one chunk at a time.
func compressChunksGeneric(out *[8][8]uint32, buf *[8 * guts.ChunkSize]byte, counter uint64) {
	for i := range out {
		out[i] = guts.ChainingValue(guts.CompressChunk(buf[i*guts.ChunkSize:(i+1)*guts.ChunkSize], &guts.IV, counter+uint64(i), 0))
	}
}
