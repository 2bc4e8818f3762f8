package gateway

import (
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
)

var errWrongNode = errors.New("node answered with another id")

// clientRegion places a client by the longest matching rule, falling back
// to the gateway's own region.
func (g *Gateway) clientRegion(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return g.cfg.Region
	}
	ip = ip.Unmap()
	best, bits := g.cfg.Region, -1
	for _, r := range g.cfg.Regions {
		if r.Prefix.Contains(ip) && r.Prefix.Bits() > bits {
			best, bits = r.Region, r.Prefix.Bits()
		}
	}
	return best
}

// chooseReader picks the node to serve a read from region: a live holder
// there, else any live node there (it fetches from a peer), else any live
// holder. Within a tier the lowest probe RTT wins.
func chooseReader(live []nodeState, region string, holders map[string]bool) (nodeState, bool) {
	tiers := []func(n *nodeState) bool{
		func(n *nodeState) bool { return n.Region == region && holders[n.ID] },
		func(n *nodeState) bool { return n.Region == region },
		func(n *nodeState) bool { return holders[n.ID] },
	}
	for _, in := range tiers {
		best := -1
		for i := range live {
			if in(&live[i]) && (best < 0 || live[i].rtt < live[best].rtt) {
				best = i
			}
		}
		if best >= 0 {
			return live[best], true
		}
	}
	return nodeState{}, false
}

// placeWrite orders live nodes for an upload: one per region in turn, in
// random order within and across regions, so the first W are in distinct
// regions when the network has W regions. The caller takes the first W and
// falls back to the rest.
func placeWrite(live []nodeState) []nodeState {
	byRegion := map[string][]nodeState{}
	var regions []string
	for _, n := range live {
		if _, ok := byRegion[n.Region]; !ok {
			regions = append(regions, n.Region)
		}
		byRegion[n.Region] = append(byRegion[n.Region], n)
	}
	rand.Shuffle(len(regions), func(i, j int) { regions[i], regions[j] = regions[j], regions[i] })
	for _, ns := range byRegion {
		rand.Shuffle(len(ns), func(i, j int) { ns[i], ns[j] = ns[j], ns[i] })
	}
	out := make([]nodeState, 0, len(live))
	for len(out) < len(live) {
		for _, r := range regions {
			if ns := byRegion[r]; len(ns) > 0 {
				out = append(out, ns[0])
				byRegion[r] = ns[1:]
			}
		}
	}
	return out
}
