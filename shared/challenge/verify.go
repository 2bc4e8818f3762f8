package challenge

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"lukechampine.com/blake3/guts"
)

// checkAnswer checks ranges (the caller's error if no challenge could
// hold them) and that answer is as long as their slices (ErrBadProof if
// not).
func checkAnswer(size int64, ranges []Range, answer []byte) error {
	var total int64
	for _, r := range ranges {
		if err := check(size, r); err != nil {
			return err
		}
		total += SliceSize(size, r)
	}
	if int64(len(answer)) != total {
		return fmt.Errorf("%w: answer of %d bytes, want %d", ErrBadProof, len(answer), total)
	}
	return nil
}

// Verify checks an answer to ranges of a size-byte blob whose BLAKE3 root
// is root, as Answer writes it, and returns the bytes of each range (they
// alias answer when the range lies in one chunk). It checks each slice's
// length header against size and its tree nodes and chunks against root,
// as bao.VerifySlice (group 0) does, but hashes the tree nodes of all the
// slices eight at a time (parents.go), and checks a node above the groups
// that repeats one of the previous slice's only once: the ranges are
// sorted, so neighbours share the top of their paths.
//
// An answer is exactly AnswerSize bytes, which the caller knows before
// reading any (the wire client reads no more); an answer of another
// length, or a slice that does not verify, is an error wrapping
// ErrBadProof. Ranges that no challenge could hold are the caller's error.
func Verify(root [32]byte, size int64, ranges []Range, answer []byte) ([][]byte, error) {
	if err := checkAnswer(size, ranges, answer); err != nil {
		return nil, err
	}
	bad := func(i int) error {
		return fmt.Errorf("%w: range %d+%d does not hash to the root", ErrBadProof, ranges[i].Off, ranges[i].Len)
	}
	v := verifier{rootCV: bytesToCV(root[:]), size: size, out: make([][]byte, len(ranges))}
	var (
		prevTree []byte
		prevOff  int64
	)
	for i, r := range ranges {
		// The slice is consumed as the walk goes: the answer's length
		// is the sum of the slices', so none runs past it.
		if n := binary.LittleEndian.Uint64(answer); n != uint64(size) {
			return nil, fmt.Errorf("%w: range %d+%d: slice of a %d-byte blob, want %d", ErrBadProof, r.Off, r.Len, n, size)
		}
		s := answer[8:]
		tree := s
		// Walk down the tree as pathTo does, to the range's group. want
		// is the chaining value the next node must hash to. same says
		// that this slice's nodes so far are the previous slice's, at the
		// same places in the tree: its checks so far were made already.
		want := root[:]
		pos, n := int64(0), size
		same := i > 0
		for k := 0; n > GroupSize; k++ {
			node := s[:64]
			s = s[64:]
			same = same && bytes.Equal(node, prevTree[64*k:64*k+64])
			if !same && !v.parent(node, want, i, k == 0) {
				return nil, bad(v.failed)
			}
			m := mid(n)
			left := r.Off < pos+m
			same = same && (prevOff < pos+m) == left
			if left {
				want, n = node[:32], m
			} else {
				want, pos, n = node[32:], pos+m, n-m
			}
		}
		// Then down the group's subtree to the range's chunks.
		var ok bool
		if s, ok = v.inGroup(s, want, pos, n, r, i); !ok {
			return nil, bad(v.failed)
		}
		answer = s
		prevTree, prevOff = tree, r.Off
	}
	if j := v.batch.check(); j >= 0 {
		return nil, bad(j)
	}
	return v.out, nil
}

// verifier is the state of one Verify.
type verifier struct {
	rootCV [8]uint32
	size   int64
	batch  parentBatch
	out    [][]byte
	failed int // the range a failed check proves, once one has
}

// parent checks, or queues the check, that node hashes to want for range
// i; the root node (top) is checked at once, with the root flag. It
// reports false, with v.failed set, once a check failed: this node's or,
// in a batch, one of an earlier range.
func (v *verifier) parent(node, want []byte, i int, top bool) bool {
	v.failed = i
	if top {
		return guts.ChainingValue(guts.ParentNode(bytesToCV(node[:32]), bytesToCV(node[32:]), &guts.IV, guts.FlagRoot)) == v.rootCV
	}
	if j := v.batch.add(node, want, i); j >= 0 {
		v.failed = j
		return false
	}
	return true
}

// inGroup checks the part of range i's slice s under the subtree of n
// bytes at pos (inside one group; the whole tree if n is the blob's
// size), whose chaining value is want, gathers the range's bytes in
// v.out[i] and returns what follows in s.
func (v *verifier) inGroup(s, want []byte, pos, n int64, r Range, i int) ([]byte, bool) {
	top := n == v.size
	if n <= ChunkSize {
		chunk := s[:n]
		c := guts.CompressChunk(chunk, &guts.IV, uint64(pos)/ChunkSize, 0)
		if top {
			c.Flags |= guts.FlagRoot
		}
		if guts.ChainingValue(c) != bytesToCV(want) {
			v.failed = i
			return nil, false
		}
		lo, hi := max(r.Off, pos)-pos, min(r.Off+r.Len, pos+n)-pos
		if lo == r.Off-pos && hi == r.Off+r.Len-pos { // the whole range
			v.out[i] = chunk[lo:hi:hi]
		} else {
			if v.out[i] == nil {
				v.out[i] = make([]byte, 0, r.Len)
			}
			v.out[i] = append(v.out[i], chunk[lo:hi]...)
		}
		return s[n:], true
	}
	node := s[:64]
	s = s[64:]
	if !v.parent(node, want, i, top) {
		return nil, false
	}
	m := mid(n)
	var ok bool
	if r.Off < pos+m {
		if s, ok = v.inGroup(s, node[:32], pos, m, r, i); !ok {
			return nil, false
		}
	}
	if r.Off+r.Len > pos+m {
		if s, ok = v.inGroup(s, node[32:], pos+m, n-m, r, i); !ok {
			return nil, false
		}
	}
	return s, true
}
