package registry

import "time"

// AccountPin is one of an account's pins.
type AccountPin struct {
	CID      string
	Size     int64
	Status   string // the CID's PinInfo.Status
	Replicas int    // its target number of copies
	PinnedAt time.Time
}

// Garbage is a CID no account pins any more, and the holders still
// listed with a copy of it.
type Garbage struct {
	CID     string
	Holders []Holder // NodeID, Region and URL set
}

// garbageLimit is CollectGarbage's limit: limit if positive, else 100.
func garbageLimit(limit int) int {
	if limit <= 0 {
		return 100
	}
	return limit
}

// pinsLimit is AccountPins's limit: limit in 1..1000, 100 if not positive.
func pinsLimit(limit int) int {
	switch {
	case limit <= 0:
		return 100
	case limit > 1000:
		return 1000
	}
	return limit
}
