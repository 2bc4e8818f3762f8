package wire_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"dstor/shared/cid"
	"dstor/shared/identity"
	"dstor/shared/wire"
)

// daemon is a CA-issued identity.
type daemon struct {
	cert tls.Certificate
	peer identity.Peer
}

func newCA(t *testing.T) *identity.CA {
	t.Helper()
	ca, err := identity.LoadOrCreateCA(t.TempDir())
	if err != nil {
		t.Fatalf("LoadOrCreateCA: %v", err)
	}
	return ca
}

func newDaemon(t *testing.T, ca *identity.CA, role identity.Role) daemon {
	t.Helper()
	key, err := identity.LoadOrCreateKey(filepath.Join(t.TempDir(), "key.pem"))
	if err != nil {
		t.Fatalf("LoadOrCreateKey: %v", err)
	}
	pub := key.Public().(ed25519.PublicKey)
	certPEM, err := ca.Issue(pub, role, []string{"127.0.0.1"})
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	cert, err := identity.KeyPair(certPEM, key)
	if err != nil {
		t.Fatalf("KeyPair: %v", err)
	}
	return daemon{cert: cert, peer: identity.Peer{Role: role, ID: identity.ID(pub)}}
}

// getMode makes the test server misbehave on a get of a given blob.
type getMode int

const (
	getNormal getMode = iota
	getShort          // announce the range, send half of it, close cleanly
	getLong           // announce the range, send it and more
	getReset          // announce the range, send half, then fail (reset)
)

// rejectSize is an announced put size the test server refuses before
// reading any of the body.
const rejectSize = 7 << 20

// seen is one request as the server's handler saw it.
type seen struct {
	op   wire.Op
	peer identity.Peer
}

// testServer is a node speaking dstor/1 over real QUIC on loopback, with
// a Mux of OpPing, OpPut, OpGet and OpHas. Handlers never touch t: they
// may outlive a failed test.
type testServer struct {
	node     daemon
	addr     string
	accepted atomic.Int32

	mu       sync.Mutex
	blobs    map[cid.CID][]byte
	modes    map[cid.CID]getMode
	requests []seen
	putSizes []int64 // announced sizes of completed puts

	putReading chan struct{} // a put handler has received body bytes
	putErrs    chan error    // a put handler's body failed with this
}

func startServer(t *testing.T, ca *identity.CA) *testServer {
	t.Helper()
	s := &testServer{
		node:       newDaemon(t, ca, identity.RoleNode),
		blobs:      make(map[cid.CID][]byte),
		modes:      make(map[cid.CID]getMode),
		putReading: make(chan struct{}, 1),
		putErrs:    make(chan error, 16),
	}
	tc := identity.ServerConfig(s.node.cert, ca.Pool(), nil, []string{wire.ALPN})
	ln, err := quic.ListenAddr("127.0.0.1:0", tc, wire.QUICConfig())
	if err != nil {
		t.Fatalf("ListenAddr: %v", err)
	}
	s.addr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	var (
		wg    sync.WaitGroup
		cmu   sync.Mutex
		conns []*quic.Conn
	)
	log := slog.New(slog.DiscardHandler)
	wg.Go(func() {
		for {
			conn, err := ln.Accept(ctx)
			if err != nil {
				return
			}
			s.accepted.Add(1)
			cmu.Lock()
			conns = append(conns, conn)
			cmu.Unlock()
			wg.Go(func() { wire.ServeConn(ctx, conn, s.mux(), log) })
		}
	})
	t.Cleanup(func() {
		cancel()
		ln.Close()
		cmu.Lock()
		for _, c := range conns {
			c.CloseWithError(0, "test over")
		}
		cmu.Unlock()
		wg.Wait()
	})
	return s
}

func (s *testServer) target() wire.Target {
	return wire.Target{Addr: s.addr, Peer: s.node.peer}
}

func (s *testServer) saw(req *wire.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, seen{op: req.Op, peer: req.Peer})
}

func (s *testServer) seen() []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seen(nil), s.requests...)
}

func (s *testServer) blob(c cid.CID) ([]byte, getMode, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.blobs[c]
	return b, s.modes[c], ok
}

// preload stores a blob directly, with a get behaviour.
func (s *testServer) preload(data []byte, mode getMode) cid.CID {
	c := cid.Sum(data)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blobs[c], s.modes[c] = data, mode
	return c
}

func (s *testServer) mux() wire.Mux {
	return wire.Mux{
		wire.OpPing: func(req *wire.Request) error {
			s.saw(req)
			var empty struct{}
			if err := req.Decode(&empty); err != nil {
				return wire.Errorf(wire.CodeBadRequest, "%v", err)
			}
			s.mu.Lock()
			n := len(s.blobs)
			s.mu.Unlock()
			_, err := req.Reply(wire.Status{ID: s.node.peer.ID, Region: "eu-west", Blobs: int64(n), Capacity: 100, Free: 40})
			return err
		},
		wire.OpPut: s.handlePut,
		wire.OpGet: s.handleGet,
		wire.OpHas: func(req *wire.Request) error {
			s.saw(req)
			var br wire.BlobRequest
			if err := req.Decode(&br); err != nil {
				return wire.Errorf(wire.CodeBadRequest, "%v", err)
			}
			return wire.Errorf(wire.CodeNotFound, "no blob %s here", br.CID)
		},
	}
}

// notifyReader signals once when the first bytes arrive.
type notifyReader struct {
	r    io.Reader
	once sync.Once
	ch   chan struct{}
}

func (n *notifyReader) Read(p []byte) (int, error) {
	k, err := n.r.Read(p)
	if k > 0 {
		n.once.Do(func() {
			select {
			case n.ch <- struct{}{}:
			default:
			}
		})
	}
	return k, err
}

func (s *testServer) handlePut(req *wire.Request) error {
	s.saw(req)
	var pr wire.PutRequest
	if err := req.Decode(&pr); err != nil {
		return wire.Errorf(wire.CodeBadRequest, "%v", err)
	}
	if pr.Size == rejectSize {
		return wire.Errorf(wire.CodeForbidden, "uploads of %d bytes are refused", pr.Size)
	}
	body := req.Chunks()
	var buf bytes.Buffer
	n, err := io.Copy(&buf, &notifyReader{r: body, ch: s.putReading})
	if err != nil {
		select {
		case s.putErrs <- err:
		default:
		}
		return wire.Errorf(wire.CodeBadRequest, "body: %v", err)
	}
	var tr wire.PutTrailer
	if err := body.Trailer(&tr); err != nil {
		return wire.Errorf(wire.CodeBadRequest, "trailer: %v", err)
	}
	s.mu.Lock()
	s.blobs[tr.CID] = buf.Bytes()
	s.putSizes = append(s.putSizes, pr.Size)
	s.mu.Unlock()
	_, err = req.Reply(wire.PutResponse{CID: tr.CID, Size: n})
	return err
}

func (s *testServer) handleGet(req *wire.Request) error {
	s.saw(req)
	var gr wire.GetRequest
	if err := req.Decode(&gr); err != nil {
		return wire.Errorf(wire.CodeBadRequest, "%v", err)
	}
	data, mode, ok := s.blob(gr.CID)
	if !ok {
		return wire.Errorf(wire.CodeNotFound, "no blob %s here", gr.CID)
	}
	size := int64(len(data))
	if gr.Offset < 0 || gr.Offset > size || gr.Length < -1 {
		return wire.Errorf(wire.CodeBadRequest, "bad range")
	}
	length := size - gr.Offset
	if gr.Length >= 0 {
		length = min(length, gr.Length)
	}
	out, err := req.Reply(wire.GetResponse{Size: size, Length: length})
	if err != nil {
		return err
	}
	part := data[gr.Offset : gr.Offset+length]
	switch mode {
	case getShort:
		_, err = out.Write(part[:len(part)/2])
	case getLong:
		if _, err = out.Write(part); err == nil {
			_, err = out.Write([]byte("and more bytes"))
		}
	case getReset:
		if _, err = out.Write(part[:len(part)/2]); err == nil {
			err = errors.New("disk failed half-way")
		}
	default:
		_, err = out.Write(part)
	}
	return err
}

// env is a server, a gateway client of the same CA and a context.
type env struct {
	ca     *identity.CA
	srv    *testServer
	gw     daemon
	client *wire.Client
	ctx    context.Context
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ca := newCA(t)
	e := &env{ca: ca, srv: startServer(t, ca), gw: newDaemon(t, ca, identity.RoleGateway)}
	e.client = wire.NewClient(e.gw.cert, ca.Pool())
	t.Cleanup(func() { e.client.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute) // a hang guard, not a timing assertion
	t.Cleanup(cancel)
	e.ctx = ctx
	return e
}

// checkPeers asserts that every request the server saw came from the
// gateway client, with its role and id.
func (e *env) checkPeers(t *testing.T) {
	t.Helper()
	reqs := e.srv.seen()
	if len(reqs) == 0 {
		t.Fatal("the server saw no requests")
	}
	for _, r := range reqs {
		if r.peer != e.gw.peer {
			t.Errorf("%v request came from %+v, want %+v", r.op, r.peer, e.gw.peer)
		}
	}
}

func payload(n int, seed uint64) []byte {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	binary.LittleEndian.PutUint64(key[8:], uint64(n))
	b := make([]byte, n)
	rand.NewChaCha8(key).Read(b)
	return b
}

// put uploads data in one Write and commits it.
func (e *env) put(t *testing.T, data []byte, announce int64) wire.PutResponse {
	t.Helper()
	up, err := e.client.Put(e.ctx, e.srv.target(), announce)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if len(data) > 0 {
		if n, err := up.Write(data); err != nil || n != len(data) {
			t.Fatalf("Upload.Write = %d, %v", n, err)
		}
	}
	resp, err := up.Commit(cid.Sum(data))
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	return resp
}
