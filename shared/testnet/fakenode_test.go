package testnet

import (
	"context"
	"crypto/ed25519"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"dstor/devnet/adversary"
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

// startFakeNode runs a fake node in region that answers challenges with
// answer, and registers it in reg. Nothing else knows it: the gateway
// does not probe it or place blobs on it.
func (n *Net) startFakeNode(t *testing.T, reg registry.Registry, region string, answer adversary.Func) *fakeNode {
	t.Helper()
	ca, err := identity.LoadOrCreateCA(filepath.Join(n.GatewayDir, "ca"))
	if err != nil {
		t.Fatal(err)
	}
	cert, id, err := ca.NewIdentity(identity.RoleNode, []string{"127.0.0.1"})
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
		ID:     id,
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
			return answer(f.ID, req, cr)
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
	if err := reg.UpsertNode(context.Background(), registry.Node{ID: f.ID, Region: region, URL: f.URL, PublicKey: cert.PrivateKey.(ed25519.PrivateKey).Public().(ed25519.PublicKey)}); err != nil {
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
func (f *fakeNode) target(b *adversary.Blob) registry.AuditTarget {
	return registry.AuditTarget{CID: b.ID.String(), Size: b.Size, NodeID: f.ID, Region: f.Region, URL: f.URL}
}

// fetchBlob reads blob id and its outboard from the node at from.
func fetchBlob(t *testing.T, c *wire.Client, from wire.Target, id cid.CID) *adversary.Blob {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), clientTimeout)
	defer cancel()
	b, err := adversary.Fetch(ctx, c, from, id)
	if err != nil {
		t.Fatal(err)
	}
	return b
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
// holder at from (adversary.Relay).
func (n *Net) startRelay(t *testing.T, reg registry.Registry, id cid.CID, size int64, from wire.Target) *fakeNode {
	t.Helper()
	var answer adversary.Func // set before the relay is listed as a holder
	relay := n.startFakeNode(t, reg, "r1", func(self string, req *wire.Request, cr wire.ChallengeRequest) error {
		return answer(self, req, cr)
	})
	ctx, cancel := context.WithTimeout(t.Context(), clientTimeout)
	defer cancel()
	ob, err := adversary.FetchOutboard(ctx, relay.Client, from, id)
	if err != nil {
		t.Fatal(err)
	}
	answer = adversary.Relay(relay.Client, from, size, ob)
	return relay
}
