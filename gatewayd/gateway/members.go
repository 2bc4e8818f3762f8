package gateway

import (
	"context"
	"net/url"
	"sort"
	"sync"
	"time"

	"dstor/shared/identity"
	"dstor/shared/registry"
	"dstor/shared/wire"
)

// missesToDown is how many probes in a row a node may miss before it is
// no longer chosen.
const missesToDown = 2

// nodeState is the gateway's view of one node.
type nodeState struct {
	registry.Node
	addr   string // QUIC host:port from the URL
	up     bool
	misses int
	rtt    time.Duration // smoothed probe RTT
	seen   time.Time     // last successful probe
	status wire.Status   // last ping answer
}

func (n *nodeState) target() wire.Target {
	return wire.Target{Addr: n.addr, Peer: identity.Peer{Role: identity.RoleNode, ID: n.ID}}
}

// members is the gateway's live view of the network, rebuilt from the
// registry and probes; it holds nothing that cannot be rebuilt.
type members struct {
	interval time.Duration
	now      func() time.Time

	mu   sync.RWMutex
	byID map[string]*nodeState
}

func newMembers(interval time.Duration, now func() time.Time) *members {
	return &members{interval: interval, now: now, byID: make(map[string]*nodeState)}
}

// upsert adds or updates a node's registry record; up marks it live now
// (it just talked to us).
func (m *members) upsert(n registry.Node, up bool) {
	u, err := url.Parse(n.URL)
	if err != nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.byID[n.ID]
	if s == nil {
		s = &nodeState{}
		m.byID[n.ID] = s
	}
	s.Node, s.addr = n, u.Host
	if up {
		s.up, s.misses, s.seen = true, 0, m.now()
	}
}

// observe records a probe's outcome.
func (m *members) observe(id string, rtt time.Duration, st wire.Status, err error) (changed bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.byID[id]
	if s == nil {
		return false
	}
	was := s.up
	if err != nil {
		s.misses++
		if s.misses >= missesToDown {
			s.up = false
		}
		return was != s.up
	}
	s.misses, s.up, s.seen, s.status = 0, true, m.now(), st
	if s.rtt == 0 {
		s.rtt = rtt
	} else {
		s.rtt = (7*s.rtt + rtt) / 8
	}
	return was != s.up
}

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

// probeLoop pings every node each interval and re-reads the node list from
// the registry every ten, so nodes enrolled at other gateways appear.
func (g *Gateway) probeLoop(ctx context.Context) {
	t := time.NewTicker(g.cfg.ProbeInterval)
	defer t.Stop()
	for tick := 0; ; tick++ {
		g.probeAll(ctx)
		if tick%10 == 9 {
			if err := g.loadNodes(ctx); err != nil {
				g.log.Warn("reload nodes", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// probeAll pings every known node at once and waits for the answers (each
// bounded by the probe interval).
func (g *Gateway) probeAll(ctx context.Context) {
	var wg sync.WaitGroup
	for _, n := range g.nodes.all() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pctx, cancel := context.WithTimeout(ctx, g.cfg.ProbeInterval)
			defer cancel()
			start := time.Now()
			// Probes have connections of their own: redialing after a
			// missed probe never disturbs uploads or reads in flight.
			st, err := g.probes.Ping(pctx, n.target())
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				g.probes.Forget(n.target())
			} else if st.ID != n.ID {
				err = errWrongNode
			}
			if g.nodes.observe(n.ID, time.Since(start), st, err) {
				g.log.Info("node state changed", "node", n.ID, "region", n.Region, "up", err == nil, "err", err)
			}
		}()
	}
	wg.Wait()
}
