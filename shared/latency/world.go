package latency

import (
	"fmt"
	"net/netip"
)

// World is a map of the world for a cluster on loopback: where each
// region's nodes sit as seen from outside (gateways and clients) and from
// each other. A proxy in front of each node applies it: see Route.
type World struct {
	// Outside is the path between a node of each region and any address
	// that is not a node's: gateways and clients. A region missing here
	// gets the zero Profile.
	Outside map[string]Profile
	// Between is the path between nodes of two regions, looked up either
	// way round. A missing pair is the zero Profile within a region, and
	// across two regions the one of their Outside profiles with the
	// larger delay.
	Between map[string]map[string]Profile
}

// Validate checks every profile.
func (w *World) Validate() error {
	for r, p := range w.Outside {
		if err := p.Validate(); err != nil {
			return fmt.Errorf("latency: outside %s: %w", r, err)
		}
	}
	for a, m := range w.Between {
		for b, p := range m {
			if err := p.Validate(); err != nil {
				return fmt.Errorf("latency: between %s and %s: %w", a, b, err)
			}
		}
	}
	return nil
}

// Path is the profile between nodes of regions a and b.
func (w *World) Path(a, b string) Profile {
	if p, ok := w.Between[a][b]; ok {
		return p
	}
	if p, ok := w.Between[b][a]; ok {
		return p
	}
	if a == b {
		return Profile{}
	}
	pa, pb := w.Outside[a], w.Outside[b]
	if pb.Delay > pa.Delay {
		return pb
	}
	return pa
}

// Route is the route of a proxy in front of a node of region: nodeRegion
// tells which addresses belong to nodes and their regions; every other
// source is outside. nodeRegion must be safe for concurrent use.
func (w *World) Route(region string, nodeRegion func(netip.Addr) (string, bool)) RouteFunc {
	outside := w.Outside[region]
	return func(src netip.AddrPort) (Profile, bool) {
		if r, ok := nodeRegion(src.Addr().Unmap()); ok {
			return w.Path(r, region), true
		}
		return outside, true
	}
}
