package httpblob

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"

	"dstor/shared/cid"
)

// chunkSource writes its bytes in pieces of a fixed size, failing at
// failAt (if set), as a verifier or a peer fetch does.
type chunkSource struct {
	data   []byte
	piece  int
	failAt int64
}

var errSource = errors.New("source failed")

func (s *chunkSource) WriteRange(w io.Writer, off, n int64) error {
	for end := off + n; off < end; {
		k := min(int64(s.piece), end-off)
		if s.failAt > 0 && off+k > s.failAt {
			return errSource
		}
		if _, err := w.Write(s.data[off : off+k]); err != nil {
			return err
		}
		off += k
	}
	return nil
}

// writesRecorder records the size of every body write.
type writesRecorder struct {
	*httptest.ResponseRecorder
	writes []int
}

func (w *writesRecorder) Write(p []byte) (int, error) {
	w.writes = append(w.writes, len(p))
	return w.ResponseRecorder.Write(p)
}

func TestServeSourceWrites(t *testing.T) {
	const buf = 256 << 10
	tests := []struct {
		name   string
		size   int
		piece  int
		writes func(size int) []int // the body writes the client side sees
	}{
		{"small pieces of a long body are coalesced", 3*buf + 100, 16 << 10, func(size int) []int {
			// The first piece at once, then whole buffers, then the rest.
			return []int{16 << 10, buf, buf, size - 16<<10 - 2*buf}
		}},
		{"large pieces of a long body pass straight through", 2*buf + 100, 128 << 10, func(size int) []int {
			return []int{128 << 10, 128 << 10, 128 << 10, 128 << 10, 100}
		}},
		{"a short body goes out whole", buf - 5, 16 << 10, func(size int) []int { return []int{size} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := make([]byte, tc.size)
			rand.NewChaCha8([32]byte{1}).Read(data)
			w := &writesRecorder{ResponseRecorder: httptest.NewRecorder()}
			r := httptest.NewRequest(http.MethodGet, "/ipfs/x", nil)
			sent, err := Serve(w, r, cid.Sum(data), int64(len(data)), &chunkSource{data: data, piece: tc.piece})
			if err != nil || sent != int64(len(data)) {
				t.Fatalf("Serve sent %d of %d bytes: %v", sent, len(data), err)
			}
			if w.Code != http.StatusOK || !bytes.Equal(w.Body.Bytes(), data) {
				t.Fatalf("status %d, %d bytes: not the blob", w.Code, w.Body.Len())
			}
			if want := tc.writes(tc.size); !equalInts(w.writes, want) {
				t.Errorf("writes %v, want %v", w.writes, want)
			}
		})
	}
}

// TestServeSourceFailsShort: a short body whose source fails has sent
// nothing, so the caller can still answer with an error.
func TestServeSourceFailsShort(t *testing.T) {
	data := make([]byte, 100<<10)
	w := &writesRecorder{ResponseRecorder: httptest.NewRecorder()}
	r := httptest.NewRequest(http.MethodGet, "/ipfs/x", nil)
	sent, err := Serve(w, r, cid.Sum(data), int64(len(data)), &chunkSource{data: data, piece: 64 << 10, failAt: 80 << 10})
	if !errors.Is(err, errSource) || sent != 0 || len(w.writes) != 0 {
		t.Fatalf("sent %d bytes in %d writes, err %v; want nothing sent and the source's error", sent, len(w.writes), err)
	}
}

// TestServeSourceRange: a range answered from a source is a 206 with its
// Content-Range, a short one (held whole, then sent) as a long one.
func TestServeSourceRange(t *testing.T) {
	data := make([]byte, 1<<20)
	rand.NewChaCha8([32]byte{2}).Read(data)
	for _, rg := range [][2]int{{100, 199}, {5, 600 << 10}} {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, "/ipfs/x", nil)
		r.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", rg[0], rg[1]))
		if _, err := Serve(w, r, cid.Sum(data), int64(len(data)), &chunkSource{data: data, piece: 16 << 10}); err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("bytes %d-%d/%d", rg[0], rg[1], len(data))
		if w.Code != http.StatusPartialContent || w.Header().Get("Content-Range") != want || !bytes.Equal(w.Body.Bytes(), data[rg[0]:rg[1]+1]) {
			t.Errorf("range %d-%d: status %d, Content-Range %q, %d bytes; want 206, %q and the range", rg[0], rg[1], w.Code, w.Header().Get("Content-Range"), w.Body.Len(), want)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
