package choose

import (
	"fmt"
	"net/netip"
	"testing"
)

func TestNetOf(t *testing.T) {
	tests := []struct {
		addr string
		want string
	}{
		{"192.0.2.77", "192.0.2.0/24"},
		{"::ffff:192.0.2.77", "192.0.2.0/24"},
		{"2001:db8:1:2::7", "2001:db8:1::/48"},
		{"", "invalid Prefix"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			var a netip.Addr
			if tt.addr != "" {
				a = netip.MustParseAddr(tt.addr)
			}
			if got := NetOf(a).String(); got != tt.want {
				t.Errorf("NetOf(%s) = %s, want %s", tt.addr, got, tt.want)
			}
		})
	}
}

func TestScore(t *testing.T) {
	tests := []struct {
		name string
		n    Node
		want float64 // within 1e-9
	}{
		{"perfect", Node{RTT: 1, Availability: 1, Free: 1 << 62}, 1},
		{"10 ms", node("a", "eu", rtt(10*ms), free(0)), 0.5 * 0.75},
		{"10 ms counting deviation", node("a", "eu", rtt(4*ms), rttVar(6*ms), free(0)), 0.5 * 0.75},
		{"unmeasured", node("a", "eu", rtt(0), free(0)), 10.0 / 110 * 0.75},
		{"availability 0.5", node("a", "eu", rtt(10*ms), free(0), avail(0.5)), 0.5 * 0.75 / 16},
		{"64 in flight", node("a", "eu", rtt(10*ms), free(0), load(64)), 0.5 * 0.75 / 2},
		{"8 GiB free", node("a", "eu", rtt(10*ms), free(8*gib)), 0.5 * 0.875},
		{"out of range inputs", Node{RTT: 1, RTTVar: -5, Availability: 7, Load: -3, Free: -9}, 0.75},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Score(&tt.n)
			if d := got - tt.want; d > 1e-6 || d < -1e-6 {
				t.Errorf("Score = %v, want %v", got, tt.want)
			}
			if got <= 0 || got > 1 {
				t.Errorf("Score = %v, not in (0, 1]", got)
			}
		})
	}
}

// Over a large mixed network, every answer obeys the rules.
func TestInvariants(t *testing.T) {
	v := benchView(3000, 30)
	holders := set("n3", "n77", "n1500")
	for r := range 35 {
		region := fmt.Sprintf("r%d", r)
		c, ok := v.Reader(region, holders)
		if !ok {
			t.Fatalf("Reader(%s): no choice", region)
		}
		if !usable(c.Node) || c.LastResort {
			t.Errorf("Reader(%s) = %+v, not usable", region, *c.Node)
		}
		if c.Fallback != (c.Region != region) {
			t.Errorf("Reader(%s) = %+v, wrong Fallback", region, c)
		}
	}
	for _, n := range v.Place(3000, nil, nil, nil) {
		if !placeable(n) {
			t.Errorf("Place chose %+v, not placeable", *n)
		}
	}
}
