package node

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"dstor/shared/identity"
	"dstor/shared/wire"
)

// rttTTL is how long a measured RTT to a peer is trusted.
const rttTTL = time.Minute

// rttTable holds this node's own RTT measurements to its peers.
type rttTable struct {
	mu      sync.Mutex
	m       map[string]rttSample
	probing map[string]bool // peers being probed now
}

type rttSample struct {
	rtt    time.Duration
	at     time.Time
	region string
	url    string // where the peer serves
}

func (t *rttTable) get(id string) (time.Duration, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.m[id]
	return s.rtt, ok && time.Since(s.at) < rttTTL
}

// put records a measurement to peer p (its region kept from before when
// p does not say).
func (t *rttTable) put(p wire.Holder, rtt time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = make(map[string]rttSample)
	}
	region := p.Region
	if region == "" {
		region = t.m[p.ID].region
	}
	t.m[p.ID] = rttSample{rtt, time.Now(), region, p.URL}
}

// nearest is the peer with the lowest fresh measurement, if any.
func (t *rttTable) nearest() (wire.Holder, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var best wire.Holder
	var bestRTT time.Duration
	for id, s := range t.m {
		if s.url == "" || time.Since(s.at) >= rttTTL {
			continue
		}
		if best.ID == "" || s.rtt < bestRTT || s.rtt == bestRTT && id < best.ID {
			best, bestRTT = wire.Holder{ID: id, Region: s.region, URL: s.url, Up: true}, s.rtt
		}
	}
	return best, best.ID != ""
}

// start marks id as being probed; false if a probe already runs.
func (t *rttTable) start(id string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.probing == nil {
		t.probing = make(map[string]bool)
	}
	if t.probing[id] {
		return false
	}
	t.probing[id] = true
	return true
}

func (t *rttTable) stop(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.probing, id)
}

// report lists the fresh measurements to peers of known region, for the
// gateways' map of how far regions are apart.
func (t *rttTable) report() []wire.PeerRTT {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []wire.PeerRTT
	for id, s := range t.m {
		if s.region != "" && time.Since(s.at) < rttTTL {
			out = append(out, wire.PeerRTT{ID: id, Region: s.region, RTTms: float64(s.rtt) / float64(time.Millisecond)})
		}
	}
	slices.SortFunc(out, func(a, b wire.PeerRTT) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// probePeers measures this node's RTT to peers a gateway named, in the
// background: a ping over the pooled connection, then the connection's
// smoothed RTT (which the handshake and every exchange refine).
func (n *Node) probePeers(peers []wire.Holder) {
	const maxProbe = 8
	for _, p := range peers[:min(len(peers), maxProbe)] {
		if p.ID == n.id || !n.rtts.start(p.ID) {
			continue
		}
		addr, err := hostPort(p.URL)
		if err != nil {
			n.rtts.stop(p.ID)
			continue
		}
		n.background(func(ctx context.Context) {
			defer n.rtts.stop(p.ID)
			ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			t := wire.Target{Addr: addr, Peer: identity.Peer{Role: identity.RoleNode, ID: p.ID}}
			start := time.Now()
			if _, err := n.client.Ping(ctx, t); err != nil {
				return
			}
			rtt := time.Since(start)
			if est, ok := n.client.RTT(t); ok && est.Smoothed > 0 {
				rtt = est.Smoothed
			}
			n.rtts.put(p, rtt)
		})
	}
}

// orderHolders sorts holders for a fetch: those the gateway sees live
// first, then by this node's own RTT to each. Live holders with no fresh
// measurement are pinged all at once (which also opens a connection to
// each, for this fetch or the next). A fresh measurement means a warm
// connection, so when any live holder has one the fetch starts at once
// and the pings only fill the table for next time; otherwise the first
// to answer is taken without waiting for the rest. Holders that do not
// answer go last; this node is dropped.
func (n *Node) orderHolders(ctx context.Context, hs []wire.Holder) []wire.Holder {
	hs = slices.DeleteFunc(slices.Clone(hs), func(h wire.Holder) bool { return h.ID == n.id })
	answered := make(chan bool, len(hs))
	pings, measured := 0, false
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	var wg sync.WaitGroup
	for _, h := range hs {
		if _, ok := n.rtts.get(h.ID); ok || !h.Up {
			measured = measured || ok && h.Up
			continue
		}
		addr, err := hostPort(h.URL)
		if err != nil {
			continue
		}
		pings++
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := wire.Target{Addr: addr, Peer: identity.Peer{Role: identity.RoleNode, ID: h.ID}}
			start := time.Now()
			_, err := n.client.Ping(pctx, t)
			if err == nil {
				// The connection's own estimate leaves out the handshake
				// that a first ping pays.
				rtt := time.Since(start)
				if est, ok := n.client.RTT(t); ok && est.Smoothed > 0 {
					rtt = est.Smoothed
				}
				n.rtts.put(h, rtt)
			}
			answered <- err == nil
		}()
	}
	go func() {
		wg.Wait()
		cancel()
	}()
	for i := 0; i < pings && !measured; i++ {
		if <-answered {
			break // one measured holder is enough to start
		}
	}
	const unknown = time.Hour
	rtt := func(h wire.Holder) time.Duration {
		if r, ok := n.rtts.get(h.ID); ok {
			return r
		}
		return unknown
	}
	slices.SortStableFunc(hs, func(a, b wire.Holder) int {
		if a.Up != b.Up {
			if a.Up {
				return -1
			}
			return 1
		}
		return cmp.Compare(rtt(a), rtt(b))
	})
	return hs
}
