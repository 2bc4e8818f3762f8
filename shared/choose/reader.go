package choose

// Choice is the node chosen to serve a reader.
type Choice struct {
	Node   *Node   // points into the View; do not modify
	Score  float64 // Score(Node)
	Region string  // the region that serves: Node.Region
	// Fallback is set when the node is not in the client's region.
	Fallback bool
	// LastResort is set when nothing anywhere was usable and the node is
	// suspect or below MinAvailability.
	LastResort bool
}

// Reader chooses the node to serve a reader in region; isHolder (nil: no
// node holds the blob) reports whether a node holds the blob already.
//
// It ranks the usable nodes (Up, not Suspect, Availability at least
// MinAvailability) of the client's region by Score; a holder within
// TieMargin of the best score wins over it, the best such holder first.
// With no usable node in the region, the next region in the client's order
// serves (see NewView), and so on outward. Only when no node anywhere is
// usable does it take, in the same order, a node that is up but suspect or
// below the availability floor. Nodes that are not Up are never chosen. It
// reports false when no node is up.
//
// Reader does not allocate, and looks at no more nodes than the tied top
// group of one region.
func (v *View) Reader(region string, isHolder func(id string) bool) (Choice, bool) {
	return v.ReaderFor(region, 0, isHolder)
}

// ReaderFor is Reader for the blob whose key (a hash of its CID) is given:
// among the nodes that tie for the best score, holders first, the one
// with the highest rendezvous weight for key wins. Every gateway then
// sends readers of one blob to the same node of a tied group, so its
// cache serves them, while different blobs spread over the group.
func (v *View) ReaderFor(region string, key uint64, isHolder func(id string) bool) (Choice, bool) {
	order := v.gwOrder
	if i, ok := v.regionIx[region]; ok {
		order = v.regions[i].order
	}
	for _, last := range [2]bool{false, true} {
		for _, ri := range order {
			r := &v.regions[ri]
			list := r.usable
			if last {
				list = r.spare
			}
			if len(list) == 0 {
				continue
			}
			n := v.best(list, key, isHolder)
			return Choice{
				Node:       &v.nodes[n],
				Score:      v.meta[n].score,
				Region:     r.name,
				Fallback:   r.name != region,
				LastResort: last,
			}, true
		}
	}
	return Choice{}, false
}

// best returns, among the nodes of list (sorted by score) that tie with
// the first, the holder with the highest rendezvous weight for key, or
// with no holder among them the node with the highest weight.
func (v *View) best(list []int32, key uint64, isHolder func(id string) bool) int32 {
	floor := v.meta[list[0]].score * (1 - TieMargin)
	best, bestW, bestHeld := list[0], uint64(0), false
	for i, n := range list {
		if v.meta[n].score < floor {
			break
		}
		held := isHolder != nil && isHolder(v.nodes[n].ID)
		w := mix(key ^ v.meta[n].hash)
		if i == 0 || held && !bestHeld || held == bestHeld && w > bestW {
			best, bestW, bestHeld = n, w, held
		}
	}
	return best
}

// mix is splitmix64's finalizer: a well-spread weight from a key.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
