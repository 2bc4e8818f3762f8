// Package latency makes loopback behave like a wide-area network: a UDP
// (and optionally TCP) proxy in front of a daemon adds delay, jitter and
// loss chosen by each packet's source address, and a World gives those
// profiles per region so a loopback cluster behaves like a map of the
// world. The kernel here has no netem; tests and bench/ use this instead.
package latency

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"
)

// Profile is the path between two places.
type Profile struct {
	// Delay is the added round-trip time: each direction adds half.
	Delay time.Duration
	// Jitter spreads each packet's delay: each direction adds a uniform
	// random value in [-Jitter/2, +Jitter/2], so a round trip takes Delay
	// ± Jitter. A direction's total delay is never negative. Jitter may
	// reorder packets unless the proxy keeps order (Config.KeepOrder).
	Jitter time.Duration
	// Loss is the probability that a packet is dropped, in each
	// direction, from 0 to 1. TCP forwarding ignores it.
	Loss float64
}

// Validate reports a negative duration or a loss outside [0, 1].
func (p Profile) Validate() error {
	if p.Delay < 0 || p.Jitter < 0 {
		return fmt.Errorf("latency: negative delay or jitter in %+v", p)
	}
	if !(p.Loss >= 0 && p.Loss <= 1) {
		return fmt.Errorf("latency: loss %v outside [0, 1]", p.Loss)
	}
	return nil
}

// String is compact, for logs and test names.
func (p Profile) String() string {
	return fmt.Sprintf("rtt+%v±%v loss %g", p.Delay, p.Jitter, p.Loss)
}

// zero reports a profile that adds nothing, so packets skip the queue.
func (p Profile) zero() bool { return p.Delay == 0 && p.Jitter == 0 }

// oneWay draws the delay of one packet in one direction.
func (p Profile) oneWay() time.Duration {
	d := p.Delay / 2
	if p.Jitter > 0 {
		d += time.Duration((rand.Float64() - 0.5) * float64(p.Jitter))
	}
	return max(d, 0)
}

// drop draws whether one packet is lost.
func (p Profile) drop() bool { return p.Loss > 0 && rand.Float64() < p.Loss }

// RouteFunc chooses the profile for the packets of one client, by the
// client's source address; false means the proxy's default profile. It is
// called for every packet, from several goroutines: keep it fast and safe
// for concurrent use.
type RouteFunc func(src netip.AddrPort) (Profile, bool)

// ByAddr routes by source IP alone (any port).
func ByAddr(m map[netip.Addr]Profile) RouteFunc {
	return func(src netip.AddrPort) (Profile, bool) {
		p, ok := m[src.Addr().Unmap()]
		return p, ok
	}
}
