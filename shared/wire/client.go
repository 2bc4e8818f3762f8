package wire

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/quic-go/quic-go"

	"dstor/shared/challenge"
	"dstor/shared/cid"
	"dstor/shared/identity"
	"dstor/shared/proof"
)

// Target is a daemon to talk to: its QUIC address and the identity its
// certificate must prove (an empty ID accepts any daemon of that role).
type Target struct {
	Addr string
	Peer identity.Peer
}

// Client opens dstor/1 requests, keeping one QUIC connection per target.
// It is safe for concurrent use.
type Client struct {
	// LocalIP is the address the client's socket binds to, so peers see
	// connections come from it (a daemon that listens on one IP sends
	// from it too). The zero value lets the kernel choose. Set it before
	// the first request.
	LocalIP netip.Addr
	// ChallengeVerifier checks challenge answers (nil: challenge.Verify).
	ChallengeVerifier challenge.Verifier

	cert tls.Certificate
	pool *x509.CertPool
	conf *quic.Config
	tr   *quic.Transport // one UDP socket for every outgoing connection

	mu    sync.Mutex
	conns map[Target]*quic.Conn
}

// QUICConfig is the QUIC configuration dStor daemons use for dstor/1, both
// as clients and servers: no 0-RTT, large flow-control windows for bulk
// transfers, keep-alives so idle pooled connections stay usable.
func QUICConfig() *quic.Config {
	return &quic.Config{
		MaxIdleTimeout:             30 * time.Second,
		KeepAlivePeriod:            10 * time.Second,
		HandshakeIdleTimeout:       5 * time.Second,
		InitialStreamReceiveWindow: 1 << 20,
		MaxStreamReceiveWindow:     16 << 20,
		MaxConnectionReceiveWindow: 64 << 20,
		MaxIncomingStreams:         4096,
		Allow0RTT:                  false,
	}
}

// DialTimeout bounds a handshake with a peer.
const DialTimeout = 3 * time.Second

// NewClient returns a client that authenticates with cert and trusts pool.
// Its connections share one UDP socket, opened on first use.
func NewClient(cert tls.Certificate, pool *x509.CertPool) *Client {
	return &Client{cert: cert, pool: pool, conf: QUICConfig(), conns: make(map[Target]*quic.Conn)}
}

// Close closes every pooled connection and the socket.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for t, conn := range c.conns {
		conn.CloseWithError(0, "client closed")
		delete(c.conns, t)
	}
	if c.tr != nil {
		c.tr.Close()
		c.tr.Conn.Close()
		c.tr = nil
	}
	return nil
}

// transport opens the client's socket on first use.
func (c *Client) transport() (*quic.Transport, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tr == nil {
		addr := ":0"
		if c.LocalIP.IsValid() {
			addr = netip.AddrPortFrom(c.LocalIP, 0).String()
		}
		udp, err := ListenUDP(addr)
		if err != nil {
			return nil, err
		}
		c.tr = &quic.Transport{Conn: udp}
	}
	return c.tr, nil
}

// Forget drops the pooled connection to t, so the next request redials.
func (c *Client) Forget(t Target) {
	c.mu.Lock()
	conn := c.conns[t]
	delete(c.conns, t)
	c.mu.Unlock()
	if conn != nil {
		conn.CloseWithError(0, "forgotten")
	}
}

func (c *Client) conn(ctx context.Context, t Target) (*quic.Conn, error) {
	c.mu.Lock()
	conn := c.conns[t]
	c.mu.Unlock()
	if conn != nil && conn.Context().Err() == nil {
		return conn, nil
	}
	tc := identity.ClientConfig(c.cert, c.pool, ALPN, t.Peer)
	tr, err := c.transport()
	if err != nil {
		return nil, err
	}
	ua, err := net.ResolveUDPAddr("udp", t.Addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s %s: %w", t.Peer.Role, t.Addr, err)
	}
	dctx, cancel := context.WithTimeout(ctx, DialTimeout)
	defer cancel()
	conn, err = tr.Dial(dctx, ua, tc, c.conf)
	if err != nil {
		return nil, fmt.Errorf("dial %s %s: %w", t.Peer.Role, t.Addr, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.conns[t]; old != nil && old.Context().Err() == nil {
		conn.CloseWithError(0, "duplicate")
		return old, nil
	}
	c.conns[t] = conn
	return conn, nil
}

// open starts a request and returns its stream. ctx bounds only the
// opening; callers bound the exchange with deadlines where it fits.
func (c *Client) open(ctx context.Context, t Target, op Op, req any) (*quic.Stream, *bufio.Reader, error) {
	conn, err := c.conn(ctx, t)
	if err != nil {
		return nil, nil, err
	}
	s, err := conn.OpenStreamSync(ctx)
	if err != nil {
		c.Forget(t)
		return nil, nil, fmt.Errorf("open stream to %s: %w", t.Addr, err)
	}
	if err := writeFrame(s, byte(op), req); err != nil {
		s.CancelWrite(cancelAbort)
		s.CancelRead(cancelAbort)
		return nil, nil, err
	}
	return s, bufio.NewReaderSize(s, 64<<10), nil
}

// ResponseTimeout bounds the wait for a response frame once a request has
// been sent (a put's starts when it commits).
const ResponseTimeout = 30 * time.Second

// failed drops the pooled connection to t when a request timed out: a
// peer that stopped answering (killed, paused, unreachable) then costs one
// timeout, not one per request until QUIC's idle timeout. Other failures
// (a peer's *Error, a reset stream) leave the connection and the requests
// sharing it alone; a connection that died is replaced on the next request.
func (c *Client) failed(t Target, err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.Forget(t)
	}
	return err
}

// readHead reads the response frame within ResponseTimeout (or ctx's
// deadline, if sooner), then leaves the stream with ctx's deadline.
func readHead(ctx context.Context, s *quic.Stream, r *bufio.Reader, v any) error {
	return awaitResponse(ctx, s, func() error { return readResponse(r, v) })
}

// awaitResponse runs read, which reads what the peer answers at once, with
// the stream's deadline at ResponseTimeout (or ctx's deadline, if sooner),
// then leaves the stream with ctx's deadline.
func awaitResponse(ctx context.Context, s *quic.Stream, read func() error) error {
	dl := time.Now().Add(ResponseTimeout)
	if cd, ok := ctx.Deadline(); ok && cd.Before(dl) {
		dl = cd
	}
	s.SetReadDeadline(dl)
	err := read()
	cd, _ := ctx.Deadline()
	s.SetReadDeadline(cd)
	return err
}

// call makes a request without bodies and decodes the answer into resp.
func (c *Client) call(ctx context.Context, t Target, op Op, req, resp any) error {
	s, r, err := c.open(ctx, t, op, req)
	if err != nil {
		return err
	}
	s.Close()
	defer s.CancelRead(0)
	return c.failed(t, readHead(ctx, s, r, resp))
}

// Ping asks a node for its status.
func (c *Client) Ping(ctx context.Context, t Target) (Status, error) {
	var st Status
	err := c.call(ctx, t, OpPing, struct{}{}, &st)
	return st, err
}

// Served takes a node's bytes served per blob since the last take.
func (c *Client) Served(ctx context.Context, t Target) (ServedReport, error) {
	var r ServedReport
	err := c.call(ctx, t, OpServed, struct{}{}, &r)
	return r, err
}

// Delete orders a node to delete its copy of an unpinned blob unless the
// copy was committed at or after before.
func (c *Client) Delete(ctx context.Context, t Target, id cid.CID, before time.Time) (DeleteResponse, error) {
	var r DeleteResponse
	err := c.call(ctx, t, OpDelete, DeleteRequest{CID: id, Before: before.UnixNano()}, &r)
	return r, err
}

// Has asks a node whether it holds a blob.
func (c *Client) Has(ctx context.Context, t Target, id cid.CID) (HasResponse, error) {
	var h HasResponse
	err := c.call(ctx, t, OpHas, BlobRequest{CID: id}, &h)
	return h, err
}

// Holders asks a gateway which nodes hold a blob.
func (c *Client) Holders(ctx context.Context, t Target, id cid.CID) (HoldersResponse, error) {
	var h HoldersResponse
	err := c.call(ctx, t, OpHolders, BlobRequest{CID: id}, &h)
	return h, err
}

// Report tells a gateway that a copy of a blob failed verification.
func (c *Client) Report(ctx context.Context, t Target, r Report) error {
	return c.call(ctx, t, OpReport, r, &struct{}{})
}

// Body is the byte stream of a get or outboard answer.
type Body struct {
	Size   int64 // the whole blob's length
	Length int64 // bytes in this body
	r      io.Reader
	s      *quic.Stream
}

func (b *Body) Read(p []byte) (int, error) { return b.r.Read(p) }

// SetReadDeadline bounds the next reads of the body.
func (b *Body) SetReadDeadline(t time.Time) error { return b.s.SetReadDeadline(t) }

// Close abandons whatever was not read.
func (b *Body) Close() error {
	b.s.CancelRead(0)
	return nil
}

// Get reads length bytes at offset (length -1: to the end) of a blob.
func (c *Client) Get(ctx context.Context, t Target, id cid.CID, offset, length int64) (*Body, error) {
	return c.body(ctx, t, OpGet, GetRequest{CID: id, Offset: offset, Length: length})
}

// Lead is what a fetch's answer brings before the blob's bytes.
type Lead struct {
	Outboard []byte // the head of the outboard tree
	Chunks   []byte // the first group's chunk values, or none
}

// Fetch reads a whole blob for a peer fetch: the answer brings up to head
// bytes of the outboard's head and the first group's chunk values, read
// whole into the Lead, before the bytes.
func (c *Client) Fetch(ctx context.Context, t Target, id cid.CID, head int64) (*Body, Lead, error) {
	s, r, err := c.open(ctx, t, OpGet, GetRequest{CID: id, Length: -1, Outboard: head, Chunks: true})
	if err != nil {
		return nil, Lead{}, err
	}
	s.Close()
	var resp GetResponse
	var lead Lead
	err = awaitResponse(ctx, s, func() error {
		if err := readResponse(r, &resp); err != nil {
			return err
		}
		if resp.Outboard < 0 || resp.Outboard > head || resp.Chunks != 0 && resp.Chunks != proof.ChunkCVsSize {
			return fmt.Errorf("dstor/1: answer leads with %d bytes of outboard and %d of chunk values, asked for at most %d and %d", resp.Outboard, resp.Chunks, head, proof.ChunkCVsSize)
		}
		b := make([]byte, resp.Outboard+resp.Chunks)
		_, err := io.ReadFull(r, b)
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		lead = Lead{Outboard: b[:resp.Outboard], Chunks: b[resp.Outboard:]}
		return err
	})
	if err != nil {
		s.CancelRead(0)
		return nil, Lead{}, c.failed(t, err)
	}
	return &Body{Size: resp.Size, Length: resp.Length, r: &exactReader{r: r, left: resp.Length}, s: s}, lead, nil
}

// Outboard reads a blob's Bao outboard tree.
func (c *Client) Outboard(ctx context.Context, t Target, id cid.CID) (*Body, error) {
	return c.body(ctx, t, OpOutboard, BlobRequest{CID: id})
}

// OutboardRange reads length bytes at offset (length 0: to the end) of a
// blob's Bao outboard tree; Body.Length says how many follow.
func (c *Client) OutboardRange(ctx context.Context, t Target, id cid.CID, offset, length int64) (*Body, error) {
	return c.body(ctx, t, OpOutboard, OutboardRequest{CID: id, Offset: offset, Length: length})
}

// body makes a request whose answer is a GetResponse and a byte stream.
func (c *Client) body(ctx context.Context, t Target, op Op, req any) (*Body, error) {
	s, r, err := c.open(ctx, t, op, req)
	if err != nil {
		return nil, err
	}
	s.Close()
	var resp GetResponse
	if err := readHead(ctx, s, r, &resp); err != nil {
		s.CancelRead(0)
		return nil, c.failed(t, err)
	}
	return &Body{Size: resp.Size, Length: resp.Length, r: &exactReader{r: r, left: resp.Length}, s: s}, nil
}

// exactReader yields exactly left bytes: a stream that ends early is an
// io.ErrUnexpectedEOF, never a silent short body.
type exactReader struct {
	r    io.Reader
	left int64
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if err == io.EOF && e.left > 0 {
		err = io.ErrUnexpectedEOF
	} else if err == io.EOF {
		err = nil
	}
	return n, err
}

// Upload is a put in progress: Write the bytes, then Commit or Abort.
type Upload struct {
	c  *Client
	t  Target
	s  *quic.Stream
	r  *bufio.Reader
	cw chunkWriter
}

// Put starts an upload of size bytes (-1 if unknown) to a node.
func (c *Client) Put(ctx context.Context, t Target, size int64) (*Upload, error) {
	s, r, err := c.open(ctx, t, OpPut, PutRequest{Size: size})
	if err != nil {
		return nil, err
	}
	return &Upload{c: c, t: t, s: s, r: r, cw: chunkWriter{w: s}}, nil
}

// Write sends bytes of the blob.
func (u *Upload) Write(p []byte) (int, error) {
	n, err := u.cw.Write(p)
	return n, u.c.failed(u.t, u.refused(err))
}

// refused turns a write error caused by the node cancelling the upload
// into the node's own answer, which says why (disk full, forbidden, ...).
func (u *Upload) refused(err error) error {
	var se *quic.StreamError
	if !errors.As(err, &se) || !se.Remote {
		return err
	}
	u.s.SetReadDeadline(time.Now().Add(time.Second))
	var resp PutResponse
	var we *Error
	if rerr := readResponse(u.r, &resp); errors.As(rerr, &we) {
		return we
	}
	return err
}

// SetWriteDeadline bounds the next writes: a node that stops taking bytes
// (dead, paused, partitioned) fails the upload instead of stalling it.
func (u *Upload) SetWriteDeadline(t time.Time) error { return u.s.SetWriteDeadline(t) }

// CommitTimeout is how long a node may take to answer a commit: it hashes
// the blob back from disk (at least 64 MiB/s) and fsyncs.
func CommitTimeout(size int64) time.Duration {
	return 10*time.Second + time.Duration(size>>26)*time.Second
}

// Commit announces the CID and waits for the node's durable commit.
func (u *Upload) Commit(id cid.CID) (PutResponse, error) {
	var resp PutResponse
	if err := u.cw.end(PutTrailer{CID: id}); err != nil {
		err = u.refused(err)
		u.Abort()
		return resp, u.c.failed(u.t, err)
	}
	u.s.Close()
	defer u.s.CancelRead(0)
	u.s.SetReadDeadline(time.Now().Add(CommitTimeout(u.cw.n)))
	err := u.c.failed(u.t, readResponse(u.r, &resp))
	if err == nil && resp.CID != id {
		err = Errorf(CodeHashMismatch, "node committed %s, want %s", resp.CID, id)
	}
	return resp, err
}

// Abort cancels the upload; the node discards what it received.
func (u *Upload) Abort() {
	u.s.CancelWrite(cancelAbort)
	u.s.CancelRead(cancelAbort)
}
