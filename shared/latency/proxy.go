package latency

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures a Proxy. Zero values take the documented defaults.
type Config struct {
	// Listen is the host:port the proxy listens on (UDP, and TCP with
	// TCP set). Port 0 picks a free one.
	Listen string
	// Target is the host:port packets are forwarded to. Port 0 means the
	// proxy's own port (the target then listens on another IP).
	Target string
	// Default is the profile of clients that Route does not place.
	Default Profile
	// Route chooses a client's profile by its source address (nil: every
	// client gets Default).
	Route RouteFunc
	// TCP also forwards TCP connections on the same port, with the same
	// delay and jitter (in order: a stream cannot reorder) and no loss.
	TCP bool
	// KeepOrder keeps each client's packets in order in each direction:
	// jitter then only delays a packet to no earlier than the one before.
	// By default jitter may reorder packets, as real paths do.
	KeepOrder bool
	// IdleTimeout is how long a client may send nothing, either way,
	// before its upstream socket is closed (default 2 minutes).
	IdleTimeout time.Duration
	// Logger is optional.
	Logger *slog.Logger
}

// Stats counts what a proxy did, both directions together.
type Stats struct {
	Forwarded uint64 // packets sent on
	Dropped   uint64 // packets lost on purpose (Profile.Loss)
	Clients   int    // client addresses with an upstream socket now
}

// Proxy forwards UDP datagrams between clients and one target, delaying
// and dropping them by profile. Each client address gets its own upstream
// socket, so the target sees distinct peers and its answers find their
// way back. It is safe for concurrent use.
type Proxy struct {
	cfg      Config
	log      *slog.Logger
	conn     *net.UDPConn
	tcp      *net.TCPListener
	addr     netip.AddrPort
	target   netip.AddrPort
	local    *net.UDPAddr // where upstream sockets bind: the listen IP
	start    time.Time
	routing  atomic.Pointer[routing] // read per packet
	routeMu  sync.Mutex              // serializes changes
	bufs     bufPool
	toTarget *queue // client to target
	toClient *queue // target to client

	forwarded, dropped atomic.Uint64

	mu       sync.Mutex
	clients  map[netip.AddrPort]*flow
	tcpConns map[net.Conn]struct{}
	closed   bool

	done      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
}

type routing struct {
	def   Profile
	route RouteFunc
}

// flow is one client: its address and its socket towards the target.
type flow struct {
	client netip.AddrPort
	up     *net.UDPConn // connected to the target
	last   atomic.Int64 // when a packet last passed, either way
	// lastDue is the due time of the last queued packet per direction;
	// each is touched by one reading goroutine only.
	lastDue [2]int64
}

type direction int

const (
	toTarget direction = iota
	toClient
)

// Listen binds the proxy and starts forwarding; Close stops it.
func Listen(cfg Config) (*Proxy, error) {
	if err := cfg.Default.Validate(); err != nil {
		return nil, err
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 2 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	conn, tcp, err := bind(cfg.Listen, cfg.TCP)
	if err != nil {
		return nil, err
	}
	addr := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	addr = netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())
	target, err := resolveTarget(cfg.Target, addr.Port())
	if err != nil {
		conn.Close()
		if tcp != nil {
			tcp.Close()
		}
		return nil, err
	}
	p := &Proxy{
		cfg:      cfg,
		log:      cfg.Logger,
		conn:     conn,
		tcp:      tcp,
		addr:     addr,
		target:   target,
		start:    time.Now(),
		clients:  make(map[netip.AddrPort]*flow),
		tcpConns: make(map[net.Conn]struct{}),
		done:     make(chan struct{}),
	}
	if ip := addr.Addr(); !ip.IsUnspecified() {
		p.local = &net.UDPAddr{IP: ip.AsSlice()}
	}
	p.routing.Store(&routing{def: cfg.Default, route: cfg.Route})
	p.toTarget = newQueue(p.now, func(pk *packet) { p.deliver(toTarget, pk.f, *pk.buf); p.bufs.put(pk.buf) })
	p.toClient = newQueue(p.now, func(pk *packet) { p.deliver(toClient, pk.f, *pk.buf); p.bufs.put(pk.buf) })
	p.goFunc(func() { p.toTarget.run(p.done, p.bufs.put) })
	p.goFunc(func() { p.toClient.run(p.done, p.bufs.put) })
	p.goFunc(p.readClients)
	p.goFunc(p.reapIdle)
	if tcp != nil {
		p.goFunc(p.acceptTCP)
	}
	return p, nil
}

// bind listens on UDP and, with tcp, on TCP at the same port; with port 0
// it picks a port free on both.
func bind(addr string, tcp bool) (*net.UDPConn, *net.TCPListener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("latency: listen: %w", err)
	}
	for range 20 {
		ua, err := net.ResolveUDPAddr("udp", net.JoinHostPort(host, port))
		if err != nil {
			return nil, nil, fmt.Errorf("latency: listen: %w", err)
		}
		conn, err := net.ListenUDP("udp", ua)
		if err != nil {
			return nil, nil, fmt.Errorf("latency: listen: %w", err)
		}
		setBuffers(conn)
		if !tcp {
			return conn, nil, nil
		}
		p := conn.LocalAddr().(*net.UDPAddr).Port
		ta, _ := net.ResolveTCPAddr("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
		l, err := net.ListenTCP("tcp", ta)
		if err == nil {
			return conn, l, nil
		}
		conn.Close()
		if port != "0" {
			return nil, nil, fmt.Errorf("latency: listen: %w", err)
		}
	}
	return nil, nil, fmt.Errorf("latency: no port free on both UDP and TCP on %s", host)
}

func resolveTarget(target string, ownPort uint16) (netip.AddrPort, error) {
	ua, err := net.ResolveUDPAddr("udp", target)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("latency: target: %w", err)
	}
	ap := ua.AddrPort()
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	if ap.Port() == 0 {
		ap = netip.AddrPortFrom(ap.Addr(), ownPort)
	}
	return ap, nil
}

// Addr is the address the proxy listens on.
func (p *Proxy) Addr() netip.AddrPort { return p.addr }

// Target is the address the proxy forwards to.
func (p *Proxy) Target() netip.AddrPort { return p.target }

// SetDefault changes the profile of clients that the route does not
// place. Packets already queued keep their due times.
func (p *Proxy) SetDefault(d Profile) error {
	if err := d.Validate(); err != nil {
		return err
	}
	p.routeMu.Lock()
	defer p.routeMu.Unlock()
	p.routing.Store(&routing{def: d, route: p.routing.Load().route})
	return nil
}

// SetRoute changes how clients are placed (nil: all get the default).
func (p *Proxy) SetRoute(r RouteFunc) {
	p.routeMu.Lock()
	defer p.routeMu.Unlock()
	p.routing.Store(&routing{def: p.routing.Load().def, route: r})
}

// Stats returns the counters so far.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	n := len(p.clients)
	p.mu.Unlock()
	return Stats{Forwarded: p.forwarded.Load(), Dropped: p.dropped.Load(), Clients: n}
}

// Close stops forwarding, closes every socket and waits for the proxy's
// goroutines to end. Queued packets are dropped.
func (p *Proxy) Close() error {
	p.closeOnce.Do(func() {
		close(p.done)
		p.conn.Close()
		if p.tcp != nil {
			p.tcp.Close()
		}
		p.mu.Lock()
		p.closed = true
		for _, f := range p.clients {
			f.up.Close()
		}
		clear(p.clients)
		for c := range p.tcpConns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return nil
}

func (p *Proxy) goFunc(f func()) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		f()
	}()
}

// now is the proxy's monotonic clock in nanoseconds.
func (p *Proxy) now() int64 { return int64(time.Since(p.start)) }

// profile is the current profile for a client.
func (p *Proxy) profile(client netip.AddrPort) Profile {
	r := p.routing.Load()
	if r.route != nil {
		if prof, ok := r.route(client); ok {
			return prof
		}
	}
	return r.def
}

// readClients reads what clients send and passes it on towards the target.
func (p *Proxy) readClients() {
	buf := make([]byte, maxDatagram)
	for {
		n, src, err := p.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
		f, err := p.flow(src)
		if err != nil {
			p.log.Warn("latency: upstream socket", "client", src, "err", err)
			continue
		}
		if f != nil {
			p.forward(toTarget, f, buf[:n])
		}
	}
}

// flow returns the client's flow, opening its upstream socket and
// starting its reader on first use; nil once closed.
func (p *Proxy) flow(client netip.AddrPort) (*flow, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, nil
	}
	if f := p.clients[client]; f != nil {
		return f, nil
	}
	up, err := net.DialUDP("udp", p.local, net.UDPAddrFromAddrPort(p.target))
	if err != nil {
		return nil, err
	}
	setBuffers(up)
	f := &flow{client: client, up: up}
	f.last.Store(p.now())
	p.clients[client] = f
	p.goFunc(func() { p.readTarget(f) })
	return f, nil
}

// readTarget reads the target's answers to one client and passes them on.
func (p *Proxy) readTarget(f *flow) {
	buf := make([]byte, maxDatagram)
	for {
		n, err := f.up.Read(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // ICMP port unreachable while the target is down
		}
		p.forward(toClient, f, buf[:n])
	}
}

// forward drops, queues or sends one datagram; b is only borrowed.
func (p *Proxy) forward(d direction, f *flow, b []byte) {
	now := p.now()
	f.last.Store(now)
	prof := p.profile(f.client)
	if prof.drop() {
		p.dropped.Add(1)
		return
	}
	if prof.zero() {
		p.deliver(d, f, b)
		return
	}
	due := now + int64(prof.oneWay())
	if p.cfg.KeepOrder {
		due = max(due, f.lastDue[d])
	}
	f.lastDue[d] = due
	q := p.toTarget
	if d == toClient {
		q = p.toClient
	}
	q.push(packet{due: due, buf: p.bufs.copyOf(b), f: f})
}

// deliver sends one datagram on; errors (the target down, the proxy
// closing) lose it, as a network would.
func (p *Proxy) deliver(d direction, f *flow, b []byte) {
	var err error
	if d == toTarget {
		_, err = f.up.Write(b)
	} else {
		_, err = p.conn.WriteToUDPAddrPort(b, f.client)
	}
	if err == nil {
		p.forwarded.Add(1)
	}
}

// reapIdle closes the upstream sockets of clients gone quiet.
func (p *Proxy) reapIdle() {
	tick := time.NewTicker(min(p.cfg.IdleTimeout/2, 10*time.Second))
	defer tick.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-tick.C:
		}
		idle := p.now() - int64(p.cfg.IdleTimeout)
		p.mu.Lock()
		for a, f := range p.clients {
			if f.last.Load() < idle {
				f.up.Close()
				delete(p.clients, a)
			}
		}
		p.mu.Unlock()
	}
}
