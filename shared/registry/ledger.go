package registry

import (
	"errors"
	"fmt"
	"time"
)

// Ledger entry kinds (LedgerEntry.Kind).
const (
	LedgerStorage = "storage" // byte-hours of a held copy, credited on passed audits
	LedgerEgress  = "egress"  // bytes served
)

// LedgerEntry is one credit to a node.
type LedgerEntry struct {
	NodeID string
	CID    string    // the held CID for LedgerStorage; "" for LedgerEgress
	Kind   string    // LedgerStorage or LedgerEgress
	Amount float64   // byte-hours (LedgerStorage) or bytes (LedgerEgress)
	At     time.Time // when it was credited (UTC)
}

// Earnings sums a node's ledger entries over [From, To).
type Earnings struct {
	NodeID      string
	ByteHours   float64   // sum of LedgerStorage entries
	EgressBytes int64     // sum of LedgerEgress entries
	From, To    time.Time // the range asked for, as given
}

// Usage is what an account stores.
type Usage struct {
	Account     string
	StoredBytes int64 // sum of the sizes of its pins
	Pins        int64 // number of its pins
	// From the ledger, all time: what nodes were credited for the
	// account's blobs (shared evenly with other accounts pinning them).
	ByteHours   float64 // replica byte-hours accrued
	EgressBytes int64   // bytes nodes served
}

// Egress is bytes a node served of one blob (CID "": not attributed to
// a blob).
type Egress struct {
	CID   string
	Bytes int64
}

// checkEgress refuses a batch with a negative entry.
func checkEgress(nodeID string, served []Egress) error {
	for _, e := range served {
		if e.Bytes < 0 {
			return fmt.Errorf("registry: egress of %q: negative bytes %d for %q", nodeID, e.Bytes, e.CID)
		}
	}
	return nil
}

// byteHours returns the byte-hours of size bytes held from one unix
// nanosecond time to a later one.
func byteHours(size, from, to int64) float64 {
	return float64(size) * float64(to-from) / float64(time.Hour)
}

// checkAccrualTime returns an error if at is the zero time.
func checkAccrualTime(at time.Time) error {
	if at.IsZero() {
		return errors.New("zero accrual time")
	}
	return nil
}
