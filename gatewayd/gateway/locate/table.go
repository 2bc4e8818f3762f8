package locate

import (
	"encoding/binary"
	"net/netip"
)

// prefixTable maps prefixes to nonzero values and finds the value of the
// longest prefix holding an address. It is built as a binary trie, then
// frozen into sorted spans of the address space, each with the value of
// its most specific prefix, so that a lookup is a binary search over at
// most 2n+1 spans whatever the prefix lengths, and does not allocate.
type prefixTable struct {
	nodes          []trieNode // roots at root4 and root6
	spans4, spans6 []span     // set by freeze
}

type trieNode struct {
	child [2]int32 // index into nodes; 0 is none (node 0 is a root)
	val   int32    // 0 is none
}

const (
	root4 = 0
	root6 = 1
)

// span is a run of addresses, from start (left-aligned in hi, lo) to the
// next span's start, whose longest prefix has value val.
type span struct {
	hi, lo uint64
	val    int32
}

// insert sets the value of p, which is normalized.
func (t *prefixTable) insert(p netip.Prefix, val int32) {
	if t.nodes == nil {
		t.nodes = make([]trieNode, 2)
	}
	n, _ := t.walk(p.Addr(), p.Bits(), true)
	t.nodes[n].val = val
}

// get returns the value of exactly p, 0 if none.
func (t *prefixTable) get(p netip.Prefix) int32 {
	if t.nodes == nil {
		return 0
	}
	n, depth := t.walk(p.Addr(), p.Bits(), false)
	if depth != p.Bits() {
		return 0
	}
	return t.nodes[n].val
}

// walk follows the first bits of a from its root, adding nodes when grow is
// set, and returns the last node reached and its depth.
func (t *prefixTable) walk(a netip.Addr, bits int, grow bool) (node int32, depth int) {
	hi, lo, node := addrBits(a)
	for ; depth < bits; depth++ {
		bit := hi >> 63
		hi, lo = hi<<1|lo>>63, lo<<1
		c := t.nodes[node].child[bit]
		if c == 0 {
			if !grow {
				return node, depth
			}
			t.nodes = append(t.nodes, trieNode{})
			c = int32(len(t.nodes) - 1)
			t.nodes[node].child[bit] = c
		}
		node = c
	}
	return node, depth
}

// freeze computes the spans; call it after the last insert.
func (t *prefixTable) freeze() {
	if t.nodes == nil {
		return
	}
	t.spans4 = t.flatten(root4, 0, 0, 0, 0, nil)
	t.spans6 = t.flatten(root6, 0, 0, 0, 0, nil)
}

// flatten appends the spans of the subtree at node, which starts at
// (hi, lo) at the given depth and inherits val from its ancestors.
func (t *prefixTable) flatten(node int32, hi, lo uint64, depth int, val int32, out []span) []span {
	n := t.nodes[node]
	if n.val != 0 {
		val = n.val
	}
	out = appendSpan(out, span{hi, lo, val})
	if n.child[0] != 0 {
		out = t.flatten(n.child[0], hi, lo, depth+1, val, out)
	}
	if n.child == [2]int32{} {
		return out // a leaf, perhaps as deep as the address is long
	}
	if depth < 64 { // the start of the upper half: set bit depth
		hi |= 1 << (63 - depth)
	} else {
		lo |= 1 << (127 - depth)
	}
	if n.child[1] != 0 {
		return t.flatten(n.child[1], hi, lo, depth+1, val, out)
	}
	return appendSpan(out, span{hi, lo, val})
}

// appendSpan appends s, merging it with spans of the same start or value.
func appendSpan(out []span, s span) []span {
	if k := len(out) - 1; k >= 0 && out[k].hi == s.hi && out[k].lo == s.lo {
		out = out[:k] // s is more specific
	}
	if k := len(out) - 1; k >= 0 && out[k].val == s.val {
		return out
	}
	return append(out, s)
}

// lookup returns the value of the longest prefix holding a, 0 if none. a
// must be unmapped.
func (t *prefixTable) lookup(a netip.Addr) int32 {
	if !a.IsValid() {
		return 0
	}
	hi, lo, root := addrBits(a)
	spans := t.spans6
	if root == root4 {
		spans = t.spans4
	}
	// Find the first span starting after a; a is in the one before.
	i, j := 0, len(spans)
	for i < j {
		h := int(uint(i+j) >> 1)
		if s := &spans[h]; s.hi > hi || s.hi == hi && s.lo > lo {
			j = h
		} else {
			i = h + 1
		}
	}
	if i == 0 {
		return 0 // no spans: the first starts at the family's first address
	}
	return spans[i-1].val
}

// addrBits returns the bits of a, left-aligned in two words, and the root
// of its family.
func addrBits(a netip.Addr) (hi, lo uint64, root int32) {
	if a.Is4() {
		b := a.As4()
		return uint64(binary.BigEndian.Uint32(b[:])) << 32, 0, root4
	}
	b := a.As16()
	return binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:]), root6
}
