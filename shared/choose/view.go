package choose

import (
	"github.com/cespare/xxhash/v2"

	"cmp"
	"net/netip"
	"slices"
	"time"
)

// View is an immutable snapshot of the nodes with everything the decisions
// need precomputed. It is safe for concurrent use. Pointers it returns
// point into the snapshot and must not be modified.
type View struct {
	nodes []Node
	meta  []meta
	// regions holds every region named by a node or by regionRTT.
	regions  []region
	regionIx map[string]int32
	// gwOrder is the order to try regions for a client whose region the
	// view does not know: nearest to the gateway first.
	gwOrder []int32
	byID    map[string]int32
	nPlace  int // placeable nodes
	nNets   int
	nOps    int
}

// meta is what NewView derives from one node.
type meta struct {
	score  float64
	region int32
	net    int32  // -1 if unknown
	op     int32  // -1 if unknown
	bucket int32  // freeBucket(Free)
	hash   uint64 // of the node's ID, for rendezvous tie-breaks
}

type region struct {
	name string
	// usable nodes (see usable) by score, best first.
	usable []int32
	// spare nodes are up but suspect or below MinAvailability, by score:
	// the last resort.
	spare []int32
	// place holds the placeable nodes by free bucket, roomiest first;
	// groups holds the end of each run of equal buckets in place.
	place  []int32
	groups []int32
	// order is the order to try regions for a client here: this region
	// first if it has nodes, then the others nearest first.
	order []int32
}

// NewView builds a snapshot of nodes (which it copies) for a gateway in
// region home. regionRTT[a][b] is the measured RTT from region a to region
// b, as the nodes report it; entries may be missing, and a missing [a][b]
// is taken from [b][a].
//
// For a client in region a, the regions are tried in this order: a itself,
// then the regions with a measured RTT from a, nearest first, then the
// others by the gateway's own RTT to them (the lowest RTT of their nodes:
// the gateway stands where its clients are), then any left unmeasured, by
// name; the home region wins ties. A client in a region the view does not
// know at all gets the gateway's order.
func NewView(nodes []Node, home string, regionRTT map[string]map[string]time.Duration) *View {
	v := &View{
		nodes:    slices.Clone(nodes),
		meta:     make([]meta, len(nodes)),
		regionIx: make(map[string]int32),
		byID:     make(map[string]int32, len(nodes)),
	}
	regionOf := func(name string) int32 {
		if i, ok := v.regionIx[name]; ok {
			return i
		}
		i := int32(len(v.regions))
		v.regions = append(v.regions, region{name: name})
		v.regionIx[name] = i
		return i
	}
	nets := make(map[netip.Prefix]int32)
	ops := make(map[string]int32)
	for i := range v.nodes {
		n := &v.nodes[i]
		m := meta{score: Score(n), region: regionOf(n.Region), net: -1, op: -1, bucket: freeBucket(n.Free), hash: xxhash.Sum64String(n.ID)}
		if n.Net.IsValid() {
			p := n.Net.Masked()
			id, ok := nets[p]
			if !ok {
				id = int32(len(nets))
				nets[p] = id
			}
			m.net = id
		}
		if n.Operator != "" {
			id, ok := ops[n.Operator]
			if !ok {
				id = int32(len(ops))
				ops[n.Operator] = id
			}
			m.op = id
		}
		v.meta[i] = m
		v.byID[n.ID] = int32(i)
		r := &v.regions[m.region]
		switch {
		case usable(n):
			r.usable = append(r.usable, int32(i))
			if placeable(n) {
				r.place = append(r.place, int32(i))
				v.nPlace++
			}
		case n.Up:
			r.spare = append(r.spare, int32(i))
		}
	}
	v.nNets, v.nOps = len(nets), len(ops)
	for a, row := range regionRTT {
		regionOf(a)
		for b := range row {
			regionOf(b)
		}
	}

	byScore := func(a, b int32) int {
		return cmp.Or(cmp.Compare(v.meta[b].score, v.meta[a].score), cmp.Compare(v.nodes[a].ID, v.nodes[b].ID))
	}
	byRoom := func(a, b int32) int {
		return cmp.Or(cmp.Compare(v.meta[b].bucket, v.meta[a].bucket), cmp.Compare(v.nodes[a].ID, v.nodes[b].ID))
	}
	for i := range v.regions {
		r := &v.regions[i]
		slices.SortFunc(r.usable, byScore)
		slices.SortFunc(r.spare, byScore)
		slices.SortFunc(r.place, byRoom)
		for j := range r.place {
			if j+1 == len(r.place) || v.meta[r.place[j+1]].bucket != v.meta[r.place[j]].bucket {
				r.groups = append(r.groups, int32(j+1))
			}
		}
	}
	v.orderRegions(home, regionRTT)
	return v
}

// orderRegions fills each region's order and gwOrder.
func (v *View) orderRegions(home string, regionRTT map[string]map[string]time.Duration) {
	// Only regions with a node that can serve are worth trying.
	var serving []int32
	gw := make([]time.Duration, len(v.regions)) // 0: not measured
	for i := range v.regions {
		r := &v.regions[i]
		if len(r.usable)+len(r.spare) > 0 {
			serving = append(serving, int32(i))
		}
		for _, list := range [][]int32{r.usable, r.spare} {
			for _, n := range list {
				if rtt := v.nodes[n].RTT; rtt > 0 && (gw[i] == 0 || rtt < gw[i]) {
					gw[i] = rtt
				}
			}
		}
	}

	// key ranks region x for a client in region a: measured from a, then
	// measured from the gateway, then unmeasured.
	type key struct {
		class int
		rtt   time.Duration
	}
	keyOf := func(a *string, x int32) key {
		if a != nil {
			b := v.regions[x].name
			if d := regionRTT[*a][b]; d > 0 {
				return key{0, d}
			}
			if d := regionRTT[b][*a]; d > 0 {
				return key{0, d}
			}
		}
		if gw[x] > 0 {
			return key{1, gw[x]}
		}
		return key{2, 0}
	}
	// order ranks the serving regions for a client in region a (nil: a
	// region the view does not know), putting first (if >= 0) first.
	order := func(a *string, first int32) []int32 {
		out := make([]int32, 0, len(serving))
		if first >= 0 {
			out = append(out, first)
		}
		rest := len(out)
		keys := make([]key, len(v.regions))
		for _, x := range serving {
			if x == first {
				continue
			}
			keys[x] = keyOf(a, x)
			out = append(out, x)
		}
		slices.SortFunc(out[rest:], func(x, y int32) int {
			kx, ky := keys[x], keys[y]
			return cmp.Or(
				cmp.Compare(kx.class, ky.class),
				cmp.Compare(kx.rtt, ky.rtt),
				cmp.Compare(boolRank(v.regions[x].name != home), boolRank(v.regions[y].name != home)),
				cmp.Compare(v.regions[x].name, v.regions[y].name),
			)
		})
		return out
	}
	for i := range v.regions {
		r := &v.regions[i]
		first := int32(-1)
		if len(r.usable)+len(r.spare) > 0 {
			first = int32(i)
		}
		r.order = order(&r.name, first)
	}
	v.gwOrder = order(nil, -1)
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Len returns how many nodes the view holds.
func (v *View) Len() int { return len(v.nodes) }
