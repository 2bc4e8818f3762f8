package wire

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

// chunkWriter frames everything written to it as put chunks.
type chunkWriter struct {
	w   io.Writer
	n   int64 // bytes written
	hdr [binary.MaxVarintLen64]byte
}

func (c *chunkWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		n := min(len(p), MaxChunk)
		h := binary.PutUvarint(c.hdr[:], uint64(n))
		if _, err := c.w.Write(c.hdr[:h]); err != nil {
			return written, err
		}
		if _, err := c.w.Write(p[:n]); err != nil {
			return written, err
		}
		written += n
		c.n += int64(n)
		p = p[n:]
	}
	return written, nil
}

// end writes the empty chunk and the trailer.
func (c *chunkWriter) end(trailer any) error {
	if _, err := c.w.Write([]byte{0}); err != nil {
		return err
	}
	return writeBlock(c.w, nil, trailer)
}

// ChunkReader yields the bytes of a put body and stops with io.EOF at the
// empty chunk; the trailer is read with Trailer.
type ChunkReader struct {
	r    *bufio.Reader
	left uint64
	done bool
	err  error // sticky: a malformed body stays malformed
}

func (c *ChunkReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.read(p)
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

func (c *ChunkReader) read(p []byte) (int, error) {
	for c.left == 0 {
		if c.done {
			return 0, io.EOF
		}
		n, err := binary.ReadUvarint(c.r)
		if err != nil {
			return 0, fmt.Errorf("%w: chunk length: %v", ErrFrame, noEOF(err))
		}
		if n > MaxChunk {
			return 0, fmt.Errorf("%w: chunk of %d bytes", ErrFrame, n)
		}
		if n == 0 {
			c.done = true
			return 0, io.EOF
		}
		c.left = n
	}
	if uint64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= uint64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// Trailer reads the trailer after the body has been read to io.EOF.
func (c *ChunkReader) Trailer(v any) error {
	if !c.done {
		return fmt.Errorf("%w: trailer before the last chunk", ErrFrame)
	}
	js, err := readBlock(c.r)
	if err != nil {
		return err
	}
	return decode(js, v)
}
