package gateway

import (
	"net/http"

	"dstor/shared/choose"
	"dstor/shared/registry"
)

// rebuildView turns the members' current state into an immutable decision
// view and swaps it in: reads and placements consult the latest view
// without locks.
func (g *Gateway) rebuildView() {
	g.viewMu.Lock()
	defer g.viewMu.Unlock()
	all := g.nodes.all()
	ns := make([]choose.Node, 0, len(all))
	for _, s := range all {
		ns = append(ns, chooseNode(&s))
	}
	g.view.Store(choose.NewView(ns, g.cfg.Region, g.nodes.regionRTT()))
}

// chooseNode is the decision-relevant part of a node's state.
func chooseNode(s *nodeState) choose.Node {
	return choose.Node{
		ID: s.ID, Region: s.Region, URL: s.URL,
		Net:          s.net,
		Operator:     s.operator(),
		RTT:          s.rtt.Smoothed,
		RTTVar:       s.rtt.Deviation,
		Availability: s.avail,
		Load:         s.status.InFlight,
		Free:         max(s.status.Free-s.status.Reserve, 0),
		Accepting:    s.status.Accepting,
		Draining:     s.status.Draining || s.standing == registry.NodeSuspended,
		Up:           s.up && s.standing != registry.NodeDisqualified,
		Suspect:      s.suspect,
	}
}

// operator is who runs the node: its own word in heartbeats, else what it
// said when it enrolled.
func (s *nodeState) operator() string {
	if s.status.Operator != "" {
		return s.status.Operator
	}
	return s.Operator
}

// currentView is the latest decision view.
func (g *Gateway) currentView() *choose.View {
	if v := g.view.Load(); v != nil {
		return v
	}
	g.rebuildView()
	return g.view.Load()
}

// clientRegion places the client of r: by the configured rules, the
// MaxMind database, else the gateway's own region; how says which.
func (g *Gateway) clientRegion(r *http.Request) (region, how string) {
	return g.locator.Region(r)
}
