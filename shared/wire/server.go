package wire

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/quic-go/quic-go"

	"dstor/shared/identity"
)

// HeaderTimeout bounds how long a peer may take to send a request frame.
const HeaderTimeout = 10 * time.Second

// Stream error codes used when a request is abandoned half-way.
const (
	cancelAbort quic.StreamErrorCode = 1
)

// Handler serves one request. It decodes the header with Decode, reads any
// body, then answers with Reply and writes the answer's body. An error
// returned before Reply is sent to the client as an *Error; after Reply,
// the stream is reset.
type Handler func(req *Request) error

// Mux routes requests by op.
type Mux map[Op]Handler

// Request is one incoming request on its own stream.
type Request struct {
	Op      Op
	Peer    identity.Peer
	header  []byte
	r       *bufio.Reader
	s       *quic.Stream
	replied bool
}

// Context is cancelled when the stream or connection goes away.
func (r *Request) Context() context.Context { return r.s.Context() }

// Decode unmarshals the request header into v.
func (r *Request) Decode(v any) error { return decode(r.header, v) }

// Chunks returns the put body reader.
func (r *Request) Chunks() *ChunkReader { return &ChunkReader{r: r.r} }

// Reply sends a success frame with header v and returns the writer for the
// answer's body.
func (r *Request) Reply(v any) (io.Writer, error) {
	r.replied = true
	return r.s, writeFrame(r.s, statusOK, v)
}

// ServeConn serves the streams of one dstor/1 connection until it closes
// or ctx ends. The peer's identity comes from its verified certificate.
func ServeConn(ctx context.Context, conn *quic.Conn, mux Mux, log *slog.Logger) {
	certs := conn.ConnectionState().TLS.PeerCertificates
	if len(certs) == 0 {
		conn.CloseWithError(1, "client certificate required")
		return
	}
	peer, err := identity.PeerOf(certs[0])
	if err != nil {
		conn.CloseWithError(1, err.Error())
		return
	}
	for {
		s, err := conn.AcceptStream(ctx)
		if err != nil {
			return
		}
		go serveStream(s, peer, mux, log)
	}
}

func serveStream(s *quic.Stream, peer identity.Peer, mux Mux, log *slog.Logger) {
	req := &Request{Peer: peer, r: bufio.NewReaderSize(s, 64<<10), s: s}
	err := func() error {
		s.SetReadDeadline(time.Now().Add(HeaderTimeout))
		op, js, err := readFrame(req.r)
		if err != nil {
			return Errorf(CodeBadRequest, "request frame: %v", noEOF(err))
		}
		s.SetReadDeadline(time.Time{})
		req.Op, req.header = Op(op), js
		h := mux[req.Op]
		if h == nil {
			return Errorf(CodeBadRequest, "unknown op %d", op)
		}
		return h(req)
	}()
	if err == nil {
		s.Close()
		return
	}
	if req.replied {
		log.Debug("dstor/1 request failed after reply", "op", req.Op, "peer", peer.ID, "err", err)
		s.CancelWrite(cancelAbort)
		s.CancelRead(cancelAbort)
		return
	}
	we := codeOf(err)
	if we.Code == CodeInternal {
		log.Warn("dstor/1 request failed", "op", req.Op, "peer", peer.ID, "err", err)
	}
	if werr := writeFrame(s, statusErr, we); werr != nil && !errors.Is(werr, context.Canceled) {
		log.Debug("dstor/1 error reply", "err", fmt.Errorf("%w", werr))
	}
	s.Close()
	s.CancelRead(cancelAbort)
}
