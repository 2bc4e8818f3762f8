package gateway

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"dstor/shared/registry"
)

func ns(id, region string, rtt time.Duration) nodeState {
	return nodeState{Node: registry.Node{ID: id, Region: region, URL: "https://" + id + ":1"}, up: true, rtt: rtt}
}

func set(ids ...string) map[string]bool {
	m := map[string]bool{}
	for _, id := range ids {
		m[id] = true
	}
	return m
}

func TestChooseReader(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name    string
		live    []nodeState
		region  string
		holders map[string]bool
		want    string // "" for no choice
	}{
		{
			name:    "holder in region beats a faster non-holder there",
			live:    []nodeState{ns("a", "eu", 1*ms), ns("b", "eu", 9*ms), ns("c", "us", 1*ms)},
			region:  "eu",
			holders: set("b", "c"),
			want:    "b",
		},
		{
			name:    "lowest RTT among holders in region",
			live:    []nodeState{ns("a", "eu", 5*ms), ns("b", "eu", 2*ms), ns("c", "eu", 3*ms)},
			region:  "eu",
			holders: set("a", "b", "c"),
			want:    "b",
		},
		{
			name:    "lowest RTT among non-holders in region",
			live:    []nodeState{ns("a", "eu", 5*ms), ns("b", "eu", 4*ms), ns("c", "us", 1*ms)},
			region:  "eu",
			holders: set("c"),
			want:    "b",
		},
		{
			name:    "non-holder in region beats holder elsewhere",
			live:    []nodeState{ns("a", "us", 1*ms), ns("b", "eu", 50*ms)},
			region:  "eu",
			holders: set("a"),
			want:    "b",
		},
		{
			name:    "nothing in region: fastest holder anywhere",
			live:    []nodeState{ns("a", "us", 7*ms), ns("b", "ap", 3*ms), ns("c", "ap", 1*ms)},
			region:  "eu",
			holders: set("a", "b"),
			want:    "b",
		},
		{
			name:    "nothing in region and no live holder",
			live:    []nodeState{ns("a", "us", 1*ms), ns("b", "ap", 1*ms)},
			region:  "eu",
			holders: set("x"),
			want:    "",
		},
		{
			name:    "nothing live",
			region:  "eu",
			holders: set("a"),
			want:    "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := chooseReader(tt.live, tt.region, tt.holders)
			if ok != (tt.want != "") || got.ID != tt.want {
				t.Errorf("chooseReader = %q, %v; want %q", got.ID, ok, tt.want)
			}
		})
	}
}

func TestPlaceWrite(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for iter := range 2000 {
		var live []nodeState
		for reg := range 1 + r.IntN(6) {
			for i := range r.IntN(5) {
				live = append(live, ns(fmt.Sprintf("n%d-%d", reg, i), fmt.Sprintf("r%d", reg), 0))
			}
		}
		r.Shuffle(len(live), func(i, j int) { live[i], live[j] = live[j], live[i] })
		regions := map[string]bool{}
		for _, n := range live {
			regions[n.Region] = true
		}
		in := append([]nodeState(nil), live...)

		out := placeWrite(in)

		if len(out) != len(live) {
			t.Fatalf("iteration %d: %d nodes out of %d", iter, len(out), len(live))
		}
		seen := map[string]int{}
		for _, n := range out {
			seen[n.ID]++
		}
		for _, n := range live {
			if seen[n.ID] != 1 {
				t.Fatalf("iteration %d: node %s returned %d times in %v", iter, n.ID, seen[n.ID], ids(out))
			}
		}
		first := map[string]bool{}
		for _, n := range out[:len(regions)] {
			if first[n.Region] {
				t.Fatalf("iteration %d: first %d nodes %v repeat region %s", iter, len(regions), ids(out), n.Region)
			}
			first[n.Region] = true
		}
	}
}

func TestPlaceWriteIsRandom(t *testing.T) {
	live := []nodeState{ns("a", "r1", 0), ns("b", "r1", 0), ns("c", "r2", 0), ns("d", "r2", 0), ns("e", "r3", 0), ns("f", "r3", 0)}
	firsts := map[string]int{}
	for range 300 {
		firsts[placeWrite(append([]nodeState(nil), live...))[0].ID]++
	}
	for _, n := range live {
		if firsts[n.ID] == 0 {
			t.Errorf("node %s never placed first in 300 runs: %v", n.ID, firsts)
		}
	}
}

func ids(ns []nodeState) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.ID+"@"+n.Region)
	}
	return out
}

func TestClientRegion(t *testing.T) {
	rule := func(s string) RegionRule {
		r, err := ParseRegionRule(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	g := &Gateway{cfg: Config{Region: "home", Regions: []RegionRule{
		rule("10.1.0.0/16=narrow"), // before the wider rule: order must not matter
		rule("10.0.0.0/8=wide"),
		rule("10.1.2.0/24=narrowest"),
		rule("2001:db8::/32=v6"),
		rule("0.0.0.0/0=v4-default"),
	}}}
	tests := []struct {
		addr string
		want string
	}{
		{"10.9.9.9:443", "wide"},
		{"10.1.9.9:443", "narrow"},
		{"10.1.2.3:443", "narrowest"},
		{"10.1.2.3", "narrowest"}, // no port
		{"[::ffff:10.1.2.3]:443", "narrowest"},
		{"[::ffff:10.9.0.1]:443", "wide"},
		{"192.0.2.1:80", "v4-default"},
		{"[2001:db8::1]:80", "v6"},
		{"[2001:db9::1]:80", "home"}, // no IPv6 default rule
		{"[::1]:80", "home"},
		{"not-an-address:80", "home"},
		{"", "home"},
		{"@", "home"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			if got := g.clientRegion(tt.addr); got != tt.want {
				t.Errorf("clientRegion(%q) = %q, want %q", tt.addr, got, tt.want)
			}
		})
	}
}

func TestParseRegionRule(t *testing.T) {
	good := []struct {
		in     string
		prefix string
		region string
	}{
		{"10.0.0.0/8=eu-west", "10.0.0.0/8", "eu-west"},
		{"10.1.2.3/8=eu-west", "10.0.0.0/8", "eu-west"}, // masked
		{"192.0.2.7/32=x", "192.0.2.7/32", "x"},
		{"0.0.0.0/0=any", "0.0.0.0/0", "any"},
		{"2001:db8::1/32=us-east", "2001:db8::/32", "us-east"},
	}
	for _, tt := range good {
		t.Run(tt.in, func(t *testing.T) {
			r, err := ParseRegionRule(tt.in)
			if err != nil {
				t.Fatalf("ParseRegionRule(%q): %v", tt.in, err)
			}
			if r.Prefix != netip.MustParsePrefix(tt.prefix) || r.Region != tt.region {
				t.Errorf("ParseRegionRule(%q) = %v=%s, want %s=%s", tt.in, r.Prefix, r.Region, tt.prefix, tt.region)
			}
		})
	}
	bad := []string{
		"",
		"eu-west",
		"10.0.0.0/8",
		"10.0.0.0/8=",
		"=eu-west",
		"10.0.0.0=eu-west", // no prefix length
		"10.0.0.0/33=eu-west",
		"2001:db8::/129=x",
		"example.com/8=x",
		"10.0.0.0/8 =eu-west",
		"10.0.0.0/8=eu=west", // the last '=' splits: "10.0.0.0/8=eu" is no CIDR
	}
	for _, in := range bad {
		t.Run("bad "+in, func(t *testing.T) {
			if r, err := ParseRegionRule(in); err == nil {
				t.Errorf("ParseRegionRule(%q) = %v, want an error", in, r)
			}
		})
	}
}
