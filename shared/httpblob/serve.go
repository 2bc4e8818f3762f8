// Package httpblob answers HTTP reads of a content-addressed blob the way
// an IPFS trustless gateway does: strong ETag (the CID), immutable caching,
// HEAD, If-None-Match, a single byte Range, raw block responses
// (?format=raw, Accept: application/vnd.ipld.raw), with JSON errors.
package httpblob

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"dstor/shared/cid"
)

// CacheControl is sent with every blob: content addressing makes it
// immutable.
const CacheControl = "public, max-age=29030400, immutable"

// RawType is the trustless gateway's raw block media type.
const RawType = "application/vnd.ipld.raw"

// Source writes ranges of a blob to w. Only verified bytes may reach w: a
// source that finds bad bytes returns an error instead.
type Source interface {
	WriteRange(w io.Writer, off, n int64) error
}

// ErrBadFormat is returned by Format for formats a blob cannot be served in.
var ErrBadFormat = errors.New("unsupported format")

// Format returns the Content-Type a read asks for: the raw block type for
// ?format=raw or an Accept of application/vnd.ipld.raw, else
// application/octet-stream. Other formats (car, dag-json, ...) are errors.
func Format(r *http.Request) (string, error) {
	if r.URL.RawQuery != "" {
		switch f := r.URL.Query().Get("format"); f {
		case "":
		case "raw":
			return RawType, nil
		default:
			return "", fmt.Errorf("%w %q: dStor serves raw blocks (format=raw)", ErrBadFormat, f)
		}
	}
	if accept := r.Header.Get("Accept"); strings.Contains(accept, RawType) {
		for _, a := range strings.Split(accept, ",") {
			mt, _, _ := strings.Cut(a, ";")
			if strings.TrimSpace(mt) == RawType {
				return RawType, nil
			}
		}
	}
	return "application/octet-stream", nil
}

// Header values every blob response shares, canonical keys and shared
// slices: a read allocates no header values but its ETag and length, and
// a Blob's read not even those.
var (
	hCacheControl = []string{CacheControl}
	hBytes        = []string{"bytes"}
	hAccept       = []string{"Accept"}
	hNosniff      = []string{"nosniff"}
	hOctets       = []string{"application/octet-stream"}
	hRaw          = []string{RawType}
)

// headers are the per-blob header values of a blob's responses.
type headers struct {
	name        string   // the CID
	size        int64    // of the blob
	etag        []string // `"<cid>"`
	rawETag     []string // `"<cid>.raw"`, for raw block responses
	disposition []string // of raw block responses
	length      []string // size, for whole-blob responses
}

func newHeaders(c cid.CID, size int64) headers {
	name := c.String()
	return headers{
		name:        name,
		size:        size,
		etag:        []string{`"` + name + `"`},
		rawETag:     []string{`"` + name + `.raw"`},
		disposition: []string{`attachment; filename="` + name + `.bin"`},
		length:      []string{strconv.FormatInt(size, 10)},
	}
}

// Serve answers r for blob c of size bytes from src and returns the number
// of body bytes sent. It returns an error, having sent nothing, when the
// request is fine but src fails before its first byte: the caller may
// answer from elsewhere. A failure after bytes have been sent aborts the
// response (http.ErrAbortHandler), so a client sees a reset, never a short
// or corrupt body. A *Blob source answers with its own prepared headers
// (c and size are its own).
func Serve(w http.ResponseWriter, r *http.Request, c cid.CID, size int64, src Source) (int64, error) {
	if b, ok := src.(*Blob); ok {
		return b.Serve(w, r, nil), nil
	}
	hd := newHeaders(c, size)
	return serve(w, r, &hd, src)
}

// serve is Serve with the blob's header values made.
func serve(w http.ResponseWriter, r *http.Request, hd *headers, src Source) (int64, error) {
	ctype, err := Format(r)
	if err != nil {
		Error(w, http.StatusBadRequest, err.Error())
		return 0, nil
	}
	h := w.Header()
	etag := hd.etag
	if ctype == RawType {
		etag = hd.rawETag
		h["Content-Disposition"] = hd.disposition
	}
	h["Etag"] = etag
	h["Cache-Control"] = hCacheControl
	h["Accept-Ranges"] = hBytes
	h["Vary"] = hAccept
	h["X-Content-Type-Options"] = hNosniff
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, etag[0]) {
		w.WriteHeader(http.StatusNotModified)
		return 0, nil
	}
	size := hd.size
	start, length, partial, err := ParseRange(r.Header.Get("Range"), size)
	if err != nil {
		h.Set("Content-Range", fmt.Sprintf("bytes */%d", size))
		Error(w, http.StatusRequestedRangeNotSatisfiable, fmt.Sprintf("range %q is past the end of a %d-byte blob", r.Header.Get("Range"), size))
		return 0, nil
	}
	if ir := r.Header.Get("If-Range"); partial && ir != "" && ir != etag[0] {
		partial = false
	}
	status := http.StatusOK
	if partial {
		status = http.StatusPartialContent
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, start+length-1, size))
		h["Content-Length"] = []string{strconv.FormatInt(length, 10)}
	} else {
		start, length = 0, size
		h["Content-Length"] = hd.length
	}
	h["Content-Type"] = hOctets
	if ctype == RawType {
		h["Content-Type"] = hRaw
	}
	if r.Method == http.MethodHead || length == 0 {
		w.WriteHeader(status)
		return 0, nil
	}
	if b, ok := src.(*Blob); ok {
		// In memory and verified: straight out, no copy.
		w.WriteHeader(status)
		n, err := w.Write(b.data[start : start+length])
		if err != nil {
			panic(http.ErrAbortHandler)
		}
		return int64(n), nil
	}
	return serveSource(w, h, status, start, length, src)
}

// serveSource sends [start, start+length) of src, whose headers are set.
func serveSource(w http.ResponseWriter, h http.Header, status int, start, length int64, src Source) (int64, error) {
	out := &lazyWriter{w: w, status: status, buf: bufPool.Get().(*[]byte)}
	// A long body starts at once (time to first byte); a short one is
	// held whole, so a source failing anywhere in it has sent nothing and
	// the caller can still answer from elsewhere.
	out.eager = length > int64(len(*out.buf))
	defer bufPool.Put(out.buf)
	err := src.WriteRange(out, start, length)
	if err == nil {
		err = out.flush()
	}
	if err != nil && !out.started {
		for _, k := range []string{"Etag", "Cache-Control", "Accept-Ranges", "Vary", "X-Content-Type-Options", "Content-Range", "Content-Length", "Content-Type", "Content-Disposition"} {
			delete(h, k)
		}
		return 0, err
	}
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	return out.sent, nil
}

// lazyWriter sends the status with the first bytes (at once if eager) and
// coalesces the source's small writes (a verifier writes 16 KiB groups)
// into large ones; large writes of a started body pass straight through.
type lazyWriter struct {
	w       http.ResponseWriter
	status  int
	eager   bool
	started bool
	buf     *[]byte
	n       int
	sent    int64
}

func (l *lazyWriter) Write(p []byte) (int, error) {
	if l.eager && !l.started {
		l.started = true
		l.w.WriteHeader(l.status)
		k, err := l.w.Write(p)
		l.sent += int64(k)
		if err == nil {
			err = http.NewResponseController(l.w).Flush()
			if errors.Is(err, http.ErrNotSupported) {
				err = nil
			}
		}
		return k, err
	}
	// Once the body has started, a large write goes straight out:
	// copying it into the buffer first would only cost a copy.
	direct := l.started && len(p) >= len(*l.buf)/4
	if direct || l.n+len(p) > len(*l.buf) {
		if err := l.flush(); err != nil {
			return 0, err
		}
		if direct || len(p) >= len(*l.buf) {
			k, err := l.w.Write(p)
			l.sent += int64(k)
			return k, err
		}
	}
	l.n += copy((*l.buf)[l.n:], p)
	return len(p), nil
}

func (l *lazyWriter) flush() error {
	if !l.started {
		l.started = true
		l.w.WriteHeader(l.status)
	}
	if l.n == 0 {
		return nil
	}
	k, err := l.w.Write((*l.buf)[:l.n])
	l.sent += int64(k)
	l.n = 0
	return err
}

func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

// Error writes {"error": msg} with status.
func Error(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Del("ETag")
	w.Header().Del("Cache-Control")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(struct {
		Error string `json:"error"`
	}{msg})
}
