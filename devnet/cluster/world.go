package cluster

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"sync"

	"dstor/shared/latency"
)

// world places nodes on loopback addresses behind latency proxies.
//
// Node i listens on 127.N.(i+1).1 and its proxy on 127.N.(i+1).2, with
// the same port: a node advertises only a host, and keeps its port. N is
// drawn per cluster so that clusters running side by side (tests of
// several packages) do not collide; each node has a /24 of its own, like
// independent operators. Linux routes all of 127/8 to lo.
type world struct {
	w   *latency.World
	net byte

	mu      sync.RWMutex
	regions map[netip.Addr]string // node IP -> region
}

func newWorld(w *latency.World) *world {
	return &world{w: w, net: byte(16 + rand.IntN(239)), regions: make(map[netip.Addr]string)}
}

// regionOf tells the proxies which sources are nodes, and where.
func (w *world) regionOf(ip netip.Addr) (string, bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	r, ok := w.regions[ip]
	return r, ok
}

// place starts the proxy of node i and returns the node's own IP; the
// node listens there on the proxy's port.
func (w *world) place(i int, region string, nodePort int) (netip.Addr, *latency.Proxy, error) {
	if i >= 255 {
		return netip.Addr{}, nil, fmt.Errorf("cluster: at most 255 nodes behind latency proxies")
	}
	ip := netip.AddrFrom4([4]byte{127, w.net, byte(i + 1), 1})
	pip := netip.AddrFrom4([4]byte{127, w.net, byte(i + 1), 2})
	port := 0
	if nodePort > 0 {
		port = nodePort + i
	}
	w.mu.Lock()
	w.regions[ip] = region
	w.mu.Unlock()
	p, err := latency.Listen(latency.Config{
		Listen: netip.AddrPortFrom(pip, uint16(port)).String(),
		Target: ip.String() + ":0", // the proxy's port
		TCP:    true,
		Route:  w.w.Route(region, w.regionOf),
	})
	if err != nil {
		return netip.Addr{}, nil, fmt.Errorf("cluster: proxy for node %d on %s: %w", i, pip.String()+":"+strconv.Itoa(port), err)
	}
	return ip, p, nil
}
