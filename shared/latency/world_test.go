package latency

import (
	"net/netip"
	"testing"
	"time"
)

func TestWorld(t *testing.T) {
	near, mid, far := Profile{Delay: 5 * ms}, Profile{Delay: 40 * ms}, Profile{Delay: 120 * ms, Loss: 0.01}
	nearFar := Profile{Delay: 150 * ms}
	w := &World{
		Outside: map[string]Profile{"near": near, "mid": mid, "far": far},
		Between: map[string]map[string]Profile{"far": {"near": nearFar}},
	}
	nodes := map[netip.Addr]string{
		netip.MustParseAddr("127.1.1.1"): "near",
		netip.MustParseAddr("127.1.2.1"): "mid",
		netip.MustParseAddr("127.1.3.1"): "far",
	}
	nodeRegion := func(a netip.Addr) (string, bool) { r, ok := nodes[a]; return r, ok }
	for _, tc := range []struct {
		name   string
		region string // of the node behind the proxy
		src    string
		want   Profile
	}{
		{"client to near", "near", "127.0.0.1:5000", near},
		{"client to far", "far", "127.0.0.1:5000", far},
		{"mapped IPv4 client", "mid", "[::ffff:127.0.0.1]:5000", mid},
		{"same region", "near", "127.1.1.1:4000", Profile{}},
		{"pair as configured", "near", "127.1.3.1:4000", nearFar},
		{"pair either way round", "far", "127.1.1.1:4000", nearFar},
		{"missing pair takes the larger", "mid", "127.1.3.1:4000", far},
		{"missing pair, other side", "far", "127.1.2.1:4000", far},
		{"unknown region", "moon", "127.0.0.1:1", Profile{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := w.Route(tc.region, nodeRegion)(netip.MustParseAddrPort(tc.src))
			if !ok || got != tc.want {
				t.Fatalf("got %v %v, want %v", got, ok, tc.want)
			}
		})
	}
	bad := &World{Between: map[string]map[string]Profile{"a": {"b": {Jitter: -time.Second}}}}
	if bad.Validate() == nil {
		t.Fatal("negative jitter accepted")
	}
	if w.Validate() != nil {
		t.Fatal(w.Validate())
	}
}

func TestProfileOneWay(t *testing.T) {
	for _, tc := range []struct {
		name   string
		p      Profile
		lo, hi time.Duration
	}{
		{"half the delay", Profile{Delay: 40 * ms}, 20 * ms, 20 * ms},
		{"jitter spreads by half each way", Profile{Delay: 40 * ms, Jitter: 20 * ms}, 10 * ms, 30 * ms},
		{"never negative", Profile{Delay: 2 * ms, Jitter: 100 * ms}, 0, 51 * ms},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range 1000 {
				if d := tc.p.oneWay(); d < tc.lo || d > tc.hi {
					t.Fatalf("one way %v outside [%v, %v]", d, tc.lo, tc.hi)
				}
			}
		})
	}
}
