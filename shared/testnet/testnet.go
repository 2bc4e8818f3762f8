// Package testnet runs a whole dStor network in one test process: a
// gateway and storage nodes in several regions, each with its state in
// t.TempDir(), listening on loopback ports chosen by the kernel, logging
// to t.Log. It is the one package that imports every daemon, so tests and
// benchmarks can drive the real code paths (enrollment, probes, fan-out,
// reflection, peer fetch) without processes.
package testnet

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"dstor/gatewayd/gateway"
	"dstor/noded/node"
	"dstor/shared/cid"
)

// startTimeout bounds how long one daemon may take to become ready.
const startTimeout = 20 * time.Second

// Options describes a network. Zero values take the documented defaults.
type Options struct {
	// Regions are the node regions; the gateway is in the first, which is
	// therefore the region of every loopback client (default eu-west,
	// us-east, ap-south).
	Regions []string
	// NodesPerRegion is how many nodes each region has (default 2).
	NodesPerRegion int
	// Writes is the gateway's W (default: the gateway's, 3).
	Writes int
	// Replicas is the gateway's R (default: Writes, so blobs get no pulled
	// copies unless a test asks for them).
	Replicas int
	// ProbeInterval is how often the gateway probes the nodes (default
	// 1 s: a probe may take half of it, which a loaded machine running
	// the race detector needs; a stopped node is down within 3 s).
	ProbeInterval time.Duration
	// Registry is the gateway's registry: a postgres:// DSN, or empty for
	// SQLite in the gateway's directory. Gateways added with AddGateway
	// share it.
	Registry string
	// CacheBytes bounds each node's hot cache (default: the node's;
	// negative disables it).
	CacheBytes int64
	// GatewayConfig, when set, adjusts each gateway's config before it
	// starts.
	GatewayConfig func(cfg *gateway.Config)
	// NodeConfig, when set, adjusts each node's config before it starts
	// (name as in Node.Name). Nodes keep no free-space reserve unless it
	// sets one, so tests do not depend on the machine's free disk.
	NodeConfig func(name string, cfg *node.Config)
}

func (o *Options) defaults() {
	if len(o.Regions) == 0 {
		o.Regions = []string{"eu-west", "us-east", "ap-south"}
	}
	if o.NodesPerRegion == 0 {
		o.NodesPerRegion = 2
	}
	if o.Replicas == 0 {
		o.Replicas = o.Writes
		if o.Writes == 0 {
			o.Replicas = 3
		}
	}
	if o.ProbeInterval == 0 {
		o.ProbeInterval = time.Second
	}
}

// Net is a running network.
type Net struct {
	Gateway    *gateway.Gateway
	GatewayDir string
	GatewayURL string // https://127.0.0.1:port
	APIKey     string
	CAFile     string // the CA's PEM, which nodes and clients trust
	Nodes      []*Node
	Options    Options

	t     testing.TB
	root  string
	pool  *x509.CertPool
	https *http.Client // shared by the helpers
	logs  *logSink

	gateways int    // added with AddGateway
	stopGW   func() // stops the first gateway
}

// Node is one running storage node.
type Node struct {
	*node.Node
	Name   string // as in log lines, such as "node-us-east-1"
	Region string
	Dir    string

	d *daemon
}

// Stop cancels the node's Run context and waits for Run to return. It may
// be called more than once.
func (n *Node) Stop() { n.d.stop() }

// BlobPath is where the node keeps blob id on disk.
func (n *Node) BlobPath(id cid.CID) string {
	d := id.Digest()
	return filepath.Join(n.Dir, "store", "blobs", fmt.Sprintf("%02x", d[0]), fmt.Sprintf("%02x", d[1]), fmt.Sprintf("%x", d[:]))
}

// HasOnDisk reports whether the node's store holds blob id.
func (n *Node) HasOnDisk(id cid.CID) bool {
	_, err := os.Stat(n.BlobPath(id))
	return err == nil
}

// daemon is one Run goroutine: stop cancels it and reports an error other
// than the context's through t.Error.
type daemon struct {
	t      testing.TB
	name   string
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

func run(t testing.TB, name string, fn func(context.Context) error) *daemon {
	ctx, cancel := context.WithCancel(context.Background())
	d := &daemon{t: t, name: name, cancel: cancel, done: make(chan error, 1)}
	go func() { d.done <- fn(ctx) }()
	return d
}

func (d *daemon) stop() {
	d.once.Do(func() {
		d.cancel()
		if err := <-d.done; err != nil && !errors.Is(err, context.Canceled) {
			d.t.Errorf("%s: Run: %v", d.name, err)
		}
	})
}

// waitReady waits for ready, failing the test if Run returns first.
func (d *daemon) waitReady(ready <-chan struct{}) {
	d.t.Helper()
	select {
	case <-ready:
	case err := <-d.done:
		d.done <- nil // reported here, not again by stop
		d.t.Fatalf("%s stopped before it was ready: %v", d.name, err)
	case <-time.After(startTimeout):
		d.t.Fatalf("%s not ready after %v", d.name, startTimeout)
	}
}

// startGateway runs a gateway with its state in dir, on the network's
// registry.
func (n *Net) startGateway(t testing.TB, name, dir, region string) (*gateway.Gateway, func()) {
	cfg := gateway.Config{
		Dir:             dir,
		Listen:          "127.0.0.1:0",
		Region:          region,
		Registry:        n.Options.Registry,
		Writes:          n.Options.Writes,
		Replicas:        n.Options.Replicas,
		ProbeInterval:   n.Options.ProbeInterval,
		APIKeyFile:      filepath.Join(dir, "api-key"),
		EnrollTokenFile: filepath.Join(dir, "enroll-token"),
		Logger:          n.logs.logger(name),
	}
	if n.Options.GatewayConfig != nil {
		n.Options.GatewayConfig(&cfg)
	}
	g, err := gateway.New(cfg)
	if err != nil {
		t.Fatalf("gateway.New: %v", err)
	}
	gd := run(t, name, g.Run)
	t.Cleanup(gd.stop)
	gd.waitReady(g.Ready())
	return g, gd.stop
}

// StopGateway stops the network's first gateway (the one Start ran) and
// waits for it to end.
func (n *Net) StopGateway() { n.stopGW() }

// AddGateway runs another gateway in region on the same registry and CA,
// as an anycast deployment has one per region, and returns its base URL.
// It serves the network's API key and knows every node from the registry.
func (n *Net) AddGateway(t testing.TB, region string) (*gateway.Gateway, string) {
	t.Helper()
	n.gateways++
	name := fmt.Sprintf("gateway-%d", n.gateways+1)
	dir := filepath.Join(n.root, name)
	if err := os.CopyFS(filepath.Join(dir, "ca"), os.DirFS(filepath.Join(n.GatewayDir, "ca"))); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"api-key", "enroll-token"} {
		b, err := os.ReadFile(filepath.Join(n.GatewayDir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	g, _ := n.startGateway(t, name, dir, region)
	return g, "https://" + g.Addr()
}

// Start runs a gateway and Regions x NodesPerRegion nodes and waits until
// the gateway sees every node up. Everything is stopped by t.Cleanup, the
// nodes before the gateway; a daemon whose Run fails fails the test.
func Start(t testing.TB, opt Options) *Net {
	t.Helper()
	opt.defaults()
	root := t.TempDir()
	logs := &logSink{t: t}
	t.Cleanup(logs.close) // runs last: nothing logs to t after this

	n := &Net{Options: opt, t: t, logs: logs, root: root, GatewayDir: filepath.Join(root, "gateway")}
	if opt.Registry == "" {
		n.Options.Registry = filepath.Join(n.GatewayDir, "registry.db")
	}
	n.Gateway, n.stopGW = n.startGateway(t, "gateway", n.GatewayDir, opt.Regions[0])
	n.GatewayURL = "https://" + n.Gateway.Addr()

	n.CAFile = filepath.Join(root, "ca.pem")
	if err := os.WriteFile(n.CAFile, n.Gateway.CAPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	n.pool = x509.NewCertPool()
	if !n.pool.AppendCertsFromPEM(n.Gateway.CAPEM()) {
		t.Fatal("gateway CA PEM holds no certificate")
	}
	n.https = n.HTTPClient()
	n.APIKey = readSecret(t, filepath.Join(n.GatewayDir, "api-key"))
	token := readSecret(t, filepath.Join(n.GatewayDir, "enroll-token"))

	for _, region := range opt.Regions {
		for i := range opt.NodesPerRegion {
			name := fmt.Sprintf("node-%s-%d", region, i)
			dir := filepath.Join(root, name)
			cfg := node.Config{
				Dir:         dir,
				Listen:      "127.0.0.1:0",
				Region:      region,
				Gateway:     n.GatewayURL,
				CAFile:      n.CAFile,
				EnrollToken: token,
				CacheBytes:  opt.CacheBytes,
				Reserve:     -1,
				Logger:      logs.logger(name),
			}
			if opt.NodeConfig != nil {
				opt.NodeConfig(name, &cfg)
			}
			nd, err := node.New(cfg)
			if err != nil {
				t.Fatalf("node.New %s: %v", name, err)
			}
			d := run(t, name, nd.Run)
			t.Cleanup(d.stop)
			n.Nodes = append(n.Nodes, &Node{Node: nd, Name: name, Region: region, Dir: dir, d: d})
		}
	}
	for _, nd := range n.Nodes {
		nd.d.waitReady(nd.Ready())
	}
	n.WaitLive(t, len(n.Nodes))
	return n
}

func readSecret(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// NodeByID returns the node with id, or nil.
func (n *Net) NodeByID(id string) *Node {
	for _, nd := range n.Nodes {
		if nd.ID() == id {
			return nd
		}
	}
	return nil
}

// Logged counts the log records of daemon (a Node's Name or "gateway"; ""
// for any) with message msg whose attributes include each key, value pair
// of kv, such as "cid", id.String().
func (n *Net) Logged(daemon, msg string, kv ...string) int {
	return n.logs.count(daemon, msg, kv)
}
