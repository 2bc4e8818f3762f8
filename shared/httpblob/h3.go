package httpblob

import (
	"errors"
	"net/http"
	"sync"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/quic-go/quic-go/quicvarint"
)

// maxH3Body is the largest body written as ready-made HTTP/3 frames (one
// copy into a pooled buffer); larger ones go through the ResponseWriter,
// which sends them without a copy.
const maxH3Body = 64 << 10

// h3Bufs hold one response's frames.
var h3Bufs = sync.Pool{New: func() any {
	b := make([]byte, 0, 8<<10)
	return &b
}}

// writeH3 answers a plain GET of b over HTTP/3 by taking over the stream
// and writing the HEADERS frame, whose QPACK field lines were encoded when
// b was made, and the DATA frame in one write. That is the response
// quic-go's ResponseWriter would send for the same header values, without
// encoding them again for every read. It returns false, having done
// nothing, when w is not an HTTP/3 response with an empty header.
func writeH3(w http.ResponseWriter, b *Blob, date *DateCache) (int64, bool) {
	hs, ok := w.(http3.HTTPStreamer)
	if !ok || len(w.Header()) != 0 {
		return 0, false
	}
	str, err := hs.HTTPStream()
	if err != nil {
		return 0, false
	}
	dateLine := date.current().line
	bufp := h3Bufs.Get().(*[]byte)
	buf := quicvarint.Append((*bufp)[:0], frameHeaders)
	buf = quicvarint.Append(buf, uint64(3+len(dateLine)+len(b.h3)))
	// Field section prefix: no dynamic table (Required Insert Count and
	// Delta Base 0); then :status 200 from the static table.
	buf = append(buf, 0, 0)
	buf = appendPrefixInt(buf, 6, 0xc0, qpStatus200)
	buf = append(buf, dateLine...)
	buf = append(buf, b.h3...)
	buf = quicvarint.Append(buf, frameData)
	buf = quicvarint.Append(buf, uint64(len(b.data)))
	buf = append(buf, b.data...)
	// Queued at once when flow control allows (the usual case), so the
	// handler returns without waiting for the connection to send it.
	qs := str.QUICStream()
	err = qs.TryWriteAll(buf)
	if errors.Is(err, quic.ErrWouldBlock) {
		_, err = qs.Write(buf)
	}
	if cap(buf) <= 2*maxH3Body {
		*bufp = buf[:0]
		h3Bufs.Put(bufp)
	}
	// As quic-go's server does after a handler: no request body is read.
	str.CancelRead(quic.StreamErrorCode(http3.ErrCodeNoError))
	if err != nil {
		str.CancelWrite(quic.StreamErrorCode(http3.ErrCodeInternalError))
		return 0, true
	}
	str.Close()
	return int64(len(b.data)), true
}

// HTTP/3 frame types (RFC 9114, section 7.2).
const (
	frameData    = 0x0
	frameHeaders = 0x1
)

// Indices in QPACK's static table (RFC 9204, Appendix A) of the fields a
// blob's 200 carries: whole fields, and names whose values follow.
const (
	qpStatus200    = 25 // :status: 200
	qpAcceptRanges = 32 // accept-ranges: bytes
	qpNosniff      = 61 // x-content-type-options: nosniff

	qpContentLength = 4
	qpDate          = 6
	qpETag          = 7
	qpCacheControl  = 36
	qpContentType   = 44
	qpVary          = 59
)

// plainFieldLines encodes the header fields serve sets on a whole-blob
// 200 with the octet-stream type, but :status and Date, as QPACK field
// lines referring only to the static table. Values are literal, not
// Huffman-coded: a few more bytes, and nothing to decode.
func plainFieldLines(hd *headers) []byte {
	var b []byte
	b = appendNameRef(b, qpETag, hd.etag[0])
	b = appendNameRef(b, qpCacheControl, hCacheControl[0])
	b = appendPrefixInt(b, 6, 0xc0, qpAcceptRanges)
	b = appendNameRef(b, qpVary, hAccept[0])
	b = appendPrefixInt(b, 6, 0xc0, qpNosniff)
	b = appendNameRef(b, qpContentType, hOctets[0])
	b = appendNameRef(b, qpContentLength, hd.length[0])
	return b
}

// appendNameRef appends a literal field line whose name is static-table
// entry idx (RFC 9204, section 4.5.4: 01NT, N=0, T=1) and whose value is
// v, not Huffman-coded.
func appendNameRef(b []byte, idx uint64, v string) []byte {
	b = appendPrefixInt(b, 4, 0x50, idx)
	b = appendPrefixInt(b, 7, 0x00, uint64(len(v)))
	return append(b, v...)
}

// appendPrefixInt appends v as an integer with an n-bit prefix (RFC 7541,
// section 5.1), the prefix byte's high bits being flags.
func appendPrefixInt(b []byte, n uint, flags byte, v uint64) []byte {
	limit := uint64(1)<<n - 1
	if v < limit {
		return append(b, flags|byte(v))
	}
	b = append(b, flags|byte(limit))
	for v -= limit; v >= 0x80; v >>= 7 {
		b = append(b, byte(v)|0x80)
	}
	return append(b, byte(v))
}
