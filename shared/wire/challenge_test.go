package wire_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"lukechampine.com/blake3/bao"

	"dstor/shared/challenge"
	"dstor/shared/cid"
	"dstor/shared/identity"
	"dstor/shared/wire"
)

// challengeServer serves OpChallenge for one blob with handle, over QUIC
// on loopback, and returns its target.
func challengeServer(t *testing.T, ca *identity.CA, handle func(node identity.Peer, req *wire.Request) error) wire.Target {
	t.Helper()
	node := newDaemon(t, ca, identity.RoleNode)
	tc := identity.ServerConfig(node.cert, ca.Pool(), nil, []string{wire.ALPN})
	ln, err := quic.ListenAddr("127.0.0.1:0", tc, wire.QUICConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	mux := wire.Mux{wire.OpChallenge: func(req *wire.Request) error { return handle(node.peer, req) }}
	wg.Go(func() {
		for {
			conn, err := ln.Accept(ctx)
			if err != nil {
				return
			}
			wg.Go(func() { wire.ServeConn(ctx, conn, mux, slog.New(slog.DiscardHandler)) })
		}
	})
	t.Cleanup(func() { cancel(); ln.Close(); wg.Wait() })
	return wire.Target{Addr: ln.Addr().String(), Peer: node.peer}
}

// TestChallengeClient: the client takes exactly the answer the ranges
// call for and verifies it; whatever else a node sends is a bad proof,
// read no further than the expected length.
func TestChallengeClient(t *testing.T) {
	ca := newCA(t)
	data := payload(100_000, 3)
	id := cid.Sum(data)
	ob, _ := bao.EncodeBuf(data, challenge.Group, true)
	size := int64(len(data))

	type mode func(w []byte, resp *wire.ChallengeResponse) []byte
	var current mode
	var mu sync.Mutex
	target := challengeServer(t, ca, func(node identity.Peer, req *wire.Request) error {
		var cr wire.ChallengeRequest
		if err := req.Decode(&cr); err != nil || cr.CID != id {
			return wire.Errorf(wire.CodeNotFound, "no such blob")
		}
		rs := challenge.Ranges(cr.Nonce, cr.CID, node.ID, size, cr.Ranges, cr.Length)
		var a bytes.Buffer
		if err := challenge.Answer(&a, bytes.NewReader(data), bytes.NewReader(ob), size, rs); err != nil {
			return err
		}
		resp := wire.ChallengeResponse{Size: size, Length: int64(a.Len())}
		mu.Lock()
		m := current
		mu.Unlock()
		answer := m(a.Bytes(), &resp)
		out, err := req.Reply(resp)
		if err != nil {
			return err
		}
		_, err = out.Write(answer)
		return err
	})
	auditor := newDaemon(t, ca, identity.RoleAuditor)
	c := wire.NewClient(auditor.cert, ca.Pool())
	t.Cleanup(func() { c.Close() })

	for _, tc := range []struct {
		name string
		mode mode
		want error // nil: verifies
	}{
		{"honest", func(a []byte, _ *wire.ChallengeResponse) []byte { return a }, nil},
		{"flipped byte", func(a []byte, _ *wire.ChallengeResponse) []byte { a[len(a)-100] ^= 1; return a }, challenge.ErrBadProof},
		{"cut short", func(a []byte, r *wire.ChallengeResponse) []byte { return a[:len(a)/2] }, challenge.ErrBadProof},
		{"announces 1 TiB", func(a []byte, r *wire.ChallengeResponse) []byte { r.Length = 1 << 40; return a }, challenge.ErrBadProof},
		{"announces another size", func(a []byte, r *wire.ChallengeResponse) []byte { r.Size++; return a }, challenge.ErrBadProof},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			current = tc.mode
			mu.Unlock()
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			p, err := c.Challenge(ctx, target, id, size, [32]byte{1, 2, 3}, 8, 1024)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if err == nil {
				for i, r := range p.Ranges {
					if !bytes.Equal(p.Data[i], data[r.Off:r.Off+r.Len]) {
						t.Fatalf("range %+v: wrong bytes", r)
					}
				}
				if p.Elapsed <= 0 {
					t.Errorf("Elapsed %v", p.Elapsed)
				}
			}
		})
	}

	t.Run("not found", func(t *testing.T) {
		_, err := c.Challenge(t.Context(), target, cid.Sum([]byte("other")), size, [32]byte{}, 8, 1024)
		if !errors.Is(err, wire.ErrNotFound) {
			t.Fatalf("err %v, want CodeNotFound", err)
		}
	})
	t.Run("too slow", func(t *testing.T) {
		mu.Lock()
		current = func(a []byte, _ *wire.ChallengeResponse) []byte { time.Sleep(300 * time.Millisecond); return a }
		mu.Unlock()
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		_, err := c.Challenge(ctx, target, id, size, [32]byte{}, 8, 1024)
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() || errors.Is(err, challenge.ErrBadProof) {
			t.Fatalf("err %v, want a timeout", err)
		}
	})
	t.Run("no node identity", func(t *testing.T) {
		anyNode := wire.Target{Addr: target.Addr, Peer: identity.Peer{Role: identity.RoleNode}}
		if _, err := c.Challenge(t.Context(), anyNode, id, size, [32]byte{}, 8, 1024); err == nil {
			t.Fatal("challenged a node of unknown identity")
		}
	})
}

func TestNonceText(t *testing.T) {
	n := wire.Nonce{0: 0xab, 31: 0x01}
	b, err := json.Marshal(wire.ChallengeRequest{CID: cid.Sum(nil), Nonce: n})
	if err != nil {
		t.Fatal(err)
	}
	var back wire.ChallengeRequest
	if err := json.Unmarshal(b, &back); err != nil || back.Nonce != n {
		t.Fatalf("round trip of %s: %v, %x", b, err, back.Nonce)
	}
	for _, bad := range []string{`""`, `"ab"`, `"` + string(bytes.Repeat([]byte("zz"), 32)) + `"`, `"` + string(bytes.Repeat([]byte("a"), 65)) + `"`, `[1,2]`} {
		var n wire.Nonce
		if err := json.Unmarshal([]byte(bad), &n); err == nil {
			t.Errorf("nonce %s accepted", bad)
		}
	}
}
