package registry

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Audit outcomes (Audit.Outcome, Holder.LastOutcome).
const (
	AuditPass    = "pass"    // proof verified within the hard limit
	AuditFail    = "fail"    // bad or missing proof: the node answered, wrongly or "not found"
	AuditTimeout = "timeout" // no answer within the hard limit: containment, the challenge is asked again
	AuditOffline = "offline" // node unreachable: not a failure
	AuditUnknown = "unknown" // any other error: a suspension signal, not a failure
)

// Audit is one recorded challenge of one holder.
type Audit struct {
	ID       int64         // set by the registry (RecordAudit's result); IDs grow with every record
	NodeID   string        // the audited node
	CID      string        // the challenged content
	Auditor  string        // id of the auditd instance; may be empty
	At       time.Time     // when the challenge was sent (UTC); RecordAudit sets it to now if zero
	Outcome  string        // AuditPass, AuditFail, AuditTimeout, AuditOffline or AuditUnknown
	Reason   string        // human-readable cause; required unless Outcome is AuditPass
	Latency  time.Duration // time to the complete answer; 0 if there was none
	Deadline time.Duration // the soft deadline the answer was held to
	Suspect  bool          // relay suspicion: the answer was correct but later than Deadline
}

// CheckAudit returns an error unless a can be recorded (by a node that
// exists): CID set, a known Outcome, a Reason for every outcome but
// AuditPass, and Latency and Deadline not negative.
func CheckAudit(a Audit) error {
	switch {
	case a.CID == "":
		return errors.New("audit without cid")
	case a.Latency < 0 || a.Deadline < 0:
		return fmt.Errorf("audit with negative latency %v or deadline %v", a.Latency, a.Deadline)
	}
	switch a.Outcome {
	case AuditPass:
		return nil
	case AuditFail, AuditTimeout, AuditOffline, AuditUnknown:
		if a.Reason == "" {
			return fmt.Errorf("%s audit without a reason", a.Outcome)
		}
		return nil
	}
	return fmt.Errorf("invalid audit outcome %q", a.Outcome)
}

// defaultLimit is the number of rows a listing returns when its limit is 0
// or negative.
const defaultLimit = 100

// listLimit returns limit, or defaultLimit if limit <= 0.
func listLimit(limit int) int {
	if limit <= 0 {
		return defaultLimit
	}
	return limit
}

// Times stored as int64 unix nanoseconds cover 1678 to 2262.
var (
	minNanosTime = time.Unix(0, math.MinInt64)
	maxNanosTime = time.Unix(0, math.MaxInt64)
)

// toNanos returns t as unix nanoseconds, 0 for the zero time (as optTime
// reads it back) and clamped to the int64 range otherwise.
func toNanos(t time.Time) int64 {
	return boundNanos(t, 0)
}

// boundNanos is toNanos with zero mapped to the given value: the bounds of
// a range whose zero ends are open.
func boundNanos(t time.Time, zero int64) int64 {
	switch {
	case t.IsZero():
		return zero
	case t.Before(minNanosTime):
		return math.MinInt64
	case t.After(maxNanosTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// optTime converts stored unix nanoseconds to a UTC time, 0 to the zero time
// (never).
func optTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return fromNanos(ns)
}

// addNanos returns ns + d, saturating at the int64 bounds.
func addNanos(ns int64, d time.Duration) int64 {
	switch {
	case d > 0 && ns > math.MaxInt64-int64(d):
		return math.MaxInt64
	case d < 0 && ns < math.MinInt64-int64(d):
		return math.MinInt64
	}
	return ns + int64(d)
}

// lastAudit returns the newest LastAudit of holders, zero if none.
func lastAudit(holders []Holder) time.Time {
	var last time.Time
	for _, h := range holders {
		if h.LastAudit.After(last) {
			last = h.LastAudit
		}
	}
	return last
}
