package challenge

import (
	"encoding/binary"
	"io"

	"lukechampine.com/blake3"
	"lukechampine.com/blake3/guts"
)

// rangeXOF is the stream Ranges draws from: the BLAKE3 XOF of domain, the
// CID's digest and the node's id, keyed with the nonce, read 8 bytes
// (little-endian) at a time. Its input fits one chunk for any real node
// id, so it is that chunk's root node, compressed once per 64 bytes of
// output: no Hasher (16 KiB of buffer) and no SIMD output batches of 1 KiB
// when 16 words are all a challenge reads. The test checks it against
// blake3.New.
type rangeXOF struct {
	root  guts.Node
	out   [outWords]uint32
	used  int       // words of out read
	slow  io.Reader // the general XOF, for an input longer than a chunk
	slowB [8]byte
}

func newRangeXOF(nonce [32]byte, digest [32]byte, nodeID string) rangeXOF {
	x := rangeXOF{used: outWords}
	if len(domain)+len(digest)+len(nodeID) > guts.ChunkSize {
		h := blake3.New(32, nonce[:])
		h.Write([]byte(domain))
		h.Write(digest[:])
		h.Write([]byte(nodeID))
		x.slow = h.XOF()
		return x
	}
	var buf [guts.ChunkSize]byte
	msg := append(append(append(buf[:0], domain...), digest[:]...), nodeID...)
	var key [8]uint32
	loadCV(&key, nonce[:])
	x.root = guts.CompressChunk(msg, &key, 0, guts.FlagKeyedHash)
	x.root.Flags |= guts.FlagRoot
	return x
}

// outWords is one compression's output: 64 bytes.
const outWords = 16

// next returns the stream's next 8 bytes as a little-endian word.
func (x *rangeXOF) next() uint64 {
	if x.slow != nil {
		io.ReadFull(x.slow, x.slowB[:])
		return binary.LittleEndian.Uint64(x.slowB[:])
	}
	if x.used == outWords {
		x.out = guts.CompressNode(x.root) // output block root.Counter
		x.root.Counter++
		x.used = 0
	}
	x.used += 2
	return uint64(x.out[x.used-2]) | uint64(x.out[x.used-1])<<32
}
