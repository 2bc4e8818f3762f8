package choose

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
)

// benchNodes returns n nodes spread over the given number of regions, with
// varied RTT, health, load and room, 1 in 40 suspect or down, 1 in 20 full
// or draining, each in its own /24 but for a few, run by 1 of n/8 operators.
func benchNodes(n, regions int) ([]Node, map[string]map[string]time.Duration) {
	rnd := rand.New(rand.NewPCG(7, 7))
	nodes := make([]Node, n)
	for i := range nodes {
		r := i % regions
		base := time.Duration(1+r*3) * ms
		nodes[i] = Node{
			ID:           fmt.Sprintf("n%d", i),
			Region:       fmt.Sprintf("r%d", r),
			URL:          fmt.Sprintf("https://n%d.test", i),
			Net:          netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24),
			Operator:     fmt.Sprintf("op%d", rnd.IntN(max(n/8, 1))),
			RTT:          base + time.Duration(rnd.IntN(5000))*time.Microsecond,
			RTTVar:       time.Duration(rnd.IntN(2000)) * time.Microsecond,
			Availability: 0.8 + 0.2*rnd.Float64(),
			Load:         int64(rnd.IntN(50)),
			Free:         int64(1+rnd.IntN(1000)) * gib,
			Accepting:    rnd.IntN(20) != 0,
			Draining:     rnd.IntN(20) == 0,
			Up:           rnd.IntN(40) != 0,
			Suspect:      rnd.IntN(40) == 0,
		}
		if i%100 == 1 { // a few share a /24 with their neighbour
			nodes[i].Net = nodes[i-1].Net
		}
	}
	rtts := make(map[string]map[string]time.Duration, regions)
	for a := range regions {
		row := make(map[string]time.Duration, regions)
		for b := range regions {
			if a != b && rnd.IntN(10) != 0 { // a tenth missing
				row[fmt.Sprintf("r%d", b)] = time.Duration(5+rnd.IntN(250)) * ms
			}
		}
		rtts[fmt.Sprintf("r%d", a)] = row
	}
	return nodes, rtts
}

func benchView(n, regions int) *View {
	nodes, rtts := benchNodes(n, regions)
	return NewView(nodes, "r0", rtts)
}

func BenchmarkNewView10k(b *testing.B) {
	nodes, rtts := benchNodes(10000, 50)
	b.ReportAllocs()
	for b.Loop() {
		NewView(nodes, "r0", rtts)
	}
}

func BenchmarkReader10k(b *testing.B) {
	v := benchView(10000, 50)
	holders := make(map[string]bool)
	for i := range 16 {
		holders[fmt.Sprintf("n%d", i*617)] = true
	}
	isHolder := func(id string) bool { return holders[id] }
	regions := make([]string, 64)
	for i := range regions {
		regions[i] = fmt.Sprintf("r%d", i) // r50 and above: unknown regions
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, ok := v.Reader(regions[i%len(regions)], isHolder); !ok {
			b.Fatal("no choice")
		}
	}
}

func BenchmarkPlace16of10k(b *testing.B) {
	v := benchView(10000, 50)
	rnd := rand.New(rand.NewPCG(1, 1))
	b.ReportAllocs()
	for b.Loop() {
		if got := v.Place(16, nil, nil, rnd); len(got) != 16 {
			b.Fatalf("Place chose %d nodes", len(got))
		}
	}
}

// BenchmarkPlaceRepair4of10k adds 4 replicas to a blob that has 12.
func BenchmarkPlaceRepair4of10k(b *testing.B) {
	v := benchView(10000, 50)
	rnd := rand.New(rand.NewPCG(1, 1))
	var have []string
	for _, n := range v.Place(12, nil, nil, rnd) {
		have = append(have, n.ID)
	}
	b.ReportAllocs()
	for b.Loop() {
		if got := v.Place(4, have, nil, rnd); len(got) != 4 {
			b.Fatalf("Place chose %d nodes", len(got))
		}
	}
}

// BenchmarkReaderAllTied10k is the worst case: every node of a region ties,
// and none holds the blob, so Reader asks isHolder about each of them.
func BenchmarkReaderAllTied10k(b *testing.B) {
	nodes := make([]Node, 10000)
	for i := range nodes {
		nodes[i] = node(fmt.Sprintf("n%d", i), fmt.Sprintf("r%d", i%50))
	}
	v := NewView(nodes, "r0", nil)
	holders := map[string]bool{"elsewhere": true}
	isHolder := func(id string) bool { return holders[id] }
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, ok := v.Reader(nodes[i%50].Region, isHolder); !ok {
			b.Fatal("no choice")
		}
	}
}
