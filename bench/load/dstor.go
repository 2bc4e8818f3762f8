package load

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"

	"dstor/devnet/cluster"
	"dstor/shared/cid"
	"dstor/shared/identity"
	"dstor/shared/wire"
)

// dstorEnv is the dStor side: a cluster of real daemon processes on
// loopback (devnet/cluster), one more node the suite runs itself with a
// cache large enough for the large blob, and the blobs shared between
// measurements.
type dstorEnv struct {
	c     *cluster.Cluster
	dir   string
	pool  *x509.CertPool
	api   *Client // uploads and the gateway's views, one connection
	wire  *wire.Client
	procs []daemonNode
	big   *ownNode // the node with CacheBytes = BigCacheBytes
	seed  uint64   // makes every uploaded blob new
	log   func(format string, args ...any)

	smallBlob, bigBlob cid.CID
	verified           map[string]bool // node/cid read back whole and hashed
}

// daemonNode is a node process the suite can look into.
type daemonNode struct {
	id     string
	pid    int
	dir    string // its -dir
	log    string // its log file
	budget int64  // its cache budget
}

// env starts the cluster the first time a measurement needs it.
func (s *suite) env(ctx context.Context) (_ *dstorEnv, err error) {
	if s.dstor != nil {
		return s.dstor, nil
	}
	for _, b := range []string{"gatewayd", "noded"} {
		if _, err := os.Stat(filepath.Join(s.cfg.Bin, b)); err != nil {
			return nil, fmt.Errorf("no %s in %s (make bench builds it): %w", b, s.cfg.Bin, err)
		}
	}
	bin, err := filepath.Abs(s.cfg.Bin)
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(s.dir, "cluster")
	s.progress("starting a dStor cluster in %s", dir)
	c, err := cluster.Start(ctx, cluster.Config{
		Bin:           bin,
		Dir:           dir,
		Gateway:       "127.0.0.1:" + strconv.Itoa(port),
		ProbeInterval: s.cfg.ProbeInterval,
		NodeArgs:      []string{"-cache-bytes", strconv.FormatInt(s.cfg.CacheBytes, 10)},
		// R = W = 3: the peer-fetch cases need nodes that lack a blob, so
		// no pulls fill the other three.
		GatewayArgs: []string{"-replicas", "3"},
	})
	if err != nil {
		return nil, fmt.Errorf("start cluster: %w", err)
	}
	e := &dstorEnv{c: c, dir: dir, log: s.progress, verified: make(map[string]bool)}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	if e.pool, err = identity.LoadPool(c.Env.CA); err != nil {
		return nil, err
	}
	if e.api, err = newClient(e.pool, 1); err != nil {
		return nil, err
	}
	for _, p := range c.Nodes {
		id, err := nodeID(p.Dir)
		if err != nil {
			return nil, err
		}
		e.procs = append(e.procs, daemonNode{
			id: id, pid: p.Pid(), dir: p.Dir, log: filepath.Join(dir, "logs", p.Name+".log"), budget: s.cfg.CacheBytes,
		})
	}
	up, err := e.nodes(ctx)
	if err != nil {
		return nil, err
	}
	buffers := "unknown"
	if u, err := url.Parse(up[e.procs[0].id]); err == nil {
		if port, err := strconv.Atoi(u.Port()); err == nil {
			buffers = serverUDPBuffers(port)
		}
	}
	s.setup(fmt.Sprintf("dStor: gatewayd + %d noded processes (devnet/cluster, W=3, cache %s each), probes every %s; node %s UDP buffers",
		len(c.Nodes), sizeName(s.cfg.CacheBytes), s.cfg.ProbeInterval, buffers))
	s.dstor = e
	return e, nil
}

// pids are the process ids of every dStor daemon.
func (e *dstorEnv) pids() []int {
	pids := []int{e.c.Gateway.Pid()}
	for _, p := range e.procs {
		pids = append(pids, p.pid)
	}
	if e.big != nil {
		pids = append(pids, e.big.pid)
	}
	return pids
}

// nodeID is the id of the node whose state is in dir, from its key.
func nodeID(dir string) (string, error) {
	path := filepath.Join(dir, "node.key")
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("node key: %w", err)
	}
	key, err := identity.LoadOrCreateKey(path)
	if err != nil {
		return "", err
	}
	return identity.ID(key.Public().(ed25519.PublicKey)), nil
}

func (e *dstorEnv) close() {
	if e.big != nil {
		e.big.proc.stop()
	}
	if e.api != nil {
		e.api.Close()
	}
	if e.wire != nil {
		e.wire.Close()
	}
	e.c.Stop()
}

// blobPath is where node keeps blob id (the outboard adds ".obao"); see
// noded/store.
func (n daemonNode) blobPath(id cid.CID) string {
	d := id.Digest()
	return filepath.Join(n.dir, "store", "blobs", fmt.Sprintf("%02x", d[0]), fmt.Sprintf("%02x", d[1]), fmt.Sprintf("%x", d[:]))
}
