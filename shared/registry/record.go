package registry

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
)

// AuditResult is one audit to record, and what it does to the holder row.
type AuditResult struct {
	Audit   Audit
	Accrue  bool // a pass: credit byte-hours up to Audit.At (as AccrueStorage)
	Restore bool // a pass of a failed copy: MarkAccrual to Audit.At and set the holder pinned
	Fail    bool // a counted failure: MarkAccrual to Audit.At and set the holder failed
}

// NodeAudits is one node's batch: its reputation update (as
// UpdateReputation's f) and its results.
type NodeAudits struct {
	NodeID  string
	Update  func(*NodeRep) error
	Results []AuditResult
}

// SQL of RecordAudits' writes (besides repUpsertSQL, holderAuditSQL,
// markAccrualSQL and ledgerInsertSQL).
const (
	// auditAppendSQL appends an audit; $1-$9 as auditArgs.
	auditAppendSQL = `INSERT INTO audits (node_id, cid, auditor, audited_at, outcome, reason, latency, deadline, suspect)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`
	// holderStatusSQL sets the status of an existing holder (cid $3, node
	// $4) to $1 at time $2.
	holderStatusSQL = `UPDATE holders SET status = $1, updated_at = $2 WHERE cid = $3 AND node_id = $4`
)

// holderKey names a holder row.
type holderKey struct{ cid, node string }

// accrual is what a batch knows of a holder row: its content size and
// accrual mark (as accrualSQL reads them).
type accrual struct{ size, mark int64 }

// auditOp is one write statement of a RecordAudits batch.
type auditOp struct {
	sql  string
	args []any
}

// batchOrder returns the indices of batch ordered by node id (stable), the
// order in which entries are applied, so that concurrent batches lock
// reputation rows in the same order.
func batchOrder(batch []NodeAudits) []int {
	order := make([]int, len(batch))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(i, j int) int { return cmp.Compare(batch[i].NodeID, batch[j].NodeID) })
	return order
}

// batchNodes returns the distinct node ids of batch, sorted.
func batchNodes(batch []NodeAudits) []string {
	ids := make([]string, 0, len(batch))
	for _, na := range batch {
		ids = append(ids, na.NodeID)
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// applyNodeAudits runs one transaction attempt's reputation updates and
// checks the results: for each entry in order, cur(node) gives the
// reputation as it stands in the transaction (a node already updated in this
// batch: as updated), Update is applied (applyRepUpdate, at now) and the
// entry's Results are read and normalized. It returns the reputations by
// node, those to write (in order) and the results to record (in order).
func applyNodeAudits(batch []NodeAudits, order []int, cur func(node string) (NodeRep, error), now int64) (
	reps map[string]NodeRep, writes []NodeRep, results []AuditResult, err error) {
	reps = make(map[string]NodeRep, len(batch))
	atNow := fromNanos(now)
	for _, i := range order {
		node := batch[i].NodeID
		rep, ok := reps[node]
		if !ok {
			if rep, err = cur(node); err != nil {
				return nil, nil, nil, err
			}
		}
		if f := batch[i].Update; f != nil {
			if rep, err = applyRepUpdate(rep, f, now); err != nil {
				return nil, nil, nil, fmt.Errorf("node %q: %w", node, err)
			}
			writes = append(writes, rep)
		}
		reps[node] = rep
		for _, r := range batch[i].Results {
			if r.Audit.NodeID == "" {
				r.Audit.NodeID = node
			}
			if r.Audit.At.IsZero() {
				r.Audit.At = atNow
			}
			if err := checkAuditResult(r, node); err != nil {
				return nil, nil, nil, fmt.Errorf("audit of %q on %q: %w", r.Audit.CID, node, err)
			}
			results = append(results, r)
		}
	}
	return reps, writes, results, nil
}

// checkAuditResult returns an error unless r can be recorded for node.
func checkAuditResult(r AuditResult, node string) error {
	if r.Audit.NodeID != node {
		return fmt.Errorf("audit of node %q in the batch of %q", r.Audit.NodeID, node)
	}
	n := 0
	for _, f := range []bool{r.Accrue, r.Restore, r.Fail} {
		if f {
			n++
		}
	}
	if n > 1 {
		return errors.New("more than one of Accrue, Restore and Fail")
	}
	return CheckAudit(r.Audit)
}

// accrualKeys returns the distinct holders that results accrue to, ordered
// by node then CID (the order in which their rows are locked).
func accrualKeys(results []AuditResult) []holderKey {
	var keys []holderKey
	for _, r := range results {
		if r.Accrue {
			keys = append(keys, holderKey{r.Audit.CID, r.Audit.NodeID})
		}
	}
	slices.SortFunc(keys, func(a, b holderKey) int {
		return cmp.Or(cmp.Compare(a.node, b.node), cmp.Compare(a.cid, b.cid))
	})
	return slices.Compact(keys)
}

// planAudits returns the writes of a batch, in order: the reputations, then
// per result its audit, its holder's last audit and its effect. holders has
// the accrual of every existing holder that results accrue to (accrualKeys)
// and is updated as the writes move marks. now is the holder status time.
func planAudits(writes []NodeRep, results []AuditResult, holders map[holderKey]*accrual, now int64) []auditOp {
	ops := make([]auditOp, 0, len(writes)+3*len(results))
	for _, rep := range writes {
		ops = append(ops, auditOp{repUpsertSQL, repArgs(rep)})
	}
	for _, r := range results {
		a := r.Audit
		at := toNanos(a.At)
		ops = append(ops,
			auditOp{auditAppendSQL, auditArgs(a)},
			auditOp{holderAuditSQL, []any{at, a.Outcome, a.CID, a.NodeID}})
		h := holders[holderKey{a.CID, a.NodeID}]
		switch {
		case r.Accrue:
			if h == nil || at <= h.mark {
				continue
			}
			ops = append(ops, auditOp{markAccrualSQL, []any{a.CID, a.NodeID, at}})
			if credit := byteHours(h.size, h.mark, at); credit != 0 {
				ops = append(ops, auditOp{ledgerInsertSQL, []any{a.NodeID, a.CID, LedgerStorage, credit, at}})
			}
			h.mark = at
		case r.Restore, r.Fail:
			status := StatusPinned
			if r.Fail {
				status = StatusFailed
			}
			ops = append(ops,
				auditOp{markAccrualSQL, []any{a.CID, a.NodeID, at}},
				auditOp{holderStatusSQL, []any{status, now, a.CID, a.NodeID}})
			if h != nil {
				h.mark = max(h.mark, at)
			}
		}
	}
	return ops
}

// recordAuditsError wraps a RecordAudits error.
func recordAuditsError(err error) error {
	return fmt.Errorf("registry: record audits: %w", err)
}
