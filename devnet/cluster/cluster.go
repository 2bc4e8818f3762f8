// Package cluster runs a dStor cluster on loopback as real processes: one
// gatewayd and noded processes in several regions, each with its state in
// its own directory. `make run` and the end-to-end tests both use it, so
// the tests exercise exactly what users run.
package cluster

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"dstor/shared/api"
	"dstor/shared/identity"
	"dstor/shared/latency"
)

// Config describes a cluster. Zero values take the documented defaults.
type Config struct {
	// Bin is the directory holding the gatewayd and noded binaries.
	Bin string
	// Dir is the state directory (default .dstor).
	Dir string
	// Gateway is the gateway's host:port (default 127.0.0.1:8443).
	Gateway string
	// Regions are the node regions (default eu-west, us-east, ap-south).
	Regions []string
	// NodesPerRegion (default 2).
	NodesPerRegion int
	// NodePort is the first node port; node i listens on NodePort+i.
	// 0 lets each node pick a free port.
	NodePort int
	// ProbeInterval is passed to the gateway (default: its own default).
	ProbeInterval time.Duration
	// GatewayArgs are extra gatewayd flags, after the cluster's own, such
	// as "-replicas", "3".
	GatewayArgs []string
	// NodeArgs are extra noded flags, after the cluster's own (so they
	// override them), such as "-cache-bytes", "4294967296".
	NodeArgs []string
	// Auditors is how many auditd processes to run on the gateway's
	// registry (default none), with AuditorArgs as extra flags.
	Auditors    int
	AuditorArgs []string
	// Logs receives every daemon's log lines, prefixed with its name
	// (default: only the files under Dir/logs).
	Logs io.Writer
	// Latency, when set, puts every node behind a latency proxy so the
	// loopback cluster behaves like this map of the world: node i listens
	// on its own loopback IP (and sends from it), and advertises its
	// proxy's IP on the same port, so the gateway's probes, client reads
	// (HTTP/3 and HTTPS) and peer fetches all cross a proxy. See
	// (*Cluster).NodeIPs for the addresses.
	Latency *latency.World
}

// Env is what a client needs to use the cluster; cluster.env holds it.
type Env struct {
	Gateway string // DSTOR_GATEWAY, https://host:port
	APIKey  string // DSTOR_API_KEY
	CA      string // DSTOR_CA, path of the CA's PEM
}

// Proc is one daemon process.
type Proc struct {
	Name   string
	Region string
	Dir    string
	bin    string
	args   []string
	cmd    *exec.Cmd
	done   chan struct{}
	err    error

	// Nodes only:
	id    string         // from its key, once read
	url   string         // as the gateway lists it, once known
	ip    netip.Addr     // the node's own IP, with Config.Latency
	proxy *latency.Proxy // in front of it, with Config.Latency
}

// Pid is the process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Signal sends sig to the process.
func (p *Proc) Signal(sig syscall.Signal) error { return p.cmd.Process.Signal(sig) }

// Wait waits for the process to exit.
func (p *Proc) Wait() error {
	<-p.done
	return p.err
}

// Cluster is a running cluster.
type Cluster struct {
	cfg      Config
	Env      Env
	Gateway  *Proc
	Nodes    []*Proc
	Auditors []*Proc
	client   *http.Client
	logs     sync.Mutex
	world    *world // with Config.Latency
	slots    int    // nodes started, fake ones too: the next one's port and IP
	fakes    []*Proc
}

func (c *Config) defaults() error {
	if c.Bin == "" {
		return errors.New("cluster: Bin is required")
	}
	if c.Dir == "" {
		c.Dir = ".dstor"
	}
	if c.Gateway == "" {
		c.Gateway = "127.0.0.1:8443"
	}
	if len(c.Regions) == 0 {
		c.Regions = []string{"eu-west", "us-east", "ap-south"}
	}
	if c.NodesPerRegion == 0 {
		c.NodesPerRegion = 2
	}
	if c.Latency != nil {
		return c.Latency.Validate()
	}
	return nil
}

// Start starts the gateway, waits until it answers, starts the nodes and
// waits until the gateway sees every node up, then writes Dir/cluster.env.
// On error everything started is stopped.
func Start(ctx context.Context, cfg Config) (c *Cluster, err error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, err
	}
	cfg.Dir = dir
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o700); err != nil {
		return nil, err
	}
	c = &Cluster{cfg: cfg}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()
	gwDir := filepath.Join(dir, "gateway")
	c.Env = Env{
		Gateway: "https://" + cfg.Gateway,
		CA:      filepath.Join(gwDir, "ca", "ca.pem"),
	}
	args := []string{
		"-dir", gwDir,
		"-listen", cfg.Gateway,
		"-region", cfg.Regions[0],
		"-api-key-file", filepath.Join(gwDir, "api-key"),
		"-enroll-token-file", filepath.Join(gwDir, "enroll-token"),
	}
	if cfg.ProbeInterval > 0 {
		args = append(args, "-probe-interval", cfg.ProbeInterval.String())
	}
	args = append(args, cfg.GatewayArgs...)
	if c.Gateway, err = c.start("gatewayd", "gateway", cfg.Regions[0], gwDir, args); err != nil {
		return c, err
	}
	if err := c.waitHealthy(ctx); err != nil {
		return c, err
	}
	key, err := os.ReadFile(filepath.Join(gwDir, "api-key"))
	if err != nil {
		return c, err
	}
	c.Env.APIKey = strings.TrimSpace(string(key))
	if cfg.Latency != nil {
		c.world = newWorld(cfg.Latency)
	}
	for _, region := range cfg.Regions {
		for range cfg.NodesPerRegion {
			if _, err := c.startNode(region, nil); err != nil {
				return c, err
			}
		}
	}
	if err := c.WaitNodes(ctx, len(c.Nodes)); err != nil {
		return c, err
	}
	if err := c.learnURLs(); err != nil {
		return c, err
	}
	for i := range cfg.Auditors {
		if _, err := c.StartAuditor(fmt.Sprintf("auditor-%d", i), cfg.AuditorArgs...); err != nil {
			return c, err
		}
	}
	return c, c.writeEnv()
}

// StartAuditor starts an auditd named name on the gateway's registry,
// with extra flags after the cluster's own, and appends it to c.Auditors.
func (c *Cluster) StartAuditor(name string, extra ...string) (*Proc, error) {
	gwDir := filepath.Join(c.cfg.Dir, "gateway")
	args := append([]string{
		"-dir", filepath.Join(c.cfg.Dir, name),
		"-registry", filepath.Join(gwDir, "registry.db"),
		"-gateway", c.Env.Gateway,
		"-ca", c.Env.CA,
		"-enroll-token-file", filepath.Join(gwDir, "enroll-token"),
	}, extra...)
	p, err := c.start("auditd", name, "", filepath.Join(c.cfg.Dir, name), args)
	if err != nil {
		return nil, err
	}
	c.Auditors = append(c.Auditors, p)
	return p, nil
}

// startNode starts node number len(c.Nodes) in region, with extra flags
// after the cluster's own, and appends it to c.Nodes.
func (c *Cluster) startNode(region string, extra []string) (*Proc, error) {
	args := []string{
		// A dev cluster shares one disk: keep a small reserve and
		// cache so it runs on a small machine.
		"-reserve", strconv.Itoa(256 << 20),
		"-cache-bytes", strconv.Itoa(256 << 20),
	}
	args = append(append(args, c.cfg.NodeArgs...), extra...)
	p, err := c.startNodeLike("noded", fmt.Sprintf("node-%d", len(c.Nodes)), region, args)
	if err != nil {
		return nil, err
	}
	c.Nodes = append(c.Nodes, p)
	return p, nil
}

// startNodeLike starts bin (noded, or a node of the tests' making) as
// the cluster's next node in region: its own directory, the gateway's
// CA and enrollment token, a port (Config.NodePort) and, with
// Config.Latency, its own loopback IP behind a latency proxy. extra
// flags come after these.
func (c *Cluster) startNodeLike(bin, name, region string, extra []string) (*Proc, error) {
	i := c.slots
	listen := "127.0.0.1:0"
	if c.cfg.NodePort > 0 {
		listen = "127.0.0.1:" + strconv.Itoa(c.cfg.NodePort+i)
	}
	gwDir := filepath.Join(c.cfg.Dir, "gateway")
	nd := filepath.Join(c.cfg.Dir, name)
	args := []string{
		"-dir", nd,
		"-listen", listen,
		"-region", region,
		"-gateway", c.Env.Gateway,
		"-ca", c.Env.CA,
		"-enroll-token-file", filepath.Join(gwDir, "enroll-token"),
	}
	var ip netip.Addr
	var proxy *latency.Proxy
	if c.world != nil {
		var err error
		if ip, proxy, err = c.world.place(i, region, c.cfg.NodePort); err != nil {
			return nil, err
		}
		args[3] = netip.AddrPortFrom(ip, proxy.Addr().Port()).String()
		args = append(args, "-advertise", proxy.Addr().Addr().String())
	}
	p, err := c.start(bin, name, region, nd, append(args, extra...))
	if err != nil {
		if proxy != nil {
			proxy.Close()
		}
		return nil, err
	}
	c.slots++
	p.ip, p.proxy = ip, proxy
	if proxy != nil {
		p.url = "https://" + proxy.Addr().String()
	}
	return p, nil
}

// start launches one daemon with its output in Dir/logs/<name>.log (and
// in cfg.Logs).
func (c *Cluster) start(bin, name, region, dir string, args []string) (*Proc, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	p := &Proc{Name: name, Region: region, Dir: dir, bin: bin, args: args}
	return p, c.launch(p)
}

// launch starts p's process.
func (c *Cluster) launch(p *Proc) error {
	logf, err := os.OpenFile(filepath.Join(c.cfg.Dir, "logs", p.Name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(c.cfg.Bin, p.bin), p.args...)
	var out io.Writer = logf
	if c.cfg.Logs != nil {
		out = io.MultiWriter(logf, &prefixWriter{mu: &c.logs, w: c.cfg.Logs, prefix: p.Name + " | "})
	}
	cmd.Stdout, cmd.Stderr = out, out
	// Daemons die with the launcher, even one killed without a chance to
	// stop them (a test binary killed on timeout, kill -9 of devnet).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	p.cmd, p.done, p.err = cmd, make(chan struct{}), nil
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return nil
}

// Restart starts an exited daemon again with the same flags and state.
func (c *Cluster) Restart(p *Proc) error {
	select {
	case <-p.done:
	default:
		return fmt.Errorf("cluster: %s is still running", p.Name)
	}
	return c.launch(p)
}

// HTTPClient trusts the cluster's CA and does not follow redirects.
func (c *Cluster) HTTPClient() (*http.Client, error) {
	if c.client != nil {
		return c.client, nil
	}
	pool, err := identity.LoadPool(c.Env.CA)
	if err != nil {
		return nil, err
	}
	c.client = &http.Client{
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
		Timeout: 10 * time.Second,
	}
	return c.client, nil
}

func (c *Cluster) waitHealthy(ctx context.Context) error {
	return c.poll(ctx, 60*time.Second, func() error {
		if _, err := os.Stat(c.Env.CA); err != nil {
			return err
		}
		hc, err := c.HTTPClient()
		if err != nil {
			return err
		}
		resp, err := hc.Get(c.Env.Gateway + "/healthz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("healthz: %s", resp.Status)
		}
		return nil
	})
}

// NodesView returns the gateway's GET /v1/nodes.
func (c *Cluster) NodesView() ([]api.Node, error) {
	hc, err := c.HTTPClient()
	if err != nil {
		return nil, err
	}
	resp, err := hc.Get(c.Env.Gateway + "/v1/nodes")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var nr api.NodesResponse
	if err := json.NewDecoder(resp.Body).Decode(&nr); err != nil {
		return nil, err
	}
	return nr.Nodes, nil
}

// WaitNodes waits until the gateway reports exactly want nodes up.
func (c *Cluster) WaitNodes(ctx context.Context, want int) error {
	return c.poll(ctx, 60*time.Second, func() error {
		ns, err := c.NodesView()
		if err != nil {
			return err
		}
		up := 0
		for _, n := range ns {
			if n.State == "up" {
				up++
			}
		}
		if up != want {
			return fmt.Errorf("%d of %d nodes up", up, want)
		}
		return nil
	})
}

func (c *Cluster) poll(ctx context.Context, limit time.Duration, f func() error) error {
	deadline := time.Now().Add(limit)
	for {
		err := f()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cluster: gave up after %s: %w", limit, err)
		}
		if c.Gateway != nil {
			select {
			case <-c.Gateway.done:
				return fmt.Errorf("cluster: gatewayd exited: %v (see %s)", c.Gateway.err, filepath.Join(c.cfg.Dir, "logs", "gateway.log"))
			default:
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// writeEnv writes Dir/cluster.env for `source`.
func (c *Cluster) writeEnv() error {
	s := fmt.Sprintf("DSTOR_GATEWAY=%s\nDSTOR_API_KEY=%s\nDSTOR_CA=%s\n", c.Env.Gateway, c.Env.APIKey, c.Env.CA)
	path := filepath.Join(c.cfg.Dir, "cluster.env")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(s), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Stop asks every daemon to shut down (SIGTERM, and SIGCONT for paused
// ones), nodes first, and kills those still running after 10 s. Then it
// closes the latency proxies and removes cluster.env.
func (c *Cluster) Stop() {
	os.Remove(filepath.Join(c.cfg.Dir, "cluster.env"))
	procs := append(append(append([]*Proc{}, c.Auditors...), c.fakes...), c.Nodes...)
	if c.Gateway != nil {
		procs = append(procs, c.Gateway)
	}
	for _, p := range procs {
		if p.cmd == nil {
			continue
		}
		p.Signal(syscall.SIGTERM)
		p.Signal(syscall.SIGCONT)
	}
	timeout := time.After(10 * time.Second)
	for _, p := range procs {
		if p.cmd == nil {
			continue
		}
		select {
		case <-p.done:
		case <-timeout:
			p.Signal(syscall.SIGKILL)
			<-p.done
		}
	}
	for _, p := range append(c.fakes, c.Nodes...) {
		if p.proxy != nil {
			p.proxy.Close()
		}
	}
}

// prefixWriter prefixes each line written to w.
type prefixWriter struct {
	mu     *sync.Mutex
	w      io.Writer
	prefix string
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := strings.IndexByte(string(p.buf), '\n')
		if i < 0 {
			break
		}
		io.WriteString(p.w, p.prefix+string(p.buf[:i+1]))
		p.buf = p.buf[i+1:]
	}
	return len(b), nil
}
