package audit

import (
	"fmt"
	"time"

	"dstor/shared/registry"
)

// Model is the beta reputation model (as Storj's): every audit outcome
// moves a node's (alpha, beta) with a forgetting factor, and its score
// alpha/(alpha+beta) decides disqualification. Unknown errors move a
// second pair of the same kind, whose score decides suspension.
type Model struct {
	// Lambda is the forgetting factor (default 0.999).
	Lambda float64
	// Weight is how much one audit counts (default 1).
	Weight float64
	// InitialAlpha is a new node's alpha, so one early failure does not
	// disqualify it (default 1/(1-Lambda), the model's memory: 1000).
	InitialAlpha float64
	// DisqualifyBelow disqualifies a node whose audit score falls under it
	// (default 0.96).
	DisqualifyBelow float64
	// SuspendBelow suspends a node whose unknown-error score falls under
	// it (default 0.6); it is reinstated once the score recovers.
	SuspendBelow float64
	// MaxContainment is how often a timed-out challenge is re-asked before
	// it counts as a failure (default 3).
	MaxContainment int
}

func (m *Model) defaults() {
	if m.Lambda == 0 {
		m.Lambda = 0.999
	}
	if m.Weight == 0 {
		m.Weight = 1
	}
	if m.InitialAlpha == 0 {
		m.InitialAlpha = 1 / (1 - m.Lambda)
	}
	if m.DisqualifyBelow == 0 {
		m.DisqualifyBelow = 0.96
	}
	if m.SuspendBelow == 0 {
		m.SuspendBelow = 0.6
	}
	if m.MaxContainment == 0 {
		m.MaxContainment = 3
	}
}

func (m *Model) validate() error {
	switch {
	case m.Lambda <= 0 || m.Lambda > 1:
		return fmt.Errorf("audit: Lambda must be in (0, 1], got %v", m.Lambda)
	case m.Weight <= 0:
		return fmt.Errorf("audit: Weight must be positive, got %v", m.Weight)
	case m.DisqualifyBelow <= 0 || m.DisqualifyBelow >= 1:
		return fmt.Errorf("audit: DisqualifyBelow must be in (0, 1), got %v", m.DisqualifyBelow)
	case m.SuspendBelow <= 0 || m.SuspendBelow >= 1:
		return fmt.Errorf("audit: SuspendBelow must be in (0, 1), got %v", m.SuspendBelow)
	case m.MaxContainment < 1:
		return fmt.Errorf("audit: MaxContainment must be at least 1, got %d", m.MaxContainment)
	}
	return nil
}

// Result is one audit's verdict as the model sees it.
type Result struct {
	Outcome string // registry.AuditPass, AuditFail, AuditTimeout, AuditOffline, AuditUnknown
	CID     string // the challenged blob (containment re-asks it)
	Suspect bool   // a pass that came later than the soft deadline
	Reason  string
}

// Apply updates rep for one result at time now and reports the outcome
// that counts for the record: a timeout within the containment limit
// counts as "timeout" (no score change, re-asked); the timeout that
// exhausts it counts as a failure.
func (m *Model) Apply(rep *registry.NodeRep, r Result, now time.Time) (counted string) {
	if rep.Audits == 0 { // a fresh node starts with the model's full memory of success
		rep.Alpha, rep.Beta = m.InitialAlpha, 0
		rep.UnknownAlpha, rep.UnknownBeta = m.InitialAlpha, 0
	}
	rep.Audits++
	counted = r.Outcome
	switch r.Outcome {
	case registry.AuditPass:
		rep.Passes++
		if r.Suspect {
			rep.Suspects++
		}
		m.success(&rep.Alpha, &rep.Beta)
		m.success(&rep.UnknownAlpha, &rep.UnknownBeta)
		if rep.Contained == r.CID {
			rep.Contained, rep.ContainedTries = "", 0
		}
	case registry.AuditFail:
		rep.Fails++
		m.failure(&rep.Alpha, &rep.Beta)
		if rep.Contained == r.CID {
			rep.Contained, rep.ContainedTries = "", 0
		}
	case registry.AuditTimeout:
		rep.Timeouts++
		if rep.Contained != r.CID {
			rep.Contained, rep.ContainedTries = r.CID, 0
		}
		rep.ContainedTries++
		if rep.ContainedTries >= m.MaxContainment {
			// Asked MaxContainment times and never answered: a node that
			// holds the blob answers; count it as lost.
			m.failure(&rep.Alpha, &rep.Beta)
			rep.Fails++
			rep.Contained, rep.ContainedTries = "", 0
			counted = registry.AuditFail
		}
	case registry.AuditOffline:
		rep.Offline++ // unreachable is not failing
	case registry.AuditUnknown:
		rep.Unknown++
		m.failure(&rep.UnknownAlpha, &rep.UnknownBeta)
	}
	m.judge(rep, now)
	return counted
}

func (m *Model) success(a, b *float64) {
	*a = m.Lambda**a + m.Weight
	*b = m.Lambda * *b
}

func (m *Model) failure(a, b *float64) {
	*a = m.Lambda * *a
	*b = m.Lambda**b + m.Weight
}

// judge sets the node's status from its scores. Disqualification is
// final; suspension lifts when the unknown-error score recovers.
func (m *Model) judge(rep *registry.NodeRep, now time.Time) {
	if rep.Status == StatusDisqualified {
		return
	}
	score := rep.Alpha / (rep.Alpha + rep.Beta)
	unknown := rep.UnknownAlpha / (rep.UnknownAlpha + rep.UnknownBeta)
	status, reason := StatusActive, ""
	switch {
	case score < m.DisqualifyBelow:
		status = StatusDisqualified
		reason = fmt.Sprintf("audit score %.4f fell below %.4f after %d audits (%d failed)", score, m.DisqualifyBelow, rep.Audits, rep.Fails)
	case unknown < m.SuspendBelow:
		status = StatusSuspended
		reason = fmt.Sprintf("unknown-error score %.4f fell below %.4f (%d unknown errors)", unknown, m.SuspendBelow, rep.Unknown)
	}
	if status != rep.Status {
		rep.Status, rep.StatusReason, rep.StatusAt = status, reason, now
	}
}

// Node statuses, as the registry keeps them.
const (
	StatusActive       = registry.NodeActive
	StatusSuspended    = registry.NodeSuspended
	StatusDisqualified = registry.NodeDisqualified
)

// ExpectedAuditsToDisqualify is how many audits the model expects a node
// that fails a fraction p of them to survive from a fresh start: the k at
// which the expected score 1 - p(1 - Lambda^k) first falls under
// DisqualifyBelow, or -1 if it never does.
func (m Model) ExpectedAuditsToDisqualify(p float64) int {
	m.defaults()
	if 1-p >= m.DisqualifyBelow {
		return -1
	}
	l := 1.0
	for k := 1; k < 1<<24; k++ {
		l *= m.Lambda
		if 1-p*(1-l) < m.DisqualifyBelow {
			return k
		}
	}
	return -1
}
