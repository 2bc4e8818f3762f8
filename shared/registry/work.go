package registry

import (
	"context"
	"errors"
	"time"
)

// AuditTarget is a holder chosen for a challenge by SampleHolders.
type AuditTarget struct {
	CID    string
	Size   int64 // size of the CID's content in bytes
	NodeID string
	Region string // the holding node's region
	URL    string // the holding node's URL
	Status string // the holder row's: StatusPinned, or StatusFailed for a copy that failed
}

// checkLeaseArgs returns an error unless key and owner are set and ttl is
// positive.
func checkLeaseArgs(key, owner string, ttl time.Duration) error {
	switch {
	case key == "":
		return errors.New("empty lease key")
	case owner == "":
		return errors.New("empty lease owner")
	case ttl <= 0:
		return errors.New("lease ttl not positive")
	}
	return nil
}

// repairNeeds calls minHealthy for each distinct replica target and returns
// the targets that need any healthy holder, with what they need, as two
// parallel slices (for a query's parameters).
func repairNeeds(replicas []int64, minHealthy func(int) int) (targets, needs []int64) {
	for _, r := range replicas {
		if n := minHealthy(int(r)); n > 0 {
			targets = append(targets, r)
			needs = append(needs, int64(n))
		}
	}
	return targets, needs
}

// pinsOf returns the pin info of each CID in order, leaving out CIDs no
// longer pinned.
func pinsOf(ctx context.Context, r Registry, cids []string) ([]PinInfo, error) {
	var pins []PinInfo
	for _, cid := range cids {
		info, err := r.Pin(ctx, cid)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		pins = append(pins, info)
	}
	return pins, nil
}
