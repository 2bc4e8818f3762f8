package load

import (
	"io"
	"math/rand/v2"
)

// The random streams of the suite: the last seed byte keeps them apart.
const (
	streamUpload = iota // randomReader
	streamWriter        // blobMaker
	streamFile          // randomBytes
)

func seed(stream byte, n uint64) [32]byte {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(n >> (8 * i))
	}
	s[31] = stream
	return s
}

// randomBytes returns n bytes that do not compress.
func randomBytes(n int64) []byte {
	b := make([]byte, n)
	rand.NewChaCha8(seed(streamFile, uint64(n))).Read(b)
	return b
}

// randomReader yields incompressible bytes, distinct for each n.
func randomReader(n uint64) io.Reader { return rand.NewChaCha8(seed(streamUpload, n)) }

// blobMaker hands each writer new random blobs of one size.
type blobMaker struct {
	rngs []*rand.ChaCha8
	bufs [][]byte
}

func newBlobMaker(writers, size int) *blobMaker {
	m := &blobMaker{}
	for w := range writers {
		m.rngs = append(m.rngs, rand.NewChaCha8(seed(streamWriter, uint64(w))))
		m.bufs = append(m.bufs, make([]byte, size))
	}
	return m
}

// next fills writer w's buffer with new bytes and returns it.
func (m *blobMaker) next(w int) []byte {
	m.rngs[w].Read(m.bufs[w])
	return m.bufs[w]
}
