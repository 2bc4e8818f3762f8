package challenge

import (
	"encoding/binary"
	"fmt"
)

// Verify checks an answer to ranges of a size-byte blob whose BLAKE3 root
// is root, as Answer writes it, and returns the bytes of each range (they
// alias answer). It checks each slice's length header against size and
// its tree nodes and group against root, as bao.VerifySlice does, but
// hashes each group in place: nothing is copied or allocated per range.
//
// An answer is exactly AnswerSize bytes, which the caller knows before
// reading any (the wire client reads no more); an answer of another
// length, or a slice that does not verify, is an error wrapping
// ErrBadProof. Ranges that no challenge could hold are the caller's error.
func Verify(root [32]byte, size int64, ranges []Range, answer []byte) ([][]byte, error) {
	out := make([][]byte, len(ranges))
	var want int64
	for _, r := range ranges {
		if err := check(size, r); err != nil {
			return nil, err
		}
		want += SliceSize(size, r)
	}
	if int64(len(answer)) != want {
		return nil, fmt.Errorf("%w: answer of %d bytes, want %d", ErrBadProof, len(answer), want)
	}
	rootCV := bytesToCV(root[:])
	for i, r := range ranges {
		s := answer[:SliceSize(size, r)]
		answer = answer[len(s):]
		if n := binary.LittleEndian.Uint64(s); n != uint64(size) {
			return nil, fmt.Errorf("%w: range %d+%d: slice of a %d-byte blob, want %d", ErrBadProof, r.Off, r.Len, n, size)
		}
		g, ok := verifySlice(s, size, r.Off, rootCV)
		if !ok {
			return nil, fmt.Errorf("%w: range %d+%d does not hash to the root", ErrBadProof, r.Off, r.Len)
		}
		at := r.Off % GroupSize
		out[i] = g[at : at+r.Len : at+r.Len]
	}
	return out, nil
}
