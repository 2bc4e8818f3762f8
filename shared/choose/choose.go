// Package choose makes the two decisions about nodes: which node serves a
// reader (reflection, in gateways) and which nodes store a blob
// (placement, in gateways for new blobs and in auditd for repairs). It is pure and does no I/O: the gateway builds a View from
// its probes after every round, swaps it in with an atomic.Pointer, and
// asks it questions from any number of goroutines.
package choose

import (
	"math/bits"
	"net/netip"
	"time"
)

// Node is the gateway's view of one storage node at one moment.
type Node struct {
	ID, Region, URL string
	// Net is the node's /24 (IPv4) or /48 (IPv6) network (see NetOf);
	// the zero Prefix means unknown and never counts as shared.
	Net netip.Prefix
	// Operator is who runs the node; "" means unknown and never counts as
	// shared.
	Operator string
	// RTT is the gateway's smoothed probe RTT to the node and RTTVar its
	// mean deviation. RTT 0 means not measured yet (see Score).
	RTT, RTTVar time.Duration
	// Availability is an EWMA of probe and request success in [0, 1]. The
	// caller raises it step by step as a returning node answers probes,
	// which is what re-admits it gradually.
	Availability float64
	Load         int64 // in-flight requests, from heartbeats
	Free         int64 // bytes free above the node's reserve
	Accepting    bool  // takes new blobs (not full)
	Draining     bool  // the operator is draining it: serves reads, takes no new pins
	Up           bool  // answering probes; a node that is not Up is never chosen
	Suspect      bool  // missed its latest probe: chosen only when nothing else is usable
}

// Tuning of the score and the rules. They are constants, not options: every
// gateway sharing a registry must make the same decisions.
const (
	// MinAvailability is the availability below which a node is not
	// usable: it serves reads only when nothing anywhere is usable, and
	// takes no new blobs.
	MinAvailability = 0.5
	// TieMargin is how close two reader scores must be to count as a tie,
	// relative to the best: a holder of the blob within 20 % of the best
	// node's score is chosen over it. 20 % is about 2.5 ms of RTT near
	// zero: less than RTT estimates move within one region, and much less
	// than the peer fetch a non-holder would need.
	TieMargin = 0.2

	rttRef        = 10 * time.Millisecond  // RTT at which the RTT factor is 1/2
	unmeasuredRTT = 100 * time.Millisecond // RTT assumed for a node not timed yet
	loadRef       = 64                     // in-flight requests at which the load factor is 1/2
	freeRef       = 8 << 30                // free bytes at which the free factor is 7/8
)

// Score rates n as a node to serve a reader, in (0, 1], higher is better.
// It is the product of four factors:
//
//	rtt   = 10ms / (10ms + RTT + RTTVar)       1 at 0 ms, 1/2 at 10 ms, 1/13 at 120 ms
//	avail = Availability⁴                      1 at 1, 0.66 at 0.9, 0.13 at 0.6
//	load  = 64 / (64 + Load)                   1/2 at 64 requests in flight
//	free  = 3/4 + 1/4 · Free/(Free + 8 GiB)    3/4 when full, 7/8 at 8 GiB, → 1
//
// RTT counts with its deviation, so a jittery node loses to a steady one.
// An unmeasured RTT (0) counts as 100 ms, so a node not timed yet never
// outranks timed ones nearby. The fourth power on availability makes a
// node coming back at 0.6 lose to healthy peers of its region unless they
// are about 7 times slower, yet serve when it is the only one. Free space
// matters least: a node lacking a blob must keep a copy of it to serve it.
// Score ignores Up, Suspect, Draining and the availability floor; those
// decide whether a node is considered at all.
func Score(n *Node) float64 {
	rtt := n.RTT
	if rtt <= 0 {
		rtt = unmeasuredRTT
	}
	rtt += max(n.RTTVar, 0)
	fRTT := float64(rttRef) / float64(rttRef+rtt)

	a := min(max(n.Availability, 0), 1)
	a *= a
	fAvail := a * a

	fLoad := loadRef / (loadRef + float64(max(n.Load, 0)))

	free := float64(max(n.Free, 0))
	fFree := 0.75 + 0.25*free/(free+freeRef)

	return fRTT * fAvail * fLoad * fFree
}

// usable reports whether n may serve readers in the first pass.
func usable(n *Node) bool {
	return n.Up && !n.Suspect && n.Availability >= MinAvailability
}

// placeable reports whether n may take a new blob.
func placeable(n *Node) bool {
	return usable(n) && n.Accepting && !n.Draining
}

// NetOf returns the network a node at addr shares its fate with: the /24
// of an IPv4 address, the /48 of an IPv6 one. It returns the zero Prefix
// for an invalid address.
func NetOf(addr netip.Addr) netip.Prefix {
	addr = addr.Unmap()
	switch {
	case addr.Is4():
		p, _ := addr.Prefix(24)
		return p
	case addr.Is6():
		p, _ := addr.Prefix(48)
		return p
	}
	return netip.Prefix{}
}

// freeBucket rounds free space down to steps of an eighth of an octave
// (6 to 12 %), so placement treats nodes with nearly the same room as
// equal and spreads blobs among them at random.
func freeBucket(free int64) int32 {
	if free <= 0 {
		return 0
	}
	e := int32(bits.Len64(uint64(free))) - 1
	var frac int32
	if e >= 3 {
		frac = int32(free>>(e-3)) & 7
	} else {
		frac = int32(free<<(3-e)) & 7
	}
	return 1 + e*8 + frac
}
