package gateway

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"

	"dstor/gatewayd/gateway/locate"
	"dstor/shared/choose"
	"dstor/shared/httpblob"
	"dstor/shared/identity"
	"dstor/shared/registry"
	"dstor/shared/serve"
	"dstor/shared/wire"
)

// Gateway is a running gateway.
type Gateway struct {
	cfg   Config
	log   *slog.Logger
	ca    *identity.CA
	key   ed25519.PrivateKey
	id    string
	pool  *x509.CertPool
	reg   registry.Registry
	nodes *members

	locator *locate.Locator
	view    atomic.Pointer[choose.View] // the latest decision view
	viewMu  sync.Mutex                  // serializes rebuilds
	pins    *pinCache
	metrics *metrics
	// date is the Date header of redirects, formatted once a second: left
	// to quic-go, every response formats its own, which also grows each
	// request's goroutine stack.
	date    httpblob.DateCache
	pullSem chan struct{} // bounds pull orders in flight

	srv    serve.Server
	client *wire.Client // uploads, pulls and proxied reads
	probes *wire.Client // probes, on connections of their own
	ready  chan struct{}
	bgCtx  context.Context // background work; ends when Run stops
	wg     sync.WaitGroup
}

// New validates cfg, loads (or creates) the CA and the gateway key, opens
// the registry and registers the bootstrap secrets. It does not listen.
func New(cfg Config) (*Gateway, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	ca, err := identity.LoadOrCreateCA(filepath.Join(cfg.Dir, "ca"))
	if err != nil {
		return nil, err
	}
	key, err := identity.LoadOrCreateKey(filepath.Join(cfg.Dir, "gateway.key"))
	if err != nil {
		return nil, err
	}
	loc, err := locate.New(cfg.Locate)
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	reg, err := registry.Open(context.Background(), cfg.Registry)
	if err != nil {
		loc.Close()
		return nil, err
	}
	g := &Gateway{
		cfg:     cfg,
		log:     cfg.Logger,
		ca:      ca,
		key:     key,
		id:      identity.ID(key.Public().(ed25519.PublicKey)),
		pool:    ca.Pool(),
		reg:     reg,
		locator: loc,
		nodes:   newMembers(cfg.now),
		pins:    newPinCache(cfg.now),
		metrics: newMetrics(),
		pullSem: make(chan struct{}, cfg.PullConcurrency),
		ready:   make(chan struct{}),
	}
	g.pins.spawn = g.background
	if err := g.bootstrap(context.Background()); err != nil {
		reg.Close()
		loc.Close()
		return nil, err
	}
	return g, nil
}

// Ready is closed once the gateway listens. If Run fails first it stays
// open: wait on Run's result too.
func (g *Gateway) Ready() <-chan struct{} { return g.ready }

// Addr is the bound host:port; valid once Ready is closed.
func (g *Gateway) Addr() string {
	host, _, _ := net.SplitHostPort(g.cfg.Listen)
	return net.JoinHostPort(host, strconv.Itoa(g.srv.Port()))
}

// CAPEM is the CA certificate that clients and nodes trust.
func (g *Gateway) CAPEM() []byte { return g.ca.CertPEM }

// Run listens and serves until ctx ends, then shuts down and closes the
// registry.
func (g *Gateway) Run(ctx context.Context) error {
	defer g.reg.Close()
	defer g.locator.Close()
	bgCtx, stopBg := context.WithCancel(ctx)
	defer stopBg()
	g.bgCtx = bgCtx
	if err := g.srv.Listen(g.cfg.Listen); err != nil {
		return fmt.Errorf("gateway: listen: %w", err)
	}
	if err := g.start(ctx); err != nil {
		g.srv.Close()
		return err
	}
	g.background(g.probeLoop)
	g.log.Info("gateway serving", "id", g.id, "addr", g.Addr(), "region", g.cfg.Region)
	close(g.ready)
	err := g.srv.Serve(ctx)
	stopBg()
	g.wg.Wait()
	g.client.Close()
	g.probes.Close()
	return err
}

// start issues the gateway's certificate for the bound address and loads
// the node list.
func (g *Gateway) start(ctx context.Context) error {
	host, _, _ := net.SplitHostPort(g.cfg.Listen)
	hosts := append([]string{host, "localhost", "127.0.0.1", "::1"}, g.cfg.Hosts...)
	certPEM, err := g.ca.Issue(g.key.Public().(ed25519.PublicKey), identity.RoleGateway, hosts)
	if err != nil {
		return err
	}
	cert, err := identity.KeyPair(certPEM, g.key)
	if err != nil {
		return err
	}
	g.client = wire.NewClient(cert, g.pool)
	g.probes = wire.NewClient(cert, g.pool)
	if err := g.loadNodes(ctx); err != nil {
		g.client.Close()
		g.probes.Close()
		return err
	}
	g.srv.Handler = g.httpHandler()
	g.srv.Wire = g.wireMux()
	g.srv.Cert = cert
	g.srv.Pool = g.pool
	g.srv.Logger = g.log
	g.srv.ResetKey = serve.ResetKeyFrom(g.key.Seed())
	return nil
}

// loadNodes fills the membership view from the registry; nodes start down
// until their first probe answers.
func (g *Gateway) loadNodes(ctx context.Context) error {
	ns, err := g.reg.Nodes(ctx)
	if err != nil {
		return err
	}
	for _, n := range ns {
		g.nodes.upsert(n, false)
	}
	// auditd's verdicts: suspended nodes get no new pins, disqualified
	// ones nothing at all.
	if reps, err := g.reg.Reputations(ctx); err == nil {
		for _, r := range reps {
			g.nodes.setStanding(r.NodeID, r.Status)
		}
	} else {
		g.log.Warn("load reputations", "err", err)
	}
	g.rebuildView()
	return nil
}
