package wire

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

// countingReader counts the bytes taken from the underlying reader.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// allocBound is a generous bound on what decoding len(in) bytes of frames
// may allocate: a header buffer (at most MaxHeader), JSON decoding
// proportional to the input, and slack for the runtime and the fuzzer.
func allocBound(in []byte) uint64 { return 2*MaxHeader + 64*uint64(len(in)) + 1<<20 }

func frameSeeds() [][]byte {
	overflow := append([]byte{0}, bytes.Repeat([]byte{0xff}, 10)...)
	return [][]byte{
		nil,
		{0},
		{0, 0},
		rawFrame(statusOK, `{"cid":"bafkr4ieojr6bxgo37viopkkrqx7k2xxbish2sbfc7xlxr2xv6ln72yu2te","size":6}`),
		rawFrame(statusErr, `{"code":3,"message":"not found"}`),
		rawFrame(2, `{}`),
		rawFrame(statusOK, `{"size":`),
		binary.AppendUvarint([]byte{statusOK}, MaxHeader+1),
		binary.AppendUvarint([]byte{statusOK}, 1<<30),
		binary.AppendUvarint([]byte{statusOK}, 1<<63),
		append(overflow, 1),
		{statusOK, 0x80, 0x80},
	}
}

// FuzzReadFrame feeds arbitrary bytes to readFrame and readResponse: they
// never panic, never read or allocate beyond one bounded header, and every
// failure is a malformed frame, a truncation or the peer's *Error.
func FuzzReadFrame(f *testing.F) {
	for _, s := range frameSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		cr := &countingReader{r: bytes.NewReader(in)}
		r := bufio.NewReaderSize(cr, 16)
		var (
			kind byte
			js   []byte
			err  error
		)
		if a := allocated(func() { kind, js, err = readFrame(r) }); a > allocBound(in) {
			t.Errorf("readFrame of %d bytes allocated %d bytes", len(in), a)
		}
		used := cr.n - r.Buffered() // bytes consumed from in
		if len(in) > 0 {
			if n, k := binary.Uvarint(in[1:]); k > 0 && n > MaxHeader {
				if !errors.Is(err, ErrFrame) || used != 1+k {
					t.Fatalf("header length %d: readFrame = %v after consuming %d bytes, want ErrFrame after %d", n, err, used, 1+k)
				}
			}
		}
		if err == nil {
			if len(js) > MaxHeader {
				t.Fatalf("readFrame returned a %d-byte header, more than MaxHeader", len(js))
			}
			if kind != in[0] || used < 1+1+len(js) || !bytes.Equal(in[used-len(js):used], js) {
				t.Fatalf("readFrame = kind %d, %q after consuming %d of %q", kind, js, used, in)
			}
		} else if !errors.Is(err, ErrFrame) && !(err == io.EOF && len(in) == 0) {
			t.Fatalf("readFrame error %v (%T) is not ErrFrame", err, err)
		}

		var resp PutResponse
		r = bufio.NewReader(bytes.NewReader(in))
		if a := allocated(func() { err = readResponse(r, &resp) }); a > allocBound(in) {
			t.Errorf("readResponse of %d bytes allocated %d bytes", len(in), a)
		}
		var we *Error
		switch {
		case err == nil:
			if in[0] != statusOK {
				t.Fatalf("readResponse accepted status %d", in[0])
			}
		case errors.As(err, &we):
			if in[0] != statusErr {
				t.Fatalf("readResponse returned a peer error %v for status %d", err, in[0])
			}
		case errors.Is(err, ErrFrame), errors.Is(err, io.ErrUnexpectedEOF):
		default:
			t.Fatalf("readResponse error %v (%T) is neither ErrFrame nor a truncation", err, err)
		}
	})
}

// parseChunks is the reference reading of a put body: the payload the
// chunks declare and carry, whether the body ended cleanly with the empty
// chunk, and the bytes after it.
func parseChunks(in []byte) (payload []byte, ended bool, rest []byte, truncated bool) {
	for {
		n, k := binary.Uvarint(in)
		if k <= 0 || n > MaxChunk {
			return payload, false, nil, false
		}
		in = in[k:]
		if n == 0 {
			return payload, true, in, false
		}
		if uint64(len(in)) < n {
			return append(payload, in...), false, nil, true
		}
		payload = append(payload, in[:n]...)
		in = in[n:]
	}
}

func chunkSeeds() [][]byte {
	return [][]byte{
		nil,
		{0},
		append([]byte{3, 'a', 'b', 'c', 0}, rawFrame(0, `{"cid":"bafkr4ieojr6bxgo37viopkkrqx7k2xxbish2sbfc7xlxr2xv6ln72yu2te"}`)[1:]...),
		{3, 'a', 'b', 'c', 0, 0},
		{5, 'a', 'b'},
		{3, 'a', 'b', 'c'},
		{0x80},
		binary.AppendUvarint(nil, MaxChunk+1),
		binary.AppendUvarint(nil, MaxChunk),
		append(bytes.Repeat([]byte{0xff}, 10), 1),
		{1, 'x', 1, 'y', 0, 0xff, 0xff, 0xff, 0xff, 0x0f},
	}
}

// FuzzChunkReader feeds arbitrary bytes to a ChunkReader: it yields exactly
// the bytes the chunks declare (never more), fails on anything malformed,
// never panics, and uses bounded memory.
func FuzzChunkReader(f *testing.F) {
	for _, s := range chunkSeeds() {
		f.Add(s, uint16(7))
	}
	f.Fuzz(func(t *testing.T, in []byte, bufSize uint16) {
		want, ended, _, truncated := parseChunks(in)
		cr := &ChunkReader{r: bufio.NewReaderSize(bytes.NewReader(in), 16)}
		buf := make([]byte, int(bufSize)%4096+1)
		var (
			got []byte
			err error
		)
		a := allocated(func() {
			for err == nil {
				var n int
				n, err = cr.Read(buf)
				if n < 0 || n > len(buf) {
					t.Fatalf("Read returned n = %d for a %d-byte buffer", n, len(buf))
				}
				got = append(got, buf[:n]...)
				if len(got) > len(want) {
					t.Fatalf("read %d bytes, the chunks declare only %d", len(got), len(want))
				}
			}
		})
		if !bytes.Equal(got, want) {
			t.Fatalf("read %q, the chunks hold %q", got, want)
		}
		switch {
		case ended:
			if err != io.EOF {
				t.Fatalf("body ending with the empty chunk gave %v, want io.EOF", err)
			}
			if n, err := cr.Read(buf); n != 0 || err != io.EOF {
				t.Fatalf("Read after io.EOF = %d, %v", n, err)
			}
			var tr PutTrailer
			if err := cr.Trailer(&tr); err != nil && !errors.Is(err, ErrFrame) {
				t.Fatalf("Trailer error %v is not ErrFrame", err)
			}
		case truncated:
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("body cut mid-chunk gave %v, want io.ErrUnexpectedEOF", err)
			}
		default:
			if !errors.Is(err, ErrFrame) {
				t.Fatalf("malformed body gave %v, want ErrFrame", err)
			}
		}
		if !ended {
			if err := cr.Trailer(&PutTrailer{}); !errors.Is(err, ErrFrame) {
				t.Fatalf("Trailer before the end = %v, want ErrFrame", err)
			}
		}
		// got grows to at most len(in); the reader itself needs nothing.
		if a > allocBound(in) {
			t.Errorf("reading %d bytes allocated %d bytes", len(in), a)
		}
	})
}
