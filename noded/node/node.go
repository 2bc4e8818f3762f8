package node

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"dstor/noded/store"
	"dstor/shared/cid"
	"dstor/shared/httpblob"
	"dstor/shared/identity"
	"dstor/shared/serve"
	"dstor/shared/wire"
)

// Node is a running storage node.
type Node struct {
	cfg   Config
	log   *slog.Logger
	key   ed25519.PrivateKey
	id    string
	pool  *x509.CertPool
	store store.Store
	cache *cache

	srv     serve.Server
	client  *wire.Client
	gateway wire.Target
	loads   singleflight.Group // disk reads into the cache, one per CID
	rtts    rttTable
	date    httpblob.DateCache
	bufPools

	mu        sync.Mutex
	transfers map[cid.CID]*transfer // peer fetches in progress

	url      string
	ready    chan struct{}
	bg       sync.WaitGroup // repairs and the scrub
	bgCtx    context.Context
	inFlight atomic.Int64
	served   atomic.Int64 // bytes sent to clients and peers
	egress   egress       // the same, per blob, until an auditor takes them
	scrubMu  sync.Mutex   // one scrub pass at a time
}

// New validates cfg, opens the store and loads (or creates) the node key.
// It does not listen: Run does.
func New(cfg Config) (*Node, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	pool, err := identity.LoadPool(cfg.CAFile)
	if err != nil {
		return nil, err
	}
	key, err := identity.LoadOrCreateKey(filepath.Join(cfg.Dir, "node.key"))
	if err != nil {
		return nil, err
	}
	st := cfg.Store
	if st == nil {
		d, err := store.OpenDisk(filepath.Join(cfg.Dir, "store"))
		if err != nil {
			return nil, err
		}
		st = d
	}
	if cfg.Reserve == 0 {
		capacity, _, err := st.Space()
		if err != nil {
			st.Close()
			return nil, err
		}
		cfg.Reserve = reserveFor(capacity)
	}
	gw, _ := url.Parse(cfg.Gateway)
	n := &Node{
		cfg:       cfg,
		log:       cfg.Logger,
		key:       key,
		id:        identity.ID(key.Public().(ed25519.PublicKey)),
		pool:      pool,
		store:     st,
		cache:     newCache(cfg.CacheBytes),
		gateway:   wire.Target{Addr: gw.Host, Peer: identity.Peer{Role: identity.RoleGateway}},
		transfers: make(map[cid.CID]*transfer),
		ready:     make(chan struct{}),
		bufPools:  newBufPools(),
	}
	return n, nil
}

// ID is the node's identity, derived from its key.
func (n *Node) ID() string { return n.id }

// URL is the node's public base URL; valid once Ready is closed.
func (n *Node) URL() string { return n.url }

// Ready is closed once the node listens and has joined the network. If Run
// fails first it stays open: wait on Run's result too.
func (n *Node) Ready() <-chan struct{} { return n.ready }

// Run listens, enrolls with the gateway and serves until ctx ends.
func (n *Node) Run(ctx context.Context) error {
	defer n.store.Close()
	defer n.cache.close()
	n.srv.Handler = n.httpHandler()
	n.srv.Wire = n.wireMux()
	n.srv.Pool = n.pool
	n.srv.Logger = n.log
	n.srv.ResetKey = serve.ResetKeyFrom(n.key.Seed())
	if err := n.srv.Listen(n.cfg.Listen); err != nil {
		return fmt.Errorf("node: listen: %w", err)
	}
	n.url = "https://" + net.JoinHostPort(n.cfg.Advertise, strconv.Itoa(n.srv.Port()))
	cert, err := n.enroll(ctx)
	if err != nil {
		n.srv.Close()
		return err
	}
	n.srv.Cert = cert
	n.client = wire.NewClient(cert, n.pool)
	n.client.LocalIP = sourceIP(n.cfg.Listen)
	defer n.client.Close()
	bgCtx, stopBg := context.WithCancel(context.WithoutCancel(ctx))
	n.bgCtx = bgCtx
	if n.cfg.ScrubInterval > 0 {
		n.bg.Add(1)
		go func() {
			defer n.bg.Done()
			n.scrubLoop(bgCtx)
		}()
	}
	// A warm connection to the gateway: the first miss then costs no
	// handshake before the holder lookup (keep-alives hold it open).
	n.background(func(ctx context.Context) {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		n.client.Ping(pctx, n.gateway)
	})
	n.log.Info("node serving", "id", n.id, "region", n.cfg.Region, "url", n.url, "blobs", n.store.Count())
	close(n.ready)
	err = n.srv.Serve(ctx)
	stopBg()
	n.bg.Wait()
	return err
}

// sourceIP is the address outgoing dstor/1 connections come from: the
// listen IP when the node listens on one, so peers and gateways see the
// node's own address (on a loopback cluster, which node is talking);
// otherwise the kernel's choice.
func sourceIP(listen string) netip.Addr {
	host, _, _ := net.SplitHostPort(listen)
	ip, err := netip.ParseAddr(host)
	if err != nil || ip.IsUnspecified() {
		return netip.Addr{}
	}
	return ip.Unmap()
}

// background runs f as a background task that shutdown waits for.
func (n *Node) background(f func(ctx context.Context)) {
	n.bg.Add(1)
	go func() {
		defer n.bg.Done()
		f(n.bgCtx)
	}()
}
