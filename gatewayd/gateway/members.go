package gateway

import (
	"net"
	"net/netip"
	"net/url"
	"sort"
	"sync"
	"time"

	"dstor/shared/choose"
	"dstor/shared/identity"
	"dstor/shared/registry"
	"dstor/shared/wire"
)

// Monitoring constants. A probe that misses makes a node suspect at once
// (it is then chosen only when nothing else is usable); missesToDown in a
// row make it down. Availability is an EWMA of outcomes: a successful
// probe moves it up by probeWeight, a missed one down by missWeight (one
// late probe on a busy machine is no reason to shun a node for long), a
// request (upload, pull, proxied read) by requestWeight. A node that goes
// down drops to downAvailability, so when it comes back it climbs to the
// usable floor over a few probes, and to full rank over about ten,
// instead of taking traffic at once. The RTT the gateway ranks by is an
// EWMA (rttWeight) of the probe connection's own estimate, so one slow
// round does not reorder a region.
const (
	missesToDown     = 2
	probeWeight      = 0.2
	missWeight       = 0.05
	requestWeight    = 0.05
	downAvailability = 0.3
	rttWeight        = 0.3
)

// nodeState is the gateway's view of one node.
type nodeState struct {
	registry.Node
	addr    string       // QUIC host:port from the URL
	net     netip.Prefix // the node's /24 (IPv4) or /48 (IPv6)
	up      bool         // answered one of its last missesToDown probes
	suspect bool         // missed its latest probe
	misses  int
	probed  bool // has answered a probe once (availability is meaningful)
	rtt     wire.RTT
	avail   float64   // availability, 0..1
	seen    time.Time // last successful probe
	status  wire.Status
	// standing is auditd's verdict: "" or registry.NodeActive,
	// NodeSuspended (no new pins) or NodeDisqualified (not used at all).
	standing string
}

func (n *nodeState) target() wire.Target {
	return wire.Target{Addr: n.addr, Peer: identity.Peer{Role: identity.RoleNode, ID: n.ID}}
}

// holder is the node as a wire.Holder (for pull orders and peer probes).
func (n *nodeState) holder() wire.Holder {
	return wire.Holder{ID: n.ID, Region: n.Region, URL: n.URL, Up: n.up}
}

// state is "up", "suspect" or "down".
func (n *nodeState) state() string {
	switch {
	case !n.up:
		return "down"
	case n.suspect:
		return "suspect"
	}
	return "up"
}

// members is the gateway's live view of the network, rebuilt from the
// registry and probes; it holds nothing that cannot be rebuilt.
type members struct {
	now func() time.Time

	mu    sync.RWMutex
	byID  map[string]*nodeState
	pairs map[[2]string]peerSample // node-to-peer RTTs the nodes reported
}

type peerSample struct {
	from, to string // regions
	rtt      time.Duration
	at       time.Time
}

func newMembers(now func() time.Time) *members {
	return &members{now: now, byID: make(map[string]*nodeState), pairs: make(map[[2]string]peerSample)}
}

// upsert adds or updates a node's registry record; up marks it live now
// (it just talked to us).
func (m *members) upsert(n registry.Node, up bool) {
	u, err := url.Parse(n.URL)
	if err != nil || u.Host == "" {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.byID[n.ID]
	if s == nil {
		s = &nodeState{}
		m.byID[n.ID] = s
	}
	s.Node, s.addr, s.net = n, u.Host, networkOf(u.Hostname())
	if up {
		s.up, s.suspect, s.misses, s.seen = true, false, 0, m.now()
		if !s.probed {
			s.probed, s.avail = true, 1
		}
	}
}

// networkOf is the /24 or /48 a node's host is in (zero if the name does
// not resolve).
func networkOf(host string) netip.Prefix {
	ip, err := netip.ParseAddr(host)
	if err != nil {
		if ips, err := net.LookupIP(host); err == nil && len(ips) > 0 {
			ip, _ = netip.AddrFromSlice(ips[0])
		}
	}
	return choose.NetOf(ip)
}

// setStanding records auditd's verdict on a node.
func (m *members) setStanding(id, standing string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.byID[id]; s != nil {
		s.standing = standing
	}
}

// observe records a probe's outcome and reports whether the node's state
// (up, suspect, down) changed.
func (m *members) observe(id string, rtt wire.RTT, st wire.Status, err error) (changed bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.byID[id]
	if s == nil {
		return false
	}
	was := s.state()
	if err != nil {
		s.misses++
		s.suspect = true
		s.avail = ewma(s.avail, 0, missWeight)
		if s.misses >= missesToDown {
			s.up = false
			s.avail = min(s.avail, downAvailability)
		}
		return was != s.state()
	}
	s.misses, s.up, s.suspect, s.seen, s.status = 0, true, false, m.now(), st
	if rtt.Smoothed > 0 {
		if s.rtt.Smoothed == 0 {
			s.rtt = rtt
		} else {
			s.rtt.Smoothed = time.Duration(ewma(float64(s.rtt.Smoothed), float64(rtt.Smoothed), rttWeight))
			s.rtt.Deviation = time.Duration(ewma(float64(s.rtt.Deviation), float64(rtt.Deviation), rttWeight))
			s.rtt.Min = rtt.Min
		}
	}
	if !s.probed {
		s.probed, s.avail = true, 1 // a node's first answer: trusted at once
	} else {
		s.avail = ewma(s.avail, 1, probeWeight)
	}
	for _, p := range st.Peers {
		if p.Region != "" && p.RTTms > 0 {
			m.pairs[[2]string{id, p.ID}] = peerSample{
				from: s.Region, to: p.Region,
				rtt: time.Duration(p.RTTms * float64(time.Millisecond)), at: m.now(),
			}
		}
	}
	return was != s.state()
}

// request records how a request to a node (an upload, a proxied read, a
// pull) went.
func (m *members) request(id string, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.byID[id]; s != nil && s.probed {
		s.avail = ewma(s.avail, map[bool]float64{true: 1}[ok], requestWeight)
	}
}

func ewma(old, sample, w float64) float64 { return old + w*(sample-old) }

// all returns copies of every node's state, ordered by id.
func (m *members) all() []nodeState {
	m.mu.RLock()
	out := make([]nodeState, 0, len(m.byID))
	for _, s := range m.byID {
		out = append(out, *s)
	}
	m.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// get returns a copy of one node's state.
func (m *members) get(id string) (nodeState, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if s := m.byID[id]; s != nil {
		return *s, true
	}
	return nodeState{}, false
}

// live returns copies of the nodes that are up.
func (m *members) live() []nodeState {
	all := m.all()
	out := all[:0]
	for _, s := range all {
		if s.up {
			out = append(out, s)
		}
	}
	return out
}

// peerFreshness is how long a reported node-to-peer RTT counts.
const peerFreshness = 5 * time.Minute

// regionRTT is the measured RTT between regions: for each pair of
// regions, the median of the fresh node-to-peer samples between them
// (both directions), so one slow node does not move a region.
func (m *members) regionRTT() map[string]map[string]time.Duration {
	m.mu.Lock()
	samples := map[[2]string][]time.Duration{}
	now := m.now()
	for k, p := range m.pairs {
		if now.Sub(p.at) > peerFreshness {
			delete(m.pairs, k)
			continue
		}
		a, b := p.from, p.to
		if a == b {
			continue // a same-region probe keeps a connection warm; it says nothing of distances
		}
		if a > b {
			a, b = b, a
		}
		samples[[2]string{a, b}] = append(samples[[2]string{a, b}], p.rtt)
	}
	m.mu.Unlock()
	out := map[string]map[string]time.Duration{}
	set := func(a, b string, d time.Duration) {
		if out[a] == nil {
			out[a] = map[string]time.Duration{}
		}
		out[a][b] = d
	}
	for k, ds := range samples {
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		med := ds[len(ds)/2]
		set(k[0], k[1], med)
		set(k[1], k[0], med)
	}
	return out
}
