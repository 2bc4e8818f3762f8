package httpblob

import (
	"io"
	"net/http"
	"strings"

	"dstor/shared/cid"
)

// Blob is a verified blob held in memory, with the header values of its
// responses made once: a read of it allocates nothing of its own, and a
// plain HTTP/3 GET of a small one is written as ready-made frames. Its
// bytes must not change.
type Blob struct {
	id   cid.CID
	data []byte
	hd   headers
	h3   []byte // QPACK field lines of a plain GET's 200 after :status and Date
}

// NewBlob prepares data, the verified content of c, for serving.
func NewBlob(c cid.CID, data []byte) *Blob {
	b := &Blob{id: c, data: data, hd: newHeaders(c, int64(len(data)))}
	if len(data) <= maxH3Body {
		b.h3 = plainFieldLines(&b.hd)
	}
	return b
}

// Data is the blob's content; callers must not modify it.
func (b *Blob) Data() []byte { return b.data }

// CID is the blob's address.
func (b *Blob) CID() cid.CID { return b.id }

// Name is the blob's CID in its canonical text form.
func (b *Blob) Name() string { return b.hd.name }

// Size is the blob's length in bytes.
func (b *Blob) Size() int64 { return b.hd.size }

// WriteRange implements Source.
func (b *Blob) WriteRange(w io.Writer, off, n int64) error {
	_, err := w.Write(b.data[off : off+n])
	return err
}

// Serve answers r from b as Serve does and returns the body bytes sent;
// with date set, it also sets the Date header (from that cache). Reading
// memory cannot fail: a failure to send aborts the response.
func (b *Blob) Serve(w http.ResponseWriter, r *http.Request, date *DateCache) int64 {
	if b.h3 != nil && date != nil && plainGet(r) {
		if sent, ok := writeH3(w, b, date); ok {
			return sent
		}
	}
	if date != nil {
		date.Set(w.Header())
	}
	n, _ := serve(w, r, &b.hd, b)
	return n
}

// plainGet reports whether r asks for a whole blob as its bytes, with no
// condition, range or other format: the one response that does not
// depend on the request.
func plainGet(r *http.Request) bool {
	if r.Method != http.MethodGet || r.URL.RawQuery != "" {
		return false
	}
	h := r.Header
	if _, ok := h["Range"]; ok {
		return false
	}
	if _, ok := h["If-None-Match"]; ok {
		return false
	}
	// Format reads the first Accept: only one naming the raw block type
	// may change the answer.
	return !strings.Contains(h.Get("Accept"), RawType)
}
