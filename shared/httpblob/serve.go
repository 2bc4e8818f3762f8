// Package httpblob answers HTTP reads of a content-addressed blob the way
// an IPFS gateway does: strong ETag (the CID), immutable caching, HEAD,
// If-None-Match and a single byte Range, with JSON errors.
package httpblob

import (
	"encoding/json"
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

// Opener returns a reader of length bytes starting at offset.
type Opener func(offset, length int64) (io.ReadCloser, error)

// Serve answers r for blob c of size bytes, reading through open.
func Serve(w http.ResponseWriter, r *http.Request, c cid.CID, size int64, open Opener) {
	h := w.Header()
	etag := `"` + c.String() + `"`
	h.Set("ETag", etag)
	h.Set("Cache-Control", CacheControl)
	h.Set("Accept-Ranges", "bytes")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Ipfs-Path", "/ipfs/"+c.String())
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	start, length, partial, err := ParseRange(r.Header.Get("Range"), size)
	if err != nil {
		h.Set("Content-Range", fmt.Sprintf("bytes */%d", size))
		Error(w, http.StatusRequestedRangeNotSatisfiable, fmt.Sprintf("range %q is past the end of a %d-byte blob", r.Header.Get("Range"), size))
		return
	}
	if ir := r.Header.Get("If-Range"); partial && ir != "" && ir != etag {
		partial = false
	}
	status := http.StatusOK
	if partial {
		status = http.StatusPartialContent
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, start+length-1, size))
	} else {
		start, length = 0, size
	}
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.FormatInt(length, 10))
	if r.Method == http.MethodHead || length == 0 {
		w.WriteHeader(status)
		return
	}
	body, err := open(start, length)
	if err != nil {
		h.Del("Content-Length")
		h.Del("Content-Range")
		Error(w, http.StatusBadGateway, "read blob: "+err.Error())
		return
	}
	defer body.Close()
	w.WriteHeader(status)
	buf := bufPool.Get().(*[]byte)
	defer bufPool.Put(buf)
	io.CopyBuffer(w, io.LimitReader(body, length), *buf)
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
