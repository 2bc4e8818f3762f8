package choose

import (
	"testing"
	"time"
)

func TestReader(t *testing.T) {
	tests := []struct {
		name    string
		nodes   []Node
		home    string
		rtts    rtts
		region  string
		holders []string
		want    string // "" for no choice
		// wantFallback and wantLast are the Choice's flags.
		wantFallback, wantLast bool
	}{
		// Score ordering.
		{
			name:   "lower RTT wins",
			nodes:  []Node{node("a", "eu", rtt(8*ms)), node("b", "eu", rtt(2*ms))},
			region: "eu", want: "b",
		},
		{
			name:   "RTT deviation counts",
			nodes:  []Node{node("a", "eu", rtt(3*ms), rttVar(10*ms)), node("b", "eu", rtt(6*ms))},
			region: "eu", want: "b",
		},
		{
			name:   "unmeasured RTT loses to a measured one",
			nodes:  []Node{node("a", "eu", rtt(0)), node("b", "eu", rtt(40*ms))},
			region: "eu", want: "b",
		},
		{
			name:   "higher availability wins",
			nodes:  []Node{node("a", "eu", avail(0.9)), node("b", "eu")},
			region: "eu", want: "b",
		},
		{
			name:   "lower load wins",
			nodes:  []Node{node("a", "eu", load(40)), node("b", "eu", load(2))},
			region: "eu", want: "b",
		},
		{
			name:   "more free space wins",
			nodes:  []Node{node("a", "eu", free(1*gib)), node("b", "eu", free(200*gib))},
			region: "eu", want: "b",
		},
		{
			name:   "better node of the region beats a better node elsewhere",
			nodes:  []Node{node("a", "us", rtt(1*ms)), node("b", "eu", rtt(50*ms))},
			region: "eu", want: "b",
		},

		// Holders win ties.
		{
			name:   "holder within the margin wins",
			nodes:  []Node{node("a", "eu", rtt(5000*us)), node("b", "eu", rtt(5050*us))},
			region: "eu", holders: []string{"b"}, want: "b",
		},
		{
			name:   "holder outside the margin loses",
			nodes:  []Node{node("a", "eu", rtt(2*ms)), node("b", "eu", rtt(6*ms))},
			region: "eu", holders: []string{"b"}, want: "a",
		},
		{
			name:   "holder elsewhere does not pull the read out of the region",
			nodes:  []Node{node("a", "eu"), node("b", "us", rtt(1*ms))},
			region: "eu", holders: []string{"b"}, want: "a",
		},

		// Fallback between regions.
		{
			name: "nearest region by measured inter-region RTT",
			nodes: []Node{
				node("eu1", "eu", down), node("us1", "us", rtt(1*ms)), node("as1", "as", rtt(90*ms)),
			},
			rtts:   rtts{"eu": {"us": 100 * ms, "as": 30 * ms}},
			region: "eu", want: "as1", wantFallback: true,
		},
		{
			name: "inter-region RTT read from the reverse entry",
			nodes: []Node{
				node("eu1", "eu", down), node("us1", "us", rtt(1*ms)), node("as1", "as", rtt(90*ms)),
			},
			rtts:   rtts{"as": {"eu": 30 * ms}, "us": {"eu": 100 * ms}},
			region: "eu", want: "as1", wantFallback: true,
		},
		{
			name: "measured regions before ones only the gateway measured",
			nodes: []Node{
				node("eu1", "eu", down), node("us1", "us", rtt(1*ms)), node("as1", "as", rtt(90*ms)),
			},
			rtts:   rtts{"eu": {"as": 200 * ms}},
			region: "eu", want: "as1", wantFallback: true,
		},
		{
			name: "then outward",
			nodes: []Node{
				node("eu1", "eu", down), node("as1", "as", suspect), node("us1", "us"), node("af1", "af"),
			},
			rtts:   rtts{"eu": {"as": 30 * ms, "us": 100 * ms, "af": 150 * ms}},
			region: "eu", want: "us1", wantFallback: true,
		},
		{
			name:   "unknown client region: gateway RTT",
			nodes:  []Node{node("us1", "us", rtt(80*ms)), node("as1", "as", rtt(20*ms))},
			rtts:   rtts{"us": {"as": 150 * ms}},
			home:   "us",
			region: "mars", want: "as1", wantFallback: true,
		},
		{
			name: "client region with nodes down and no RTT row: gateway RTT",
			nodes: []Node{
				node("af1", "af", down), node("us1", "us", rtt(80*ms)), node("as1", "as", rtt(20*ms)),
			},
			rtts:   rtts{"us": {"as": 150 * ms}},
			region: "af", want: "as1", wantFallback: true,
		},
		{
			name:   "unknown client region, nothing measured: home region first",
			nodes:  []Node{node("as1", "as", rtt(0)), node("us1", "us", rtt(0)), node("eu1", "eu", rtt(0))},
			home:   "us",
			region: "", want: "us1", wantFallback: true,
		},

		// Down, suspect and unreliable nodes.
		{
			name: "down, suspect and unreliable nodes are passed over",
			nodes: []Node{
				node("a", "eu", rtt(1*ms), down), node("b", "eu", rtt(1*ms), suspect),
				node("c", "eu", rtt(1*ms), avail(0.4)), node("d", "eu", rtt(30*ms)),
			},
			region: "eu", holders: []string{"a", "b", "c"}, want: "d",
		},
		{
			name:   "suspect region loses to a usable one elsewhere",
			nodes:  []Node{node("a", "eu", suspect), node("b", "us", rtt(200*ms))},
			region: "eu", want: "b", wantFallback: true,
		},
		{
			name:   "only suspect left: the client's region first",
			nodes:  []Node{node("a", "eu", suspect, rtt(50*ms)), node("b", "us", avail(0.2), rtt(1*ms)), node("c", "us", down)},
			region: "eu", want: "a", wantLast: true,
		},
		{
			name: "only suspect left: nearest region",
			nodes: []Node{
				node("eu1", "eu", down), node("us1", "us", suspect), node("as1", "as", avail(0.3)),
			},
			rtts:   rtts{"eu": {"us": 100 * ms, "as": 30 * ms}},
			region: "eu", want: "as1", wantFallback: true, wantLast: true,
		},
		{
			name:   "nothing up",
			nodes:  []Node{node("a", "eu", down), node("b", "us", down)},
			region: "eu", want: "",
		},
		{
			name:   "no nodes",
			region: "eu", want: "",
		},

		// Re-admission through availability.
		{
			name:   "returning node at 0.6 loses to a healthy peer",
			nodes:  []Node{node("a", "eu", avail(0.6), rtt(1*ms)), node("b", "eu", rtt(20*ms))},
			region: "eu", holders: []string{"a"}, want: "b",
		},
		{
			name:   "returning node at 0.6 serves when alone",
			nodes:  []Node{node("a", "eu", avail(0.6), rtt(1*ms)), node("b", "eu", down)},
			region: "eu", want: "a",
		},
		{
			name:   "returning node below the floor serves from nowhere while others are usable",
			nodes:  []Node{node("a", "eu", avail(0.45), rtt(1*ms)), node("b", "us", rtt(150*ms))},
			region: "eu", want: "b", wantFallback: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := NewView(tt.nodes, tt.home, tt.rtts)
			c, ok := v.Reader(tt.region, set(tt.holders...))
			if tt.want == "" {
				if ok {
					t.Fatalf("Reader chose %s, want none", c.Node.ID)
				}
				return
			}
			if !ok {
				t.Fatalf("Reader chose none, want %s", tt.want)
			}
			if c.Node.ID != tt.want {
				t.Errorf("Reader chose %s (score %.4f), want %s", c.Node.ID, c.Score, tt.want)
			}
			if c.Fallback != tt.wantFallback || c.LastResort != tt.wantLast {
				t.Errorf("Fallback, LastResort = %v, %v; want %v, %v", c.Fallback, c.LastResort, tt.wantFallback, tt.wantLast)
			}
			if c.Region != c.Node.Region || c.Score != Score(c.Node) {
				t.Errorf("Choice %+v does not match its node %+v", c, *c.Node)
			}
		})
	}
}

// A node that comes back is re-admitted as its availability climbs: first
// not at all, then only behind a slower healthy peer, and then ahead of it
// for good.
func TestReaderReadmitsGradually(t *testing.T) {
	peer := node("peer", "eu", rtt(8*ms))
	a := 0.0
	var chosen []bool
	for step := range 30 {
		a += 0.25 * (1 - a) // the caller's EWMA after each successful probe
		back := node("back", "eu", rtt(2*ms), avail(a))
		c, ok := NewView([]Node{peer, back}, "eu", nil).Reader("eu", nil)
		if !ok {
			t.Fatalf("step %d: no choice", step)
		}
		chosen = append(chosen, c.Node.ID == "back")

		alone, ok := NewView([]Node{back}, "eu", nil).Reader("eu", nil)
		if !ok {
			t.Fatalf("step %d: no choice", step)
		}
		if wantLast := a < MinAvailability; alone.LastResort != wantLast {
			t.Errorf("step %d (availability %.2f): alone, LastResort = %v, want %v", step, a, alone.LastResort, wantLast)
		}
	}
	first := -1
	for i, c := range chosen {
		if c && first < 0 {
			first = i
		}
		if !c && first >= 0 {
			t.Fatalf("returning node chosen at step %d, then dropped at step %d", first, i)
		}
	}
	if first < 5 || first == -1 {
		t.Errorf("returning node chosen over its peer from step %d (%v), want a gradual return", first, chosen)
	}
}

func TestReaderDoesNotAllocate(t *testing.T) {
	v := benchView(2000, 20)
	holders := set("n17", "n42", "n1001")
	regions := []string{"r0", "r7", "nowhere"}
	allocs := testing.AllocsPerRun(100, func() {
		for _, r := range regions {
			if _, ok := v.Reader(r, holders); !ok {
				t.Fatal("no choice")
			}
		}
	})
	if allocs != 0 {
		t.Errorf("Reader allocates %v times per call", allocs/float64(len(regions)))
	}
}

// TestReaderTieRendezvous: among tied holders the choice depends on the
// blob's key, not on noise in the scores, so two gateways whose RTTs
// differ slightly send a blob's readers to the same node, and different
// blobs spread over the tied holders.
func TestReaderTieRendezvous(t *testing.T) {
	const us = time.Microsecond
	gw1 := NewView([]Node{
		node("a", "eu", rtt(5000*us)), node("b", "eu", rtt(5080*us)), node("c", "eu", rtt(5040*us)),
	}, "eu", nil)
	gw2 := NewView([]Node{ // another gateway: slightly different RTTs, order
		node("c", "eu", rtt(5090*us)), node("a", "eu", rtt(5010*us)), node("b", "eu", rtt(5000*us)),
	}, "eu", nil)
	holders := func(id string) bool { return id == "b" || id == "c" }
	count := map[string]int{}
	for key := uint64(0); key < 1000; key++ {
		c1, ok1 := gw1.ReaderFor("eu", key*0x9e3779b97f4a7c15, holders)
		c2, ok2 := gw2.ReaderFor("eu", key*0x9e3779b97f4a7c15, holders)
		if !ok1 || !ok2 {
			t.Fatal("no choice")
		}
		if c1.Node.ID != c2.Node.ID {
			t.Fatalf("key %d: gateways chose %s and %s", key, c1.Node.ID, c2.Node.ID)
		}
		count[c1.Node.ID]++
	}
	if count["a"] != 0 || count["b"] < 350 || count["c"] < 350 {
		t.Errorf("choices over 1000 blobs: %v; want only the holders b and c, about evenly", count)
	}
}
