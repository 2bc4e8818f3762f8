package load

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/quic-go/qpack"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/quic-go/quic-go/quicvarint"
)

// HTTP/3 frame types (RFC 9114, section 7.2).
const (
	h3FrameData    = 0x0
	h3FrameHeaders = 0x1
)

// h3Conn is one HTTP/3 connection for bulk uploads. quic-go's http3
// client copies a request body to the stream in 8 KiB writes, each waiting
// for the connection's send loop (the trap issue 3 names), and its
// RequestStream cannot carry a body: SendRequestHeader refuses a request
// with one and declares "content-length: 0" for a POST without. So post
// writes the request itself on a stream of the connection: a HEADERS
// frame (QPACK with the static table and literals only, as quic-go's own
// encoder does) and one DATA frame whose payload goes out in writes as
// large as the caller's pieces. Everything else (the control stream, the
// SETTINGS, small requests) is quic-go's http3.ClientConn.
type h3Conn struct {
	udp       *net.UDPConn
	qt        *quic.Transport
	conn      *quic.Conn
	cc        *http3.ClientConn
	authority string // host:port
}

// dialH3 connects to the HTTP/3 server of base (https://host:port),
// trusting pool, from a socket with udpBufferSize buffers.
func dialH3(ctx context.Context, pool *x509.CertPool, base string) (*h3Conn, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	addr, err := net.ResolveUDPAddr("udp", u.Host)
	if err != nil {
		return nil, err
	}
	udp, err := listenUDP(0)
	if err != nil {
		return nil, err
	}
	qt := &quic.Transport{Conn: udp}
	tc := &tls.Config{RootCAs: pool, ServerName: u.Hostname(), NextProtos: []string{http3.NextProtoH3}, MinVersion: tls.VersionTLS13}
	conn, err := qt.Dial(ctx, addr, tc, quicConfig())
	if err != nil {
		qt.Close()
		udp.Close()
		return nil, err
	}
	cc := (&http3.Transport{}).NewClientConn(conn)
	return &h3Conn{udp: udp, qt: qt, conn: conn, cc: cc, authority: u.Host}, nil
}

// Do sends a small request (no body, or a small one) through quic-go's
// client on this connection.
func (c *h3Conn) Do(req *http.Request) (*http.Response, error) { return c.cc.RoundTrip(req) }

func (c *h3Conn) Close() {
	c.conn.CloseWithError(0, "")
	c.qt.Close()
	c.udp.Close()
}

// h3Answer is a response read by post.
type h3Answer struct {
	status int
	header http.Header
	body   []byte
	took   time.Duration // from the first byte of the request to the response's header
}

// post sends POST path with hdr and body, writing the body in pieces of
// chunk bytes, and reads the answer. hdr's names must be lower case.
func (c *h3Conn) post(ctx context.Context, path string, hdr map[string]string, body []byte, chunk int) (h3Answer, error) {
	str, err := c.conn.OpenStreamSync(ctx)
	if err != nil {
		return h3Answer{}, err
	}
	stop := context.AfterFunc(ctx, func() {
		str.CancelWrite(quic.StreamErrorCode(http3.ErrCodeRequestCanceled))
		str.CancelRead(quic.StreamErrorCode(http3.ErrCodeRequestCanceled))
	})
	defer stop()

	var block bytes.Buffer
	enc := qpack.NewEncoder(&block)
	fields := []qpack.HeaderField{
		{Name: ":method", Value: http.MethodPost},
		{Name: ":scheme", Value: "https"},
		{Name: ":authority", Value: c.authority},
		{Name: ":path", Value: path},
		{Name: "content-length", Value: strconv.Itoa(len(body))},
		{Name: "user-agent", Value: "dstor-bench"},
	}
	for k, v := range hdr {
		fields = append(fields, qpack.HeaderField{Name: k, Value: v})
	}
	for _, f := range fields {
		if err := enc.WriteField(f); err != nil {
			return h3Answer{}, err
		}
	}
	head := quicvarint.Append(nil, h3FrameHeaders)
	head = quicvarint.Append(head, uint64(block.Len()))
	head = append(head, block.Bytes()...)
	head = quicvarint.Append(head, h3FrameData)
	head = quicvarint.Append(head, uint64(len(body)))

	start := time.Now()
	werr := writeBody(str, head, body, chunk)
	if werr != nil {
		// The server may have refused the body (STOP_SENDING) after
		// answering: read what it said.
		str.SetReadDeadline(time.Now().Add(time.Second))
	}
	ans, rerr := readAnswer(bufio.NewReaderSize(str, 64<<10), start)
	if werr != nil {
		if rerr == nil {
			return ans, fmt.Errorf("request body cut off (%w): %d %s", werr, ans.status, ans.body)
		}
		return ans, werr
	}
	return ans, rerr
}

// writeBody writes head, then body in pieces of chunk bytes, then closes
// the stream's send side.
func writeBody(str *quic.Stream, head, body []byte, chunk int) error {
	if _, err := str.Write(head); err != nil {
		return err
	}
	for off := 0; off < len(body); off += chunk {
		if _, err := str.Write(body[off:min(off+chunk, len(body))]); err != nil {
			return err
		}
	}
	return str.Close()
}

// readAnswer reads a response: its HEADERS frame, then the payload of its
// DATA frames to the end of the stream; other frame types are skipped.
func readAnswer(r *bufio.Reader, start time.Time) (h3Answer, error) {
	var ans h3Answer
	for {
		typ, err := quicvarint.Read(r)
		if errors.Is(err, io.EOF) && ans.header != nil {
			return ans, nil
		} else if err != nil {
			return ans, fmt.Errorf("read response: %w", err)
		}
		n, err := quicvarint.Read(r)
		if err != nil {
			return ans, fmt.Errorf("read response: %w", err)
		}
		switch {
		case typ == h3FrameHeaders && ans.header == nil:
			if n > 64<<10 {
				return ans, fmt.Errorf("response HEADERS of %d bytes", n)
			}
			block := make([]byte, n)
			if _, err := io.ReadFull(r, block); err != nil {
				return ans, fmt.Errorf("read response header: %w", err)
			}
			ans.took = time.Since(start)
			if ans.status, ans.header, err = decodeHeader(block); err != nil {
				return ans, err
			}
		case typ == h3FrameData && ans.header != nil:
			if len(ans.body)+int(n) > 1<<20 {
				return ans, errors.New("response body over 1 MiB")
			}
			b := make([]byte, n)
			if _, err := io.ReadFull(r, b); err != nil {
				return ans, fmt.Errorf("read response body: %w", err)
			}
			ans.body = append(ans.body, b...)
		case typ == h3FrameHeaders || typ == h3FrameData:
			return ans, fmt.Errorf("unexpected frame type %#x", typ)
		default: // reserved and unknown frame types are ignored (RFC 9114, 9)
			if _, err := io.CopyN(io.Discard, r, int64(n)); err != nil {
				return ans, fmt.Errorf("read response: %w", err)
			}
		}
	}
}

func decodeHeader(block []byte) (int, http.Header, error) {
	next := qpack.NewDecoder().Decode(block)
	status := 0
	h := http.Header{}
	for {
		f, err := next()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return 0, nil, fmt.Errorf("decode response header: %w", err)
		}
		if f.Name == ":status" {
			if status, err = strconv.Atoi(f.Value); err != nil {
				return 0, nil, fmt.Errorf("response status %q", f.Value)
			}
			continue
		}
		if !strings.HasPrefix(f.Name, ":") {
			h.Add(f.Name, f.Value)
		}
	}
	if status == 0 {
		return 0, nil, errors.New("response without :status")
	}
	return status, h, nil
}
