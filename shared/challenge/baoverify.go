package challenge

import (
	"encoding/binary"
	"fmt"

	"lukechampine.com/blake3/bao"
)

// Verifier checks an answer to ranges of a size-byte blob whose BLAKE3
// root is root, and returns the bytes of each range; an answer that does
// not prove them is an error wrapping ErrBadProof.
type Verifier func(root [32]byte, size int64, ranges []Range, answer []byte) ([][]byte, error)

// VerifyBao is Verify done by the reference implementation: each slice
// through lukechampine.com/blake3/bao's VerifySlice (group 0), its boolean
// checked. It accepts exactly the answers Verify accepts (the tests and a
// fuzz target check both against every answer they make), at about twice
// the CPU: it hashes one tree node at a time and walks each slice's path
// from the root.
func VerifyBao(root [32]byte, size int64, ranges []Range, answer []byte) ([][]byte, error) {
	if err := checkAnswer(size, ranges, answer); err != nil {
		return nil, err
	}
	out := make([][]byte, len(ranges))
	for i, r := range ranges {
		n := SliceSize(size, r)
		data, ok := bao.VerifySlice(answer[:n], 0, uint64(r.Off), uint64(r.Len), root)
		// bao takes the slice's length header at its word (a slice of the
		// first groups verifies whatever length it claims): it must be
		// this blob's.
		if !ok || binary.LittleEndian.Uint64(answer) != uint64(size) || int64(len(data)) != r.Len {
			return nil, fmt.Errorf("%w: range %d+%d: bao.VerifySlice rejects its slice", ErrBadProof, r.Off, r.Len)
		}
		out[i] = data
		answer = answer[n:]
	}
	return out, nil
}
