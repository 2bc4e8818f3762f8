package audit

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/quic-go/quic-go"

	"dstor/shared/challenge"
	"dstor/shared/cid"
	"dstor/shared/identity"
	"dstor/shared/registry"
	"dstor/shared/wire"
)

// nodeLease is how long an auditor keeps the nodes it audits: several
// auditors share the network node by node, and a node's audits (and its
// reputation's read-modify-write) never run in two places at once.
const nodeLease = 30 * time.Second

// Verdict is one challenge's outcome, before the model counts it.
type Verdict struct {
	Target   registry.AuditTarget
	Outcome  string
	Reason   string
	Latency  time.Duration
	Deadline time.Duration
	Suspect  bool
}

// auditCycle challenges one second's worth of holders: nodes contained on
// a challenge first (it is asked again), then holders sampled by size so
// every stored byte is audited at the same rate.
//
// A sample holds each (blob, holder) pair at most once, so a network with
// fewer pairs than a second's worth is sampled again, in rounds, until
// the second's worth is done or the second is over.
func (a *Auditor) auditCycle(ctx context.Context) {
	n := max(int(a.cfg.Rate), 1)
	end := time.Now().Add(time.Second)
	for done := 0; done < n && ctx.Err() == nil; {
		targets, err := a.targets(ctx, min(n-done, maxRound))
		if err != nil {
			a.log.Warn("pick audit targets", "err", err)
			return
		}
		if len(targets) == 0 {
			return
		}
		a.AuditTargets(ctx, targets)
		done += len(targets)
		if time.Now().After(end) {
			return
		}
	}
}

// maxRound bounds the challenges of one round (recorded in one
// transaction).
const maxRound = 2000

// targets picks up to n (blob, holder) pairs this auditor may audit now.
func (a *Auditor) targets(ctx context.Context, n int) ([]registry.AuditTarget, error) {
	sampled, err := a.reg.SampleHolders(ctx, n)
	if err != nil {
		return nil, err
	}
	reps, err := a.reg.Reputations(ctx)
	if err != nil {
		return nil, err
	}
	var out []registry.AuditTarget
	leased := map[string]bool{}
	mine := func(node string) bool {
		if ok, seen := leased[node]; seen {
			return ok
		}
		ok, err := a.reg.TryLease(ctx, "audit:node:"+node, a.id, nodeLease)
		leased[node] = ok && err == nil
		return leased[node]
	}
	contained := map[string]bool{}
	for _, r := range reps {
		if r.Contained == "" || r.Status == registry.NodeDisqualified || !mine(r.NodeID) {
			continue
		}
		pin, err := a.reg.Pin(ctx, r.Contained)
		if err != nil {
			continue
		}
		for _, h := range pin.Holders {
			if h.NodeID == r.NodeID {
				out = append(out, registry.AuditTarget{CID: pin.CID, Size: pin.Size, NodeID: h.NodeID, Region: h.Region, URL: h.URL})
				contained[r.NodeID] = true
			}
		}
	}
	for _, t := range sampled {
		if !contained[t.NodeID] && mine(t.NodeID) {
			out = append(out, t)
		}
	}
	return out, nil
}

// AuditTargets challenges each target (at most Parallel at once) and
// records the verdicts: the audit history, the reputations, the holders'
// health and the ledger.
func (a *Auditor) AuditTargets(ctx context.Context, targets []registry.AuditTarget) []Verdict {
	verdicts := make([]Verdict, len(targets))
	sem := make(chan struct{}, a.cfg.Parallel)
	var wg sync.WaitGroup
	for i, t := range targets {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			verdicts[i] = a.challenge(ctx, t)
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return verdicts
	}
	a.record(ctx, verdicts)
	return verdicts
}

// challenge asks one holder for a proof and judges the answer.
func (a *Auditor) challenge(ctx context.Context, t registry.AuditTarget) Verdict {
	v := Verdict{Target: t}
	id, err := cid.Parse(t.CID)
	if err != nil {
		v.Outcome, v.Reason = registry.AuditUnknown, "registry holds a bad cid: "+err.Error()
		return v
	}
	u, err := url.Parse(t.URL)
	if err != nil {
		v.Outcome, v.Reason = registry.AuditUnknown, "registry holds a bad node url: "+err.Error()
		return v
	}
	target := wire.Target{Addr: u.Host, Peer: identity.Peer{Role: identity.RoleNode, ID: t.NodeID}}

	// Reach the node first: a node that cannot be reached is offline, not
	// failing, and the connection gives the RTT the deadline comes from.
	rtt, warm := a.client.RTT(target)
	if !warm {
		pctx, cancel := context.WithTimeout(ctx, wire.DialTimeout)
		_, err := a.client.Ping(pctx, target)
		cancel()
		if err != nil {
			a.client.Forget(target)
			v.Outcome, v.Reason = registry.AuditOffline, "unreachable: "+err.Error()
			return v
		}
		rtt, _ = a.client.RTT(target)
	}
	p95 := rtt.Smoothed + 2*rtt.Deviation
	if rtt.Min > 0 {
		// A node cannot stretch its own deadline by answering (or acking)
		// late: the path's minimum RTT bounds it. Raising the minimum
		// means delaying every packet, handshake included, which makes a
		// node look far, not late.
		p95 = min(p95, 2*rtt.Min)
	}
	v.Deadline = time.Duration(a.cfg.SlackFactor*float64(p95)) + time.Duration(a.cfg.Ranges)*a.cfg.DiskBudget
	hard := max(a.cfg.HardLimit, 4*v.Deadline)

	var nonce [32]byte
	rand.Read(nonce[:])
	cctx, cancel := context.WithTimeout(ctx, hard)
	proof, err := a.client.Challenge(cctx, target, id, t.Size, nonce, a.cfg.Ranges, a.cfg.RangeLen)
	cancel()
	v.Latency = proof.Elapsed
	var ne net.Error
	var we *wire.Error
	switch {
	case err == nil:
		v.Outcome = registry.AuditPass
		// On a connection just dialled, slow start alone can stretch the
		// answer past the deadline: only warm connections judge relays.
		if warm && v.Latency > v.Deadline {
			v.Suspect = true
			v.Reason = fmt.Sprintf("relay suspect: answered in %v, deadline %v (RTT p95 %v)", v.Latency.Round(time.Microsecond), v.Deadline.Round(time.Microsecond), p95.Round(time.Microsecond))
		}
	case ctx.Err() != nil:
		v.Outcome, v.Reason = registry.AuditUnknown, "auditor stopping"
	case errors.Is(err, challenge.ErrBadProof):
		v.Outcome, v.Reason = registry.AuditFail, err.Error()
	case errors.As(err, &we) && we.Code == wire.CodeNotFound:
		v.Outcome, v.Reason = registry.AuditFail, "node does not have the blob: "+err.Error()
	case gone(err):
		// The connection died (the node shut down or restarted): the node
		// cannot be reached, which is not failing.
		a.client.Forget(target)
		v.Outcome, v.Reason = registry.AuditOffline, "connection lost: "+err.Error()
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		a.client.Forget(target) // a node that comes back is dialled afresh
		v.Outcome, v.Reason = registry.AuditTimeout, fmt.Sprintf("no answer within %v: %v", hard, err)
	default:
		v.Outcome, v.Reason = registry.AuditUnknown, err.Error()
	}
	return v
}

// record writes verdicts in one registry transaction (RecordAudits): each
// one into the history, each node's in order into its reputation (one
// update per node), failures into the holders' health (the replica is
// unhealthy at once and stops earning) and passes into the ledger. Then the
// copies of nodes just disqualified are marked unhealthy.
func (a *Auditor) record(ctx context.Context, verdicts []Verdict) {
	now := a.cfg.now()
	byNode := map[string][]Verdict{}
	var order []string
	for _, v := range verdicts {
		if v.Outcome == "" {
			continue
		}
		if _, ok := byNode[v.Target.NodeID]; !ok {
			order = append(order, v.Target.NodeID)
		}
		byNode[v.Target.NodeID] = append(byNode[v.Target.NodeID], v)
	}
	if len(order) == 0 {
		return
	}
	before := make(map[string]string, len(order))
	batch := make([]registry.NodeAudits, len(order))
	for i, node := range order {
		vs := byNode[node]
		results := make([]registry.AuditResult, len(vs))
		batch[i] = registry.NodeAudits{NodeID: node, Results: results, Update: func(r *registry.NodeRep) error {
			// Runs inside the transaction (again if it is retried): the
			// counted outcomes come from the reputation as it stands.
			before[node] = r.Status
			for j, v := range vs {
				counted := a.cfg.Model.Apply(r, Result{Outcome: v.Outcome, CID: v.Target.CID, Suspect: v.Suspect, Reason: v.Reason}, now)
				results[j] = auditResult(a.id, node, v, counted, now, a.cfg.Model.MaxContainment)
			}
			return nil
		}}
	}
	reps, err := a.reg.RecordAudits(ctx, batch)
	if err != nil {
		a.log.Warn("record audits", "audits", len(verdicts), "nodes", len(order), "err", err)
		return
	}
	for i, node := range order {
		for _, res := range batch[i].Results {
			switch {
			case res.Restore:
				// The copy is back (the node was offline, or got it
				// again): it counts and earns from now on.
				a.log.Info("replica passes again", "node", node, "cid", res.Audit.CID)
			case res.Audit.Outcome == registry.AuditFail:
				a.log.Warn("audit failed", "node", node, "cid", res.Audit.CID, "reason", res.Audit.Reason)
			}
		}
		rep := reps[node]
		if rep.Status != before[node] {
			a.log.Warn("node status changed", "node", node, "status", rep.Status, "reason", rep.StatusReason)
			if rep.Status == registry.NodeDisqualified {
				cids, err := a.reg.HoldersOn(ctx, node)
				if err != nil {
					a.log.Warn("list a disqualified node's pins", "node", node, "err", err)
				}
				for _, c := range cids {
					a.unhealthy(ctx, c, node, now)
				}
			}
		}
	}
}

// auditResult is what recording verdict v of node, counted by the model as
// counted, writes: the audit, with the reason a counted re-ask failure
// gets, and its effect on the holder. A pass credits the copy, or restores
// it if it had failed; a counted failure makes a healthy copy unhealthy.
func auditResult(auditor, node string, v Verdict, counted string, now time.Time, maxContainment int) registry.AuditResult {
	reason := v.Reason
	if counted != v.Outcome {
		reason = fmt.Sprintf("%s; %d unanswered re-asks count as a failure", reason, maxContainment)
	}
	res := registry.AuditResult{Audit: registry.Audit{
		NodeID: node, CID: v.Target.CID, Auditor: auditor, At: now, Outcome: counted,
		Reason: reason, Latency: v.Latency, Deadline: v.Deadline, Suspect: v.Suspect,
	}}
	failed := v.Target.Status == registry.StatusFailed
	switch counted {
	case registry.AuditPass:
		res.Restore, res.Accrue = failed, !failed
	case registry.AuditFail:
		res.Fail = !failed
	}
	return res
}

// unhealthy marks a replica failed: it is no longer served, counted or
// paid, and its pin goes to repair if it falls under the threshold.
func (a *Auditor) unhealthy(ctx context.Context, cid, node string, now time.Time) {
	if err := a.reg.MarkAccrual(ctx, cid, node, now); err != nil {
		a.log.Warn("stop accrual", "node", node, "cid", cid, "err", err)
	}
	if err := a.reg.SetHolderStatus(ctx, cid, node, registry.StatusFailed); err != nil {
		a.log.Warn("mark replica failed", "node", node, "cid", cid, "err", err)
	}
}

// gone reports whether err says the QUIC connection to the node ended
// (closed by the node, or idle past its timeout) rather than that the
// node failed to answer on a live connection.
func gone(err error) bool {
	var ae *quic.ApplicationError
	var te *quic.TransportError
	var ie *quic.IdleTimeoutError
	var he *quic.HandshakeTimeoutError
	return errors.As(err, &ae) && ae.Remote || errors.As(err, &te) && te.Remote ||
		errors.As(err, &ie) || errors.As(err, &he) || errors.Is(err, net.ErrClosed)
}
