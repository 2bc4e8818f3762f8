package wire

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"

	"dstor/shared/cid"
)

func payload(n int, seed uint64) []byte {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	binary.LittleEndian.PutUint64(key[8:], uint64(n))
	b := make([]byte, n)
	rand.NewChaCha8(key).Read(b)
	return b
}

// encodeChunks writes data through a chunkWriter in writes of the given
// sizes (cycled; 0 means one Write of everything) and ends the body with a
// trailer naming data's CID.
func encodeChunks(t *testing.T, data []byte, writes []int) []byte {
	t.Helper()
	var buf bytes.Buffer
	cw := chunkWriter{w: &buf}
	rest := data
	for i := 0; len(rest) > 0; i++ {
		n := len(rest)
		if s := writes[i%len(writes)]; s > 0 {
			n = min(n, s)
		}
		m, err := cw.Write(rest[:n])
		if err != nil || m != n {
			t.Fatalf("chunkWriter.Write(%d bytes) = %d, %v", n, m, err)
		}
		rest = rest[n:]
	}
	if n, err := cw.Write(nil); n != 0 || err != nil {
		t.Fatalf("chunkWriter.Write(nil) = %d, %v", n, err)
	}
	if err := cw.end(PutTrailer{CID: cid.Sum(data)}); err != nil {
		t.Fatalf("end: %v", err)
	}
	return buf.Bytes()
}

// chunkSizes parses an encoded body's chunk lengths, up to and including
// the terminating 0.
func chunkSizes(t *testing.T, enc []byte) []uint64 {
	t.Helper()
	var sizes []uint64
	for {
		n, k := binary.Uvarint(enc)
		if k <= 0 || uint64(len(enc)-k) < n {
			t.Fatalf("encoded body is not well formed after chunks %v", sizes)
		}
		sizes = append(sizes, n)
		enc = enc[k+int(n):]
		if n == 0 {
			return sizes
		}
	}
}

func TestChunkRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name   string
		size   int
		writes []int
	}{
		{"empty", 0, []int{0}},
		{"one byte", 1, []int{0}},
		{"small writes", 10_000, []int{1, 7, 100, 3}},
		{"MaxChunk less one", MaxChunk - 1, []int{0}},
		{"exactly MaxChunk", MaxChunk, []int{0}},
		{"MaxChunk plus one in one write", MaxChunk + 1, []int{0}},
		{"3 MiB plus 5 in one write", 3*MaxChunk + 5, []int{0}},
		{"writes of 2.5 MiB", 5*MaxChunk + 3, []int{5 * MaxChunk / 2}},
		{"mixed writes", 2*MaxChunk + 100, []int{MaxChunk + 1, 1, MaxChunk - 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := payload(tc.size, 1)
			enc := encodeChunks(t, data, tc.writes)

			sizes := chunkSizes(t, enc)
			var total uint64
			for i, n := range sizes {
				if n > MaxChunk {
					t.Errorf("chunk %d is %d bytes, more than MaxChunk", i, n)
				}
				if n == 0 && i != len(sizes)-1 {
					t.Errorf("empty chunk %d before the end", i)
				}
				total += n
			}
			if total != uint64(len(data)) {
				t.Errorf("chunks hold %d bytes, want %d", total, len(data))
			}

			for _, rd := range []struct {
				name string
				wrap func(io.Reader) io.Reader
			}{
				{"plain", func(r io.Reader) io.Reader { return r }},
				{"one byte at a time", iotest.OneByteReader},
				{"half reads", iotest.HalfReader},
			} {
				t.Run(rd.name, func(t *testing.T) {
					if rd.name != "plain" && len(enc) > 2*MaxChunk {
						t.Skip("covered by the smaller bodies; slow under -race")
					}
					cr := &ChunkReader{r: bufio.NewReaderSize(rd.wrap(bytes.NewReader(enc)), 16)}
					got, err := io.ReadAll(cr)
					if err != nil {
						t.Fatalf("ReadAll: %v", err)
					}
					if !bytes.Equal(got, data) {
						t.Fatalf("read %d bytes, differ from the %d written", len(got), len(data))
					}
					if n, err := cr.Read(make([]byte, 10)); n != 0 || err != io.EOF {
						t.Errorf("Read after the end = %d, %v; want 0, io.EOF", n, err)
					}
					var tr PutTrailer
					if err := cr.Trailer(&tr); err != nil {
						t.Fatalf("Trailer: %v", err)
					}
					if tr.CID != cid.Sum(data) {
						t.Errorf("trailer CID = %v, want %v", tr.CID, cid.Sum(data))
					}
				})
			}
		})
	}
}

// TestChunkReaderContract runs the standard io.Reader checks (reads of
// every size, EOF behaviour) over a body of several chunks.
func TestChunkReaderContract(t *testing.T) {
	data := payload(MaxChunk+10_000, 2)
	enc := encodeChunks(t, data, []int{4000, 1, MaxChunk})
	cr := &ChunkReader{r: bufio.NewReader(bytes.NewReader(enc))}
	if err := iotest.TestReader(cr, data); err != nil {
		t.Fatal(err)
	}
}

func TestChunkReaderMalformed(t *testing.T) {
	chunk := func(n uint64, body string) []byte {
		return append(binary.AppendUvarint(nil, n), body...)
	}
	cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	for _, tc := range []struct {
		name     string
		in       []byte
		wantData string
		want     error // errors.Is target; ErrFrame cases may also carry an EOF
	}{
		{"chunk of MaxChunk plus one", chunk(MaxChunk+1, "x"), "", ErrFrame},
		{"chunk of 2^63", chunk(1<<63, "x"), "", ErrFrame},
		{"oversized chunk after a good one", cat(chunk(3, "abc"), chunk(MaxChunk+1, "")), "abc", ErrFrame},
		{"varint overflow", bytes.Repeat([]byte{0xff}, 11), "", ErrFrame},
		{"truncated varint", []byte{0x80}, "", ErrFrame},
		{"ends mid-chunk", chunk(10, "hello"), "hello", io.ErrUnexpectedEOF},
		{"ends right after a chunk length", chunk(10, ""), "", io.ErrUnexpectedEOF},
		{"ends mid-chunk after a good one", cat(chunk(2, "ab"), chunk(MaxChunk, "cd")), "abcd", io.ErrUnexpectedEOF},
		{"ends between chunks", chunk(3, "abc"), "abc", ErrFrame},
		{"empty stream", nil, "", ErrFrame},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cr := &ChunkReader{r: bufio.NewReader(bytes.NewReader(tc.in))}
			got, err := io.ReadAll(cr)
			if string(got) != tc.wantData {
				t.Errorf("read %q, want %q", got, tc.wantData)
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
			if err := cr.Trailer(&PutTrailer{}); !errors.Is(err, ErrFrame) {
				t.Errorf("Trailer after a failed body = %v, want ErrFrame", err)
			}
		})
	}
}

func TestTrailer(t *testing.T) {
	c := cid.Sum([]byte("abcdef"))
	var b bytes.Buffer
	cw := chunkWriter{w: &b}
	for _, s := range []string{"ab", "cd", "ef"} {
		cw.Write([]byte(s))
	}
	b.WriteByte(0)
	body := bytes.Clone(b.Bytes()) // through the empty chunk
	if err := writeBlock(&b, nil, PutTrailer{CID: c}); err != nil {
		t.Fatal(err)
	}
	good := b.Bytes()
	if !bytes.Equal(good, encodeChunks(t, []byte("abcdef"), []int{2})) {
		t.Fatal("chunkWriter.end does not write the empty chunk and the trailer")
	}
	for _, tc := range []struct {
		name    string
		in      []byte
		readN   int // bytes to read before calling Trailer; -1: to io.EOF
		wantErr error
	}{
		{"after the end", good, -1, nil},
		{"before reading", good, 0, ErrFrame},
		{"mid-body", good, 3, ErrFrame},
		{"all bytes read but not the end", good, 6, ErrFrame},
		{"missing", body, -1, ErrFrame},
		{"truncated", good[:len(good)-1], -1, ErrFrame},
		{"not json", append(bytes.Clone(body), rawFrame(0, "nope")[1:]...), -1, ErrFrame},
		{"bad cid", append(bytes.Clone(body), rawFrame(0, `{"cid":"bafk"}`)[1:]...), -1, ErrFrame},
		{"too large", binary.AppendUvarint(bytes.Clone(body), MaxHeader+1), -1, ErrFrame},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cr := &ChunkReader{r: bufio.NewReader(bytes.NewReader(tc.in))}
			if tc.readN < 0 {
				if got, err := io.ReadAll(cr); err != nil || string(got) != "abcdef" {
					t.Fatalf("body = %q, %v", got, err)
				}
			} else if _, err := io.ReadFull(cr, make([]byte, tc.readN)); err != nil {
				t.Fatal(err)
			}
			var tr PutTrailer
			err := cr.Trailer(&tr)
			if tc.wantErr == nil {
				if err != nil || tr.CID != c {
					t.Fatalf("Trailer = %+v, %v; want %v", tr, err, c)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Trailer = %v, want %v", err, tc.wantErr)
			}
			if tc.readN < 0 {
				return
			}
			// A premature Trailer consumed nothing: the rest of the body
			// and the trailer still read back.
			rest, err := io.ReadAll(cr)
			if err != nil || string(rest) != "abcdef"[tc.readN:] {
				t.Fatalf("body after a premature Trailer = %q, %v; want %q", rest, err, "abcdef"[tc.readN:])
			}
			if err := cr.Trailer(&tr); err != nil || tr.CID != c {
				t.Fatalf("Trailer at the end = %+v, %v; want %v", tr, err, c)
			}
		})
	}
}

// TestChunkWriterErrors: a failing stream stops the writer and it reports
// only what went out whole.
func TestChunkWriterErrors(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		name      string
		failAfter int // successful Write calls on the stream before it fails
		size      int
		want      int
	}{
		{"at once", 0, 10, 0},
		{"after the header", 1, 10, 0},
		{"after one chunk", 2, MaxChunk + 1, MaxChunk},
		{"after one chunk and a header", 3, MaxChunk + 1, MaxChunk},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fw := &failingWriter{left: tc.failAfter, err: boom}
			cw := chunkWriter{w: fw}
			n, err := cw.Write(payload(tc.size, 3))
			if !errors.Is(err, boom) || n != tc.want {
				t.Errorf("Write = %d, %v; want %d, boom", n, err, tc.want)
			}
		})
	}
}

type failingWriter struct {
	left int
	err  error
}

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.left == 0 {
		return 0, f.err
	}
	f.left--
	return len(p), nil
}

func ExampleChunkReader() {
	var buf bytes.Buffer
	cw := chunkWriter{w: &buf}
	cw.Write([]byte("hello, "))
	cw.Write([]byte("world"))
	cw.end(PutTrailer{CID: cid.Sum([]byte("hello, world"))})

	cr := &ChunkReader{r: bufio.NewReader(&buf)}
	b, _ := io.ReadAll(cr)
	var tr PutTrailer
	err := cr.Trailer(&tr)
	fmt.Println(string(b), tr.CID == cid.Sum(b), err)
	// Output: hello, world true <nil>
}
