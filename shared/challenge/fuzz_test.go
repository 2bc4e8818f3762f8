package challenge

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"testing"
)

// FuzzVerify feeds Verify answers that are an honest answer with edits
// (pairs of a 2-byte little-endian position and a byte to xor there), cut
// short or lengthened by cut bytes, or arbitrary bytes (when raw is not
// empty), for blobs of up to 64 KiB and 8 ranges of length bytes (1 KiB
// when 0). Verify never panics, fails only with
// ErrBadProof, agrees with bao.VerifySlice on every answer of the right
// length, and accepts an answer only if it is the honest one (a Bao slice
// is a function of the blob and the range), returning the blob's own
// bytes.
func FuzzVerify(f *testing.F) {
	f.Add(uint16(1), uint64(1), uint16(0), []byte(nil), int16(0), []byte(nil))
	f.Add(uint16(40000), uint64(2), uint16(0), []byte{0x10, 0x00, 0x01}, int16(0), []byte(nil))
	f.Add(uint16(40000), uint64(3), uint16(0), []byte(nil), int16(-1), []byte(nil))
	f.Add(uint16(16385), uint64(4), uint16(0), []byte(nil), int16(3), []byte(nil))
	f.Add(uint16(65535), uint64(4), uint16(5000), []byte{0x00, 0x02, 0x40}, int16(0), []byte(nil))
	f.Add(uint16(100), uint64(5), uint16(0), []byte(nil), int16(0), []byte("\x64\x00\x00\x00\x00\x00\x00\x00garbage"))
	f.Fuzz(func(t *testing.T, size uint16, nonce uint64, length uint16, edits []byte, cut int16, raw []byte) {
		s := store(blob(int(size), 11))
		if length == 0 {
			length = ChunkSize
		}
		rs := Ranges(nonceOf(nonce), s.id, "node-a", s.size(), 8, int(length))
		honest := s.answer(t, rs)
		answer := raw
		if len(answer) == 0 {
			answer = bytes.Clone(honest)
			for ; len(edits) >= 3 && len(answer) > 0; edits = edits[3:] {
				answer[int(binary.LittleEndian.Uint16(edits))%len(answer)] ^= edits[2]
			}
			if cut < 0 {
				answer = answer[:max(0, len(answer)+int(cut))]
			} else {
				answer = append(answer, make([]byte, cut)...)
			}
		}
		got, err := Verify(s.id.Digest(), s.size(), rs, answer)
		if bv := baoVerdict(s, rs, answer); bv != nil && !slices.Contains(bv, false) != (err == nil) {
			t.Fatalf("bao.VerifySlice says %v, Verify %v", bv, err)
		}
		if gotBao, errBao := VerifyBao(s.id.Digest(), s.size(), rs, answer); (errBao == nil) != (err == nil) ||
			errBao != nil && !errors.Is(errBao, ErrBadProof) || err == nil && !slices.EqualFunc(got, gotBao, bytes.Equal) {
			t.Fatalf("VerifyBao %v, Verify %v", errBao, err)
		}
		if err != nil {
			if !errors.Is(err, ErrBadProof) || got != nil {
				t.Fatalf("err %v with %d ranges", err, len(got))
			}
			return
		}
		if !bytes.Equal(answer, honest) {
			t.Fatal("accepted an answer that is not the honest one")
		}
		for i, r := range rs {
			if !bytes.Equal(got[i], s.data[r.Off:r.Off+r.Len]) {
				t.Fatalf("range %+v: wrong bytes", r)
			}
		}
	})
}
