package choose

import (
	"net/netip"
	"time"
)

const (
	us  = time.Microsecond
	ms  = time.Millisecond
	gib = int64(1) << 30
)

// node returns a healthy node: up, fully available, idle, 100 GiB free,
// 5 ms away, accepting, with unknown network and operator; opts change it.
func node(id, region string, opts ...func(*Node)) Node {
	n := Node{
		ID: id, Region: region, URL: "https://" + id + ".test",
		RTT: 5 * ms, Availability: 1, Free: 100 * gib,
		Accepting: true, Up: true,
	}
	for _, o := range opts {
		o(&n)
	}
	return n
}

func rtt(d time.Duration) func(*Node)    { return func(n *Node) { n.RTT = d } }
func rttVar(d time.Duration) func(*Node) { return func(n *Node) { n.RTTVar = d } }
func avail(a float64) func(*Node)        { return func(n *Node) { n.Availability = a } }
func load(l int64) func(*Node)           { return func(n *Node) { n.Load = l } }
func free(b int64) func(*Node)           { return func(n *Node) { n.Free = b } }
func op(o string) func(*Node)            { return func(n *Node) { n.Operator = o } }
func network(p string) func(*Node) {
	return func(n *Node) { n.Net = netip.MustParsePrefix(p) }
}

var (
	suspect  = func(n *Node) { n.Suspect = true }
	down     = func(n *Node) { n.Up = false }
	full     = func(n *Node) { n.Accepting = false }
	draining = func(n *Node) { n.Draining = true }
)

func set(ids ...string) func(string) bool {
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return func(id string) bool { return m[id] }
}

type rtts = map[string]map[string]time.Duration
