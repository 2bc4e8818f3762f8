package registry

import (
	"errors"
	"fmt"
	"slices"
)

// Statuses of a pinned CID (PinInfo.Status) and of one holder's copy
// (Holder.Status). A CID may be in any of the four; a holder row is never
// StatusQueued.
const (
	StatusQueued  = "queued"  // CID: placement not started yet
	StatusPinning = "pinning" // CID or holder: a copy is being made
	StatusPinned  = "pinned"  // CID or holder: committed copies exist
	StatusFailed  = "failed"  // CID or holder: placement or copy failed
)

// checkPinStatus returns an error unless s is a valid PinInfo.Status.
func checkPinStatus(s string) error {
	switch s {
	case StatusQueued, StatusPinning, StatusPinned, StatusFailed:
		return nil
	}
	return fmt.Errorf("invalid pin status %q", s)
}

// checkHolderStatus returns an error unless s is a valid Holder.Status.
func checkHolderStatus(s string) error {
	switch s {
	case StatusPinning, StatusPinned, StatusFailed:
		return nil
	}
	return fmt.Errorf("invalid holder status %q", s)
}

// checkPinArgs validates RecordPin's cid and size and returns its holders
// sorted and without duplicates (so that concurrent writers lock holder rows
// in the same order).
func checkPinArgs(cid string, size int64, holders []string) ([]string, error) {
	if cid == "" {
		return nil, errors.New("empty cid")
	}
	if size < 0 {
		return nil, fmt.Errorf("negative size %d", size)
	}
	ids := slices.Clone(holders)
	slices.Sort(ids)
	return slices.Compact(ids), nil
}
