// Package challenge is the core of proof-of-storage audits: which byte
// ranges of a blob an auditor asks a node for, the node's answer (a Bao
// slice per range at chunk granularity, cut from the blob's outboard tree
// and the group holding the range), and the auditor's check of that
// answer against the CID's BLAKE3 root alone.
//
// A challenge is a fresh random 32-byte nonce. The ranges follow from it,
// the CID and the challenged node's identity through BLAKE3 in keyed mode
// (Ranges), so neither side chooses them and a node cannot know them
// before the nonce arrives: it must hold the data to answer in time. Each
// range starts on a 1 KiB chunk boundary and lies inside one 16 KiB
// outboard group, so a 1 KiB range is one BLAKE3 chunk: its proof is that
// chunk and the tree nodes on the path to it (about 2.3 KiB in a 1 GiB
// blob), and its check hashes one chunk and the path. The outboard keeps
// only the nodes above groups; a node hashes the group it reads to get
// the ones inside it. The ranges fall in distinct groups, uniformly over
// the blob (or all of them, when it has fewer groups than ranges).
//
// An empty blob has no groups and no ranges: its answer is empty and it
// passes trivially. Nothing about it can be lost (its bytes follow from
// its CID), so auditors should not spend challenges on it; picking pins
// weighted by bytes never does.
package challenge

import (
	"cmp"
	"errors"
	"math/bits"
	"slices"

	"dstor/shared/cid"
)

// Group is the Bao chunk-group exponent of every outboard: 16 KiB groups.
const Group = 4

// GroupSize is the number of blob bytes one outboard leaf covers.
const GroupSize = ChunkSize << Group

// ChunkSize is a BLAKE3 chunk: the leaves of an answer's slices (Bao
// group 0), and the alignment of every range Ranges derives.
const ChunkSize = 1024

// MaxRanges bounds the ranges of one challenge (4 to 8 are typical).
const MaxRanges = 16

// ErrBadProof means an answer does not prove the challenged ranges: a
// byte or tree node that does not hash to the root, a wrong length, an
// answer cut short or with bytes left over.
var ErrBadProof = errors.New("challenge: answer does not prove the ranges")

// Range is Len bytes of a blob at Off, inside one chunk group.
type Range struct {
	Off int64 `json:"off"`
	Len int64 `json:"len"`
}

// domain separates these ranges from any other use of the nonce.
// v2: offsets on chunk boundaries (v1 drew any offset in the group).
const domain = "dstor challenge ranges v2\x00"

// Ranges derives the k ranges of length bytes that the nonce asks of the
// node nodeID for blob id of size bytes, sorted by offset. k is capped at
// MaxRanges and length at GroupSize. Each range starts on a chunk boundary
// (a multiple of ChunkSize) drawn uniformly among those of its group from
// which length bytes fit, and the chunk boundary after the last of them
// when the group ends inside a chunk (so its last bytes are asked about
// too): a range is cut short at its group's end, and a range of ChunkSize
// bytes is exactly one chunk. The ranges of a smaller k are among those
// of a larger one. An empty blob, k < 1 or length < 1 give none.
func Ranges(nonce [32]byte, id cid.CID, nodeID string, size int64, k, length int) []Range {
	if size <= 0 || k < 1 || length < 1 {
		return nil
	}
	k = min(k, MaxRanges)
	n := int64(min(length, GroupSize))
	groups := uint64((size + GroupSize - 1) / GroupSize)

	xof := newRangeXOF(nonce, id.Digest(), nodeID)
	draw := func(bound uint64) int64 { // uniform in [0, bound), bias < bound/2^64
		hi, _ := bits.Mul64(xof.next(), bound)
		return int64(hi)
	}

	rs := make([]Range, 0, k)
	seen := make([]int64, 0, k)
	for len(rs) < k {
		g := draw(groups)
		if slices.Contains(seen, g) && uint64(len(seen)) < groups {
			continue // distinct groups while there are any left
		}
		if !slices.Contains(seen, g) {
			seen = append(seen, g)
		}
		start := g * GroupSize
		glen := min(GroupSize, size-start)
		rlen := min(n, glen)
		// Chunk starts a with a+rlen <= glen, and the next one if glen-rlen
		// is not on a boundary and that one is inside the group.
		starts := min((glen+ChunkSize-1)/ChunkSize, (glen-rlen+ChunkSize-1)/ChunkSize+1)
		a := draw(uint64(starts)) * ChunkSize
		rs = append(rs, Range{Off: start + a, Len: min(rlen, glen-a)})
	}
	slices.SortFunc(rs, func(a, b Range) int {
		return cmp.Or(cmp.Compare(a.Off, b.Off), cmp.Compare(a.Len, b.Len))
	})
	return rs
}
