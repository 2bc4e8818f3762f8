package choose

import "math/rand/v2"

// Place chooses up to r more nodes to hold a blob, in the order to use
// them: the gateway writes to the first W itself and orders the rest to
// pull from a holder. have lists the current holders (nil for a new blob):
// they are never chosen, and their regions, networks and operators count
// as used, so a repair spreads away from them. skip (nil: none) rules out
// other nodes, such as one that just failed a write, without counting
// them as used. rnd breaks ties; nil uses the global source.
//
// Only placeable nodes are chosen: Up, not Suspect, Availability at least
// MinAvailability, Accepting and not Draining. Each pick is the node that
// is best by, in turn:
//
//  1. fewest chosen or holding nodes in its region, so the first k picks
//     are in k distinct regions while the network has them;
//  2. fewest in its /24 (or /48) network, then fewest with its operator
//     (an unknown network or operator counts as unshared);
//  3. most free space, compared in steps of about 10 % (an eighth of an
//     octave), so blobs spread over nodes with nearly equal room;
//  4. at random.
//
// It returns fewer than r nodes when fewer are placeable, and nil if r <= 0.
// A pick costs a few nodes per region while unshared networks and
// operators remain, up to a region's nodes once they run out, so Place is
// meant for the tens of replicas a blob has, not for ordering every node.
// The nodes point into the View and must not be modified.
func (v *View) Place(r int, have []string, skip func(id string) bool, rnd *rand.Rand) []*Node {
	if r <= 0 || v.nPlace == 0 {
		return nil
	}
	p := placer{
		v:         v,
		skip:      skip,
		rnd:       rnd,
		regionCnt: make([]int32, len(v.regions)),
		netCnt:    make([]uint8, v.nNets),
		opCnt:     make([]uint8, v.nOps),
		exhausted: make([]bool, len(v.regions)),
		taken:     make([]uint64, (len(v.nodes)+63)/64),
	}
	for _, id := range have {
		if n, ok := v.byID[id]; ok {
			p.take(n)
		}
	}
	out := make([]*Node, 0, min(r, v.nPlace))
	for len(out) < r {
		n, ok := p.pick()
		if !ok {
			break
		}
		p.take(n)
		out = append(out, &v.nodes[n])
	}
	return out
}

// placer is the state of one Place call.
type placer struct {
	v         *View
	skip      func(id string) bool
	rnd       *rand.Rand
	regionCnt []int32
	netCnt    []uint8
	opCnt     []uint8
	exhausted []bool   // regions with no candidate left
	taken     []uint64 // bit set of holders and picks so far
}

// placeKey ranks a candidate within the regions of equal count.
type placeKey struct {
	net, op uint8
	bucket  int32
}

// compare returns < 0 if a is the better candidate.
func (a placeKey) compare(b placeKey) int {
	switch {
	case a.net != b.net:
		return int(a.net) - int(b.net)
	case a.op != b.op:
		return int(a.op) - int(b.op)
	case a.bucket != b.bucket:
		return int(b.bucket - a.bucket)
	}
	return 0
}

func (p *placer) take(n int32) {
	m := &p.v.meta[n]
	p.regionCnt[m.region]++
	if m.net >= 0 {
		p.netCnt[m.net] = min(p.netCnt[m.net], 254) + 1
	}
	if m.op >= 0 {
		p.opCnt[m.op] = min(p.opCnt[m.op], 254) + 1
	}
	p.taken[n/64] |= 1 << (n % 64)
}

func (p *placer) intN(n int) int {
	if p.rnd != nil {
		return p.rnd.IntN(n)
	}
	return rand.IntN(n)
}

// pick returns the next node to place on.
func (p *placer) pick() (int32, bool) {
	for {
		least := int32(-1)
		for ri := range p.v.regions {
			if !p.exhausted[ri] && len(p.v.regions[ri].place) > 0 && (least < 0 || p.regionCnt[ri] < least) {
				least = p.regionCnt[ri]
			}
		}
		if least < 0 {
			return 0, false
		}
		best, ties := int32(-1), 0
		var bestKey placeKey
		for ri := range p.v.regions {
			if p.exhausted[ri] || len(p.v.regions[ri].place) == 0 || p.regionCnt[ri] != least {
				continue
			}
			n, k, ok := p.bestIn(ri)
			if !ok {
				p.exhausted[ri] = true
				continue
			}
			switch c := k.compare(bestKey); {
			case best < 0 || c < 0:
				best, bestKey, ties = n, k, 1
			case c == 0:
				ties++
				if p.intN(ties) == 0 { // reservoir: each tie equally likely
					best = n
				}
			}
		}
		if best >= 0 {
			return best, true
		}
		// Every region of the least count was exhausted: try the next.
	}
}

// bestIn returns the best candidate of region ri. It walks the region's
// runs of equal free space, roomiest first, each from a random start, and
// stops at the first node that shares neither network nor operator: no
// later node can beat it.
func (p *placer) bestIn(ri int) (int32, placeKey, bool) {
	r := &p.v.regions[ri]
	best, found := int32(-1), false
	var bestKey placeKey
	start := int32(0)
	for _, end := range r.groups {
		group := r.place[start:end]
		start = end
		off := p.intN(len(group))
		for j := range group {
			n := group[(off+j)%len(group)]
			if !p.free(n) {
				continue
			}
			k := p.key(n)
			if k.net == 0 && k.op == 0 {
				return n, k, true
			}
			if !found || k.compare(bestKey) < 0 {
				best, bestKey, found = n, k, true
			}
		}
	}
	return best, bestKey, found
}

func (p *placer) key(n int32) placeKey {
	m := &p.v.meta[n]
	k := placeKey{bucket: m.bucket}
	if m.net >= 0 {
		k.net = p.netCnt[m.net]
	}
	if m.op >= 0 {
		k.op = p.opCnt[m.op]
	}
	return k
}

// free reports whether n may still be chosen.
func (p *placer) free(n int32) bool {
	if p.taken[n/64]&(1<<(n%64)) != 0 {
		return false
	}
	return p.skip == nil || !p.skip(p.v.nodes[n].ID)
}
