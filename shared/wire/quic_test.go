package wire_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"dstor/shared/cid"
	"dstor/shared/identity"
	"dstor/shared/wire"
)

func TestPing(t *testing.T) {
	e := newEnv(t)
	st, err := e.client.Ping(e.ctx, e.srv.target())
	if err != nil {
		t.Fatalf("Ping: %v", err)
	}
	want := wire.Status{ID: e.srv.node.peer.ID, Region: "eu-west", Capacity: 100, Free: 40}
	if !reflect.DeepEqual(st, want) {
		t.Errorf("Ping = %+v, want %+v", st, want)
	}
	e.checkPeers(t)
	if r := e.srv.seen(); len(r) != 1 || r[0].op != wire.OpPing {
		t.Errorf("server saw %+v, want one ping", r)
	}
}

func TestPutGet(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name     string
		size     int
		announce int64 // -2: the real size
		ranges   [][2]int64
	}{
		{"empty", 0, -2, [][2]int64{{0, -1}, {0, 0}, {0, 10}}},
		{"empty, size unknown", 0, -1, nil},
		{"3 MiB plus 5", 3<<20 + 5, -2, [][2]int64{
			{0, -1},                 // all of it
			{wire.MaxChunk - 3, 10}, // across a chunk boundary
			{3<<20 + 5 - 5, -1},     // the tail
			{3<<20 + 5 - 5, 100},    // a length past the end is clamped
			{7, 0},                  // nothing
			{3<<20 + 5, -1},         // at the very end
			{1 << 20, 2<<20 + 1},    // a large middle range
		}},
		{"3 MiB plus 5, size unknown", 3<<20 + 5, -1, [][2]int64{{1, 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := payload(tc.size, uint64(tc.announce+10))
			announce := tc.announce
			if announce == -2 {
				announce = int64(len(data))
			}
			c := cid.Sum(data)
			resp := e.put(t, data, announce)
			if resp.CID != c || resp.Size != int64(len(data)) {
				t.Errorf("PutResponse = %v/%d, want %v/%d", resp.CID, resp.Size, c, len(data))
			}
			stored, _, ok := e.srv.blob(c)
			if !ok || !bytes.Equal(stored, data) {
				t.Fatalf("the server received %d bytes that differ from the %d sent", len(stored), len(data))
			}
			e.srv.mu.Lock()
			gotAnnounce := e.srv.putSizes[len(e.srv.putSizes)-1]
			e.srv.mu.Unlock()
			if gotAnnounce != announce {
				t.Errorf("server saw announced size %d, want %d", gotAnnounce, announce)
			}

			for _, rg := range tc.ranges {
				t.Run(fmt.Sprintf("get %d+%d", rg[0], rg[1]), func(t *testing.T) {
					off, n := rg[0], rg[1]
					end := int64(len(data))
					if n >= 0 {
						end = min(end, off+n)
					}
					want := data[off:end]
					body, err := e.client.Get(e.ctx, e.srv.target(), c, off, n)
					if err != nil {
						t.Fatalf("Get: %v", err)
					}
					defer body.Close()
					if body.Size != int64(len(data)) || body.Length != int64(len(want)) {
						t.Errorf("Body Size %d Length %d, want %d, %d", body.Size, body.Length, len(data), len(want))
					}
					got, err := io.ReadAll(body)
					if err != nil {
						t.Fatalf("reading the body: %v", err)
					}
					if !bytes.Equal(got, want) {
						t.Fatalf("got %d bytes, want %d (equal: false)", len(got), len(want))
					}
					if k, err := body.Read(make([]byte, 1)); k != 0 || err != io.EOF {
						t.Errorf("Read after the body = %d, %v; want 0, io.EOF", k, err)
					}
				})
			}
		})
	}
	e.checkPeers(t)
	if n := e.srv.accepted.Load(); n != 1 {
		t.Errorf("the client made %d connections, want 1 pooled", n)
	}
}

// TestGetMisbehavingServer: a body is exactly as long as announced, or an
// error; never silently short or long.
func TestGetMisbehavingServer(t *testing.T) {
	e := newEnv(t)
	data := payload(200_000, 1)
	for _, tc := range []struct {
		name  string
		mode  getMode
		check func(t *testing.T, got, want []byte, err error)
	}{
		{"short then clean close", getShort, func(t *testing.T, got, want []byte, err error) {
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("err = %v, want io.ErrUnexpectedEOF", err)
			}
			if !bytes.Equal(got, want[:len(want)/2]) {
				t.Errorf("got %d bytes, want the %d the server sent", len(got), len(want)/2)
			}
		}},
		{"longer than announced", getLong, func(t *testing.T, got, want []byte, err error) {
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("got %d bytes, %v; want exactly the announced %d", len(got), err, len(want))
			}
		}},
		{"reset after reply", getReset, func(t *testing.T, got, want []byte, err error) {
			var se *quic.StreamError
			if !errors.As(err, &se) || !se.Remote {
				t.Errorf("err = %v (%T), want a remote stream reset", err, err)
			}
			if !bytes.HasPrefix(want, got) || len(got) == len(want) {
				t.Errorf("got %d bytes, want a strict prefix of %d", len(got), len(want))
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			blob := append([]byte(tc.name), data...)
			c := e.srv.preload(blob, tc.mode)
			body, err := e.client.Get(e.ctx, e.srv.target(), c, 5, 100_000)
			if err != nil && tc.mode == getReset {
				// The reset may overtake the response frame: a reset stream
				// delivers nothing more.
				tc.check(t, nil, blob[5:5+100_000], err)
				return
			}
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			defer body.Close()
			if body.Length != 100_000 || body.Size != int64(len(blob)) {
				t.Errorf("Body Length %d Size %d, want 100000, %d", body.Length, body.Size, len(blob))
			}
			got, err := io.ReadAll(body)
			tc.check(t, got, blob[5:5+100_000], err)
		})
	}
}

func TestErrors(t *testing.T) {
	e := newEnv(t)
	missing := cid.Sum([]byte("missing"))
	for _, tc := range []struct {
		name string
		call func() error
		want *wire.Error
		msg  string
	}{
		{"has", func() error {
			_, err := e.client.Has(e.ctx, e.srv.target(), missing)
			return err
		}, wire.ErrNotFound, missing.String()},
		{"get of a missing blob", func() error {
			_, err := e.client.Get(e.ctx, e.srv.target(), missing, 0, -1)
			return err
		}, wire.ErrNotFound, "no blob"},
		{"get of a bad range", func() error {
			c := e.srv.preload([]byte("tiny"), getNormal)
			_, err := e.client.Get(e.ctx, e.srv.target(), c, 5, -1)
			return err
		}, &wire.Error{Code: wire.CodeBadRequest}, "bad range"},
		{"unknown op holders", func() error {
			_, err := e.client.Holders(e.ctx, e.srv.target(), missing)
			return err
		}, &wire.Error{Code: wire.CodeBadRequest}, fmt.Sprintf("unknown op %d", wire.OpHolders)},
		{"unknown op outboard", func() error {
			_, err := e.client.Outboard(e.ctx, e.srv.target(), missing)
			return err
		}, &wire.Error{Code: wire.CodeBadRequest}, fmt.Sprintf("unknown op %d", wire.OpOutboard)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want code %d", err, tc.want.Code)
			}
			var we *wire.Error
			if !errors.As(err, &we) || !strings.Contains(we.Message, tc.msg) {
				t.Errorf("err = %v, want a message containing %q", err, tc.msg)
			}
			// The connection stays usable after an error answer.
			if _, err := e.client.Ping(e.ctx, e.srv.target()); err != nil {
				t.Errorf("Ping after the error: %v", err)
			}
		})
	}
	e.checkPeers(t)
	if n := e.srv.accepted.Load(); n != 1 {
		t.Errorf("the client made %d connections, want 1 pooled", n)
	}
}

func TestUploadAbort(t *testing.T) {
	e := newEnv(t)
	data := payload(100_000, 2)
	up, err := e.client.Put(e.ctx, e.srv.target(), 1<<20)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if _, err := up.Write(data); err != nil {
		t.Fatalf("Write: %v", err)
	}
	select {
	case <-e.srv.putReading:
	case <-e.ctx.Done():
		t.Fatal("the server never received the upload's bytes")
	}
	up.Abort()
	select {
	case err := <-e.srv.putErrs:
		// The failure is the reset, not a clean end or a cut-off body.
		// ChunkReader keeps the *quic.StreamError in the chain when the
		// reset lands mid-chunk, and only its text when it lands on a
		// chunk length.
		var se *quic.StreamError
		if err == nil || errors.Is(err, io.EOF) ||
			!(errors.As(err, &se) && se.Remote || strings.Contains(err.Error(), "canceled by remote")) {
			t.Errorf("the handler's chunk reader ended with %v, want the client's reset", err)
		}
		t.Logf("handler saw: %v", err)
	case <-e.ctx.Done():
		t.Fatal("the handler's chunk reader never failed after Abort")
	}
	e.srv.mu.Lock()
	n := len(e.srv.blobs)
	e.srv.mu.Unlock()
	if n != 0 {
		t.Errorf("the server kept %d blobs from an aborted upload", n)
	}
	// Aborting one upload does not break the connection.
	if _, err := e.client.Ping(e.ctx, e.srv.target()); err != nil {
		t.Errorf("Ping after Abort: %v", err)
	}
	e.checkPeers(t)
}

func TestDial(t *testing.T) {
	ca := newCA(t)
	srv := startServer(t, ca)
	gw := newDaemon(t, ca, identity.RoleGateway)
	otherNode := newDaemon(t, ca, identity.RoleNode)
	otherCA := newCA(t)
	foreignGW := newDaemon(t, otherCA, identity.RoleGateway)

	for _, tc := range []struct {
		name   string
		client daemon
		trust  *identity.CA
		peer   identity.Peer
		ok     bool
	}{
		{"exact id", gw, ca, srv.node.peer, true},
		{"any node", gw, ca, identity.Peer{Role: identity.RoleNode}, true},
		{"wrong id", gw, ca, identity.Peer{Role: identity.RoleNode, ID: otherNode.peer.ID}, false},
		{"wrong role", gw, ca, identity.Peer{Role: identity.RoleGateway, ID: srv.node.peer.ID}, false},
		{"client certificate from another CA", foreignGW, ca, srv.node.peer, false},
		{"server from an untrusted CA", gw, otherCA, srv.node.peer, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute) // hang guard
			defer cancel()
			client := wire.NewClient(tc.client.cert, tc.trust.Pool())
			defer client.Close()
			before := len(srv.seen())
			target := wire.Target{Addr: srv.addr, Peer: tc.peer}
			st, err := client.Ping(ctx, target)
			after := srv.seen()
			if tc.ok {
				if err != nil {
					t.Fatalf("Ping: %v", err)
				}
				if st.ID != srv.node.peer.ID {
					t.Errorf("Ping answered by %q, want %q", st.ID, srv.node.peer.ID)
				}
				if len(after) != before+1 || after[len(after)-1].peer != tc.client.peer {
					t.Errorf("server saw %+v, want one ping from %+v", after[before:], tc.client.peer)
				}
				return
			}
			if err == nil {
				t.Fatalf("Ping succeeded, want the connection refused")
			}
			t.Logf("refused: %v", err)
			if len(after) != before {
				t.Errorf("a refused client reached the handler: %+v", after[before:])
			}
		})
	}
}

// TestForeignClientNotAccepted: a client whose certificate another CA
// issued never gets a connection out of Accept.
func TestForeignClientNotAccepted(t *testing.T) {
	ca := newCA(t)
	srv := startServer(t, ca)
	foreign := newDaemon(t, newCA(t), identity.RoleGateway)
	client := wire.NewClient(foreign.cert, ca.Pool())
	defer client.Close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if _, err := client.Ping(ctx, srv.target()); err == nil {
		t.Fatal("Ping with a foreign certificate succeeded")
	}
	// A legitimate client afterwards is accepted: the accept loop is alive
	// and counts it as the first connection.
	good := wire.NewClient(newDaemon(t, ca, identity.RoleGateway).cert, ca.Pool())
	defer good.Close()
	if _, err := good.Ping(ctx, srv.target()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if n := srv.accepted.Load(); n != 1 {
		t.Errorf("server accepted %d connections, want only the legitimate one", n)
	}
}

func TestConcurrentRequests(t *testing.T) {
	e := newEnv(t)
	if _, err := e.client.Ping(e.ctx, e.srv.target()); err != nil { // dial once
		t.Fatal(err)
	}
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = func() error {
				data := payload(100_000+i, uint64(i))
				if _, err := e.client.Ping(e.ctx, e.srv.target()); err != nil {
					return err
				}
				up, err := e.client.Put(e.ctx, e.srv.target(), int64(len(data)))
				if err != nil {
					return err
				}
				if _, err := up.Write(data); err != nil {
					return err
				}
				if _, err := up.Commit(cid.Sum(data)); err != nil {
					return err
				}
				body, err := e.client.Get(e.ctx, e.srv.target(), cid.Sum(data), 0, -1)
				if err != nil {
					return err
				}
				defer body.Close()
				got, err := io.ReadAll(body)
				if err != nil {
					return err
				}
				if !bytes.Equal(got, data) {
					return fmt.Errorf("get returned other bytes")
				}
				return nil
			}()
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("worker %d: %v", i, err)
		}
	}
	if got := e.srv.accepted.Load(); got != 1 {
		t.Errorf("the client made %d connections, want 1 pooled", got)
	}
	e.checkPeers(t)
}

func TestForgetAndClose(t *testing.T) {
	e := newEnv(t)
	target := e.srv.target()
	for _, step := range []struct {
		name     string
		before   func()
		accepted int32
	}{
		{"first request dials", func() {}, 1},
		{"second request reuses", func() {}, 1},
		{"after Forget it redials", func() { e.client.Forget(target) }, 2},
		{"after Close it redials", func() { e.client.Close() }, 3},
	} {
		t.Run(step.name, func(t *testing.T) {
			step.before()
			if _, err := e.client.Ping(e.ctx, target); err != nil {
				t.Fatalf("Ping: %v", err)
			}
			if got := e.srv.accepted.Load(); got != step.accepted {
				t.Errorf("server accepted %d connections, want %d", got, step.accepted)
			}
		})
	}
}

// TestRejectedUploadKeepsConnection: a node that refuses one upload before
// reading its body (it answers an *Error and stops reading the stream)
// must not cost the other requests in flight on the same connection.
func TestRejectedUploadKeepsConnection(t *testing.T) {
	e := newEnv(t)
	big := payload(8<<20, 5)
	c := e.srv.preload(big, getNormal)

	// A get in progress on the pooled connection.
	body, err := e.client.Get(e.ctx, e.srv.target(), c, 0, -1)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	defer body.Close()
	head := make([]byte, 1000)
	if _, err := io.ReadFull(body, head); err != nil {
		t.Fatalf("reading the start of the body: %v", err)
	}

	// An upload the node refuses. Writing more than the stream's flow
	// control window makes the writer wait for the node, which stops
	// reading instead.
	up, err := e.client.Put(e.ctx, e.srv.target(), rejectSize)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	_, werr := up.Write(payload(rejectSize, 6))
	var cerr error
	if werr == nil {
		_, cerr = up.Commit(cid.Sum(nil))
	} else {
		up.Abort()
	}
	t.Logf("refused upload: Write: %v; Commit: %v", werr, cerr)
	if werr == nil && cerr == nil {
		t.Fatal("the refused upload succeeded")
	}

	// The get on the same connection carries on to the end.
	rest, err := io.ReadAll(body)
	if err != nil {
		t.Fatalf("the get in flight failed after another request was refused: %v (read %d of %d bytes)",
			err, len(head)+len(rest), len(big))
	}
	if !bytes.Equal(append(head, rest...), big) {
		t.Fatal("the get returned other bytes")
	}
	if n := e.srv.accepted.Load(); n != 1 {
		t.Errorf("the client made %d connections, want 1 pooled", n)
	}
}
