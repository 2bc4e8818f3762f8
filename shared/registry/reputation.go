package registry

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Node standings (NodeRep.Status).
const (
	NodeActive       = "active"       // audited, paid and given new pins
	NodeSuspended    = "suspended"    // too many unknown errors: audited, but given no new pins
	NodeDisqualified = "disqualified" // lost: no audits, no pay, all its pins go to repair
)

// NodeRep is a node's audit reputation. Audit success follows a beta model
// (as in Storj): after each audit alpha and beta are decayed by a forgetting
// factor and alpha (pass) or beta (fail) grows by one; Score is the expected
// success rate. Unknown errors have a model of their own, for suspension.
// The registry stores what auditd computes; it applies no model itself.
type NodeRep struct {
	NodeID string

	Alpha, Beta               float64 // audit success model; a new node has Alpha 1, Beta 0
	UnknownAlpha, UnknownBeta float64 // the same model for unknown-error outcomes; new: 1, 0

	// Counts of recorded outcomes, kept by whoever updates the reputation.
	Audits, Passes, Fails, Timeouts, Offline, Unknown, Suspects int64

	Status       string    // NodeActive, NodeSuspended or NodeDisqualified
	StatusReason string    // why Status was last changed
	StatusAt     time.Time // when Status was last changed (UTC); zero if never

	Contained      string // CID of the pending re-asked challenge; "" if none
	ContainedTries int    // times that challenge has been asked without an answer

	UpdatedAt time.Time // last UpdateReputation (UTC), set by the registry; zero if never
}

// NewNodeRep returns the reputation of a node never audited.
func NewNodeRep(nodeID string) NodeRep {
	return NodeRep{NodeID: nodeID, Alpha: 1, UnknownAlpha: 1, Status: NodeActive}
}

// Score is the audit success score Alpha/(Alpha+Beta), 1 for a node without
// evidence.
func (r NodeRep) Score() float64 {
	return betaScore(r.Alpha, r.Beta)
}

// UnknownScore is UnknownAlpha/(UnknownAlpha+UnknownBeta), the score for
// suspension, 1 for a node without evidence.
func (r NodeRep) UnknownScore() float64 {
	return betaScore(r.UnknownAlpha, r.UnknownBeta)
}

func betaScore(alpha, beta float64) float64 {
	if alpha+beta <= 0 {
		return 1
	}
	return alpha / (alpha + beta)
}

// CheckNodeRep returns an error unless r can be stored: a known Status,
// model parameters finite and not negative, and counts not negative.
func CheckNodeRep(r NodeRep) error {
	switch r.Status {
	case NodeActive, NodeSuspended, NodeDisqualified:
	default:
		return fmt.Errorf("invalid node status %q", r.Status)
	}
	for _, v := range []float64{r.Alpha, r.Beta, r.UnknownAlpha, r.UnknownBeta} {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return fmt.Errorf("invalid model parameter %v", v)
		}
	}
	for _, n := range []int64{r.Audits, r.Passes, r.Fails, r.Timeouts, r.Offline, r.Unknown, r.Suspects,
		int64(r.ContainedTries)} {
		if n < 0 {
			return fmt.Errorf("negative count %d", n)
		}
	}
	return nil
}

// applyRepUpdate calls f on a copy of cur and returns the result to write:
// checked, with NodeID unchanged, UpdatedAt now and StatusAt now if Status
// changed without it. Times are normalized as they read back.
func applyRepUpdate(cur NodeRep, f func(*NodeRep) error, now int64) (NodeRep, error) {
	next := cur
	if err := f(&next); err != nil {
		return NodeRep{}, err
	}
	if next.NodeID != cur.NodeID {
		return NodeRep{}, errors.New("reputation update changed the node id")
	}
	if err := CheckNodeRep(next); err != nil {
		return NodeRep{}, err
	}
	if next.Status != cur.Status && next.StatusAt.Equal(cur.StatusAt) {
		next.StatusAt = fromNanos(now)
	}
	next.StatusAt = optTime(toNanos(next.StatusAt))
	next.UpdatedAt = fromNanos(now)
	return next, nil
}
