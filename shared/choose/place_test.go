package choose

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestPlace(t *testing.T) {
	tests := []struct {
		name  string
		nodes []Node
		r     int
		have  []string
		skip  []string
		// want lists the picks in order; "a|b" accepts either.
		want []string
	}{
		{
			name: "regions first",
			nodes: []Node{
				node("eu1", "eu", free(900*gib)), node("eu2", "eu", free(800*gib)), node("eu3", "eu", free(700*gib)),
				node("us1", "us", free(10*gib)), node("as1", "as", free(20*gib)),
			},
			r:    3,
			want: []string{"eu1", "as1", "us1"},
		},
		{
			name: "every region once, then again",
			nodes: []Node{
				node("eu1", "eu"), node("eu2", "eu"), node("us1", "us"), node("us2", "us"), node("as1", "as"),
			},
			r:    5,
			want: []string{"eu1|eu2|us1|us2|as1", "eu1|eu2|us1|us2|as1", "eu1|eu2|us1|us2|as1", "eu1|eu2|us1|us2", "eu1|eu2|us1|us2"},
		},
		{
			name: "then distinct networks",
			nodes: []Node{
				node("a", "eu", network("10.0.1.0/24"), free(900*gib)),
				node("b", "eu", network("10.0.1.0/24"), free(800*gib)),
				node("c", "eu", network("10.0.2.0/24"), free(100*gib)),
			},
			r:    3,
			want: []string{"a", "c", "b"},
		},
		{
			name: "IPv6 networks are /48s",
			nodes: []Node{
				node("a", "eu", network("2001:db8:1::/48"), free(900*gib)),
				node("b", "eu", network("2001:db8:1::/48"), free(800*gib)),
				node("c", "eu", network("2001:db8:2::/48"), free(100*gib)),
			},
			r:    2,
			want: []string{"a", "c"},
		},
		{
			name: "then distinct operators",
			nodes: []Node{
				node("a", "eu", network("10.0.1.0/24"), op("x"), free(900*gib)),
				node("b", "eu", network("10.0.2.0/24"), op("x"), free(800*gib)),
				node("c", "eu", network("10.0.3.0/24"), op("y"), free(100*gib)),
			},
			r:    3,
			want: []string{"a", "c", "b"},
		},
		{
			name: "a shared network weighs more than a shared operator",
			nodes: []Node{
				node("a", "eu", network("10.0.1.0/24"), op("x"), free(900*gib)),
				node("b", "eu", network("10.0.1.0/24"), op("y"), free(800*gib)),
				node("c", "eu", network("10.0.2.0/24"), op("x"), free(100*gib)),
			},
			r:    2,
			want: []string{"a", "c"},
		},
		{
			name: "unknown network and operator count as unshared",
			nodes: []Node{
				node("a", "eu", free(900*gib)),
				node("b", "eu", free(800*gib)),
				node("c", "eu", network("10.0.2.0/24"), op("x"), free(100*gib)),
			},
			r:    2,
			want: []string{"a", "b"},
		},
		{
			name: "then most free space",
			nodes: []Node{
				node("a", "eu", free(10*gib)), node("b", "eu", free(100*gib)), node("c", "eu", free(50*gib)),
			},
			r:    3,
			want: []string{"b", "c", "a"},
		},
		{
			name: "free space within about 10 % is a tie",
			nodes: []Node{
				node("a", "eu", free(100*gib)), node("b", "eu", free(102*gib)), node("c", "eu", free(50*gib)),
			},
			r:    3,
			want: []string{"a|b", "a|b", "c"},
		},
		{
			name: "full, draining, suspect, down and unreliable nodes get none",
			nodes: []Node{
				node("a", "eu", full), node("b", "eu", draining), node("c", "us", suspect),
				node("d", "us", down), node("e", "as", avail(0.3)), node("f", "as", free(1*gib)),
			},
			r:    5,
			want: []string{"f"},
		},
		{
			name:  "never more than the usable nodes",
			nodes: []Node{node("a", "eu"), node("b", "us"), node("c", "as")},
			r:     16,
			want:  []string{"a|b|c", "a|b|c", "a|b|c"},
		},
		{
			name:  "r of zero",
			nodes: []Node{node("a", "eu")},
			r:     0,
			want:  nil,
		},
		{
			name: "no nodes",
			r:    3,
			want: nil,
		},
		{
			name: "holders are not chosen and their regions count as used",
			nodes: []Node{
				node("eu1", "eu", free(900*gib)), node("eu2", "eu", free(800*gib)),
				node("us1", "us", free(900*gib)), node("us2", "us", free(800*gib)),
				node("as1", "as", free(10*gib)), node("as2", "as", free(20*gib)),
			},
			r:    3,
			have: []string{"eu1", "us2"},
			want: []string{"as2", "us1|eu2", "us1|eu2"},
		},
		{
			name: "holders' networks and operators count as used",
			nodes: []Node{
				node("h", "eu", network("10.0.1.0/24"), op("x")),
				node("a", "eu", network("10.0.1.0/24"), op("y"), free(900*gib)),
				node("b", "eu", network("10.0.2.0/24"), op("x"), free(800*gib)),
				node("c", "eu", network("10.0.3.0/24"), op("z"), free(10*gib)),
			},
			r:    1,
			have: []string{"h"},
			want: []string{"c"},
		},
		{
			name: "holders that are down or full still count",
			nodes: []Node{
				node("eu1", "eu", down), node("us1", "us", full),
				node("eu2", "eu", free(900*gib)), node("us2", "us", free(900*gib)), node("as1", "as", free(1*gib)),
			},
			r:    1,
			have: []string{"eu1", "us1"},
			want: []string{"as1"},
		},
		{
			name:  "unknown holders are ignored",
			nodes: []Node{node("a", "eu")},
			r:     2,
			have:  []string{"gone"},
			want:  []string{"a"},
		},
		{
			name: "skipped nodes are not chosen and do not count",
			nodes: []Node{
				node("eu1", "eu", free(900*gib)), node("eu2", "eu", free(800*gib)), node("us1", "us", free(1*gib)),
			},
			r:    2,
			skip: []string{"eu1"},
			want: []string{"eu2", "us1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := NewView(tt.nodes, "eu", nil)
			var skip func(string) bool
			if tt.skip != nil {
				skip = set(tt.skip...)
			}
			for seed := range uint64(20) {
				got := v.Place(tt.r, tt.have, skip, rand.New(rand.NewPCG(seed, 1)))
				if len(got) != len(tt.want) {
					t.Fatalf("seed %d: Place = %v, want %v", seed, ids(got), tt.want)
				}
				seen := map[string]bool{}
				for i, n := range got {
					if seen[n.ID] {
						t.Fatalf("seed %d: Place = %v chose %s twice", seed, ids(got), n.ID)
					}
					seen[n.ID] = true
					if !strings.Contains("|"+tt.want[i]+"|", "|"+n.ID+"|") {
						t.Fatalf("seed %d: Place = %v, want %v", seed, ids(got), tt.want)
					}
				}
			}
		})
	}
}

// Exact ties are broken at random, so identical nodes share the load.
func TestPlaceSpreadsTies(t *testing.T) {
	var nodes []Node
	for _, region := range []string{"eu", "us", "as", "af"} {
		for i := range 5 {
			nodes = append(nodes, node(region+string(rune('0'+i)), region))
		}
	}
	v := NewView(nodes, "eu", nil)
	rnd := rand.New(rand.NewPCG(1, 2))
	count := map[string]int{}
	const rounds = 2000
	for range rounds {
		got := v.Place(4, nil, nil, rnd)
		regions := map[string]bool{}
		for _, n := range got {
			count[n.ID]++
			regions[n.Region] = true
		}
		if len(regions) != 4 {
			t.Fatalf("Place = %v, want one node in each of 4 regions", ids(got))
		}
	}
	for _, n := range nodes {
		// Each node should get about rounds/5 = 400 picks.
		if c := count[n.ID]; c < 300 || c > 500 {
			t.Errorf("node %s chosen %d times in %d rounds, want about %d", n.ID, c, rounds, rounds/5)
		}
	}
	if got := v.Place(4, nil, nil, nil); len(got) != 4 {
		t.Errorf("Place with the global source = %v, want 4 nodes", ids(got))
	}
}

// Over many regions, networks and operators, the first picks never share a
// region while unused regions remain, nor a network or operator while the
// region offers an unused one.
func TestPlaceLargeSpread(t *testing.T) {
	v := benchView(2000, 12)
	rnd := rand.New(rand.NewPCG(3, 4))
	for range 50 {
		got := v.Place(20, nil, nil, rnd)
		if len(got) != 20 {
			t.Fatalf("Place chose %d nodes, want 20", len(got))
		}
		regions := map[string]int{}
		for i, n := range got {
			if i < 12 && regions[n.Region] > 0 {
				t.Fatalf("pick %d in region %s again before all 12 regions were used: %v", i, n.Region, ids(got))
			}
			regions[n.Region]++
		}
		nets, ops := map[string]bool{}, map[string]bool{}
		for _, n := range got {
			if nets[n.Net.String()] || ops[n.Operator] {
				t.Errorf("network %s or operator %s used twice: %v", n.Net, n.Operator, ids(got))
			}
			nets[n.Net.String()], ops[n.Operator] = true, true
		}
	}
}

func TestFreeBucket(t *testing.T) {
	prev := freeBucket(-1)
	if prev != 0 || freeBucket(0) != 0 {
		t.Fatalf("freeBucket(<= 0) = %d, %d, want 0", prev, freeBucket(0))
	}
	for b := int64(1); b < 1<<50; b += b/97 + 1 {
		got := freeBucket(b)
		if got < prev {
			t.Fatalf("freeBucket(%d) = %d < %d for less", b, got, prev)
		}
		if next := freeBucket(b + b/8 + 1); b > 16 && next <= got {
			t.Fatalf("freeBucket(%d) = %d, not above freeBucket(%d) = %d", b+b/8+1, next, b, got)
		}
		prev = got
	}
}

func ids(ns []*Node) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.ID
	}
	return out
}
