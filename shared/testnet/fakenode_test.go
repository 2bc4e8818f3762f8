package testnet

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"dstor/shared/challenge"
	"dstor/shared/cid"
	"dstor/shared/identity"
	"dstor/shared/latency"
	"dstor/shared/registry"
	"dstor/shared/wire"
)

// fakeNode is a storage node of the test's making: a real node identity
// issued by the network's CA, serving dstor/1 on loopback, registered in
// the registry so that an auditor challenges it like any holder. It
// answers pings; what it answers to a challenge is up to the test.
type fakeNode struct {
	ID     string
	URL    string // https://127.0.0.1:port, also its QUIC address
	Region string
	// Client dials peers as this node.
	Client *wire.Client
}

// challengeFunc answers one decoded challenge as fake node f: it replies
// (req.Reply) and writes a body, or returns an error the auditor gets.
type challengeFunc func(f *fakeNode, req *wire.Request, cr wire.ChallengeRequest) error

// startFakeNode runs a fake node in region that answers challenges with
// answer, and registers it in reg. Nothing else knows it: the gateway
// does not probe it or place blobs on it.
func (n *Net) startFakeNode(t *testing.T, reg registry.Registry, region string, answer challengeFunc) *fakeNode {
	t.Helper()
	ca, err := identity.LoadOrCreateCA(filepath.Join(n.GatewayDir, "ca"))
	if err != nil {
		t.Fatal(err)
	}
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := ca.Issue(pub, identity.RoleNode, []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := identity.KeyPair(certPEM, key)
	if err != nil {
		t.Fatal(err)
	}
	udp, err := wire.ListenUDP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tr := &quic.Transport{Conn: udp}
	ln, err := tr.Listen(identity.ServerConfig(cert, ca.Pool(), nil, []string{wire.ALPN}), wire.QUICConfig())
	if err != nil {
		udp.Close()
		t.Fatal(err)
	}
	f := &fakeNode{
		ID:     identity.ID(pub),
		URL:    "https://" + udp.LocalAddr().String(),
		Region: region,
		Client: wire.NewClient(cert, ca.Pool()),
	}
	mux := wire.Mux{
		wire.OpPing: func(req *wire.Request) error {
			_, err := req.Reply(wire.Status{ID: f.ID, Region: region})
			return err
		},
		wire.OpChallenge: func(req *wire.Request) error {
			var cr wire.ChallengeRequest
			if err := req.Decode(&cr); err != nil {
				return wire.Errorf(wire.CodeBadRequest, "bad challenge: %v", err)
			}
			return answer(f, req, cr)
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			conn, err := ln.Accept(ctx)
			if err != nil {
				return
			}
			wg.Go(func() { wire.ServeConn(ctx, conn, mux, slog.New(slog.DiscardHandler)) })
		}
	})
	t.Cleanup(func() {
		cancel()
		f.Client.Close()
		ln.Close()
		tr.Close()
		udp.Close()
		wg.Wait()
	})
	if err := reg.UpsertNode(context.Background(), registry.Node{ID: f.ID, Region: region, URL: f.URL, PublicKey: pub}); err != nil {
		t.Fatal(err)
	}
	return f
}

// hold lists f in the registry as a holder of pinned blob id.
func (f *fakeNode) hold(t *testing.T, reg registry.Registry, id string) {
	t.Helper()
	if err := reg.SetHolderStatus(context.Background(), id, f.ID, registry.StatusPinned); err != nil {
		t.Fatal(err)
	}
}

// target is an audit of f's copy of b.
func (f *fakeNode) target(b *heldBlob) registry.AuditTarget {
	return registry.AuditTarget{CID: b.ID.String(), Size: b.Size, NodeID: f.ID, Region: f.Region, URL: f.URL}
}

// heldBlob is a whole blob a test holds in memory: its bytes and its Bao
// outboard, as a node's store has them.
type heldBlob struct {
	ID       cid.CID
	Size     int64
	Data     []byte
	Outboard []byte
}

// fetchBlob reads blob id, whose bytes are data, and its outboard from
// the node at from.
func fetchBlob(t *testing.T, c *wire.Client, from wire.Target, id cid.CID, data []byte) *heldBlob {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), clientTimeout)
	defer cancel()
	body, err := c.Outboard(ctx, from, id)
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	ob, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	return &heldBlob{ID: id, Size: int64(len(data)), Data: data, Outboard: ob}
}

// answer is the honest answer of node nodeID to a challenge of b, and the
// ranges it proves.
func (b *heldBlob) answer(t testing.TB, nodeID string, nonce [32]byte, k, length int) ([]byte, []challenge.Range) {
	rs := challenge.Ranges(nonce, b.ID, nodeID, b.Size, k, length)
	var buf bytes.Buffer
	if err := challenge.Answer(&buf, bytes.NewReader(b.Data), bytes.NewReader(b.Outboard), b.Size, rs); err != nil {
		t.Error(err)
	}
	return buf.Bytes(), rs
}

// reply sends a challenge answer's header, claiming length bytes of a
// size-byte blob, then body (which may say otherwise).
func reply(req *wire.Request, size, length int64, body []byte) error {
	w, err := req.Reply(wire.ChallengeResponse{Size: size, Length: length})
	if err != nil {
		return err
	}
	_, err = w.Write(body)
	return err
}

// latencyStats summarizes durations: p50, p95 and max.
func latencyStats(ds []time.Duration) (p50, p95, top time.Duration) {
	if len(ds) == 0 {
		return 0, 0, 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2], s[len(s)*95/100], s[len(s)-1]
}

// delayed puts a latency proxy adding rtt of round trip in front of the
// daemon at to, and returns how to reach it through the proxy.
func delayed(t *testing.T, to wire.Target, rtt time.Duration) wire.Target {
	t.Helper()
	p, err := latency.Listen(latency.Config{Listen: "127.0.0.1:0", Target: to.Addr, Default: latency.Profile{Delay: rtt}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return wire.Target{Addr: p.Addr().String(), Peer: to.Peer}
}

// startRelay runs a fake node that keeps only the outboard of blob id
// (size bytes) and, challenged, fetches the challenged groups from the
// holder at from, all at once, then answers with the slices they make: a
// correct answer, one fetch later.
func (n *Net) startRelay(t *testing.T, reg registry.Registry, id cid.CID, size int64, from wire.Target) *fakeNode {
	t.Helper()
	var outboard []byte // set before the relay is listed as a holder
	relay := n.startFakeNode(t, reg, "r1", func(f *fakeNode, req *wire.Request, cr wire.ChallengeRequest) error {
		rs := challenge.Ranges(cr.Nonce, cr.CID, f.ID, size, cr.Ranges, cr.Length)
		groups := make(groupsAt, len(rs))
		var mu sync.Mutex
		var wg sync.WaitGroup
		var failed error
		for _, r := range rs {
			start := r.Off - r.Off%challenge.GroupSize
			wg.Go(func() {
				g, err := getAll(req.Context(), f.Client, from, cr.CID, start, min(challenge.GroupSize, size-start))
				mu.Lock()
				defer mu.Unlock()
				groups[start] = g
				if err != nil {
					failed = err
				}
			})
		}
		wg.Wait()
		if failed != nil {
			return failed
		}
		var ans bytes.Buffer
		if err := challenge.Answer(&ans, groups, bytes.NewReader(outboard), size, rs); err != nil {
			return err
		}
		return reply(req, size, int64(ans.Len()), ans.Bytes())
	})
	ctx, cancel := context.WithTimeout(t.Context(), clientTimeout)
	defer cancel()
	body, err := relay.Client.Outboard(ctx, from, id)
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	if outboard, err = io.ReadAll(body); err != nil {
		t.Fatal(err)
	}
	return relay
}

// groupsAt is a blob's bytes where only some groups are known, keyed by
// their offset: what a relay fetched for one answer.
type groupsAt map[int64][]byte

func (g groupsAt) ReadAt(p []byte, off int64) (int, error) {
	start := off - off%challenge.GroupSize
	b, ok := g[start]
	if !ok {
		return 0, fmt.Errorf("group at %d not fetched", start)
	}
	n := copy(p, b[off-start:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// getAll reads length bytes at off of blob id from t.
func getAll(ctx context.Context, c *wire.Client, t wire.Target, id cid.CID, off, length int64) ([]byte, error) {
	body, err := c.Get(ctx, t, id, off, length)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	return io.ReadAll(body)
}
