package gateway

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"dstor/shared/wire"
)

var errWrongNode = errors.New("node answered with another id")

// peersPerProbe is how many peers each probe asks a node to measure its
// RTT to, so the gateway learns how far regions are apart.
const peersPerProbe = 4

// probeTimeout bounds one probe: half the interval, so a node that stops
// answering is suspect (and no longer chosen) well within two intervals.
func (g *Gateway) probeTimeout() time.Duration { return g.cfg.ProbeInterval / 2 }

// probeLoop probes every node each interval, rebuilds the decision view
// after each round, and re-reads the node list from the registry every
// ten rounds so nodes enrolled at other gateways appear.
func (g *Gateway) probeLoop(ctx context.Context) {
	t := time.NewTicker(g.cfg.ProbeInterval)
	defer t.Stop()
	for tick := 0; ; tick++ {
		g.probeAll(ctx)
		g.rebuildView()
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

// probeAll pings every known node at once and waits for the answers.
func (g *Gateway) probeAll(ctx context.Context) {
	all := g.nodes.all()
	var wg sync.WaitGroup
	for i := range all {
		n := all[i]
		probe := samplePeers(all, i, peersPerProbe)
		wg.Add(1)
		go func() {
			defer wg.Done()
			pctx, cancel := context.WithTimeout(ctx, g.probeTimeout())
			defer cancel()
			// Probes have connections of their own: redialing after a
			// missed probe never disturbs uploads or reads in flight.
			st, rtt, err := g.probes.Probe(pctx, n.target(), probe)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				g.probes.Forget(n.target())
			} else if st.ID != n.ID {
				err = errWrongNode
			}
			g.metrics.probes.Add(1)
			if err != nil {
				g.metrics.probeMisses.Add(1)
			}
			if g.nodes.observe(n.ID, rtt, st, err) {
				s, _ := g.nodes.get(n.ID)
				g.log.Info("node state changed", "node", n.ID, "region", n.Region, "state", s.state(), "err", err)
				g.rebuildView() // act on a change now, not after the round
			}
		}()
	}
	wg.Wait()
}

// samplePeers picks up to k live nodes other than all[self] for it to
// measure: nodes in distinct other regions, from which the gateway learns
// how far regions are, and (with k >= 2) one in its own region, so that
// the peer a fetch prefers, the nearest holder, tends to be over a warm
// connection.
func samplePeers(all []nodeState, self, k int) []wire.Holder {
	own := all[self].Region
	var out []wire.Holder
	seen := map[string]bool{own: true}
	ownPeer := -1
	for _, i := range rand.Perm(len(all)) {
		if i == self || !all[i].up {
			continue
		}
		r := all[i].Region
		if r == own {
			if ownPeer < 0 {
				ownPeer = i
			}
			continue
		}
		if !seen[r] && len(out) < k {
			seen[r] = true
			out = append(out, all[i].holder())
		}
	}
	if ownPeer >= 0 && k >= 2 {
		out = append(out[:min(len(out), k-1)], all[ownPeer].holder())
	}
	return out
}
