package registry

import "time"

// SQL shared by the SQLite and PostgreSQL backends, and the scanning of its
// rows (both *sql.Row(s) and pgx.Row(s) have this Scan).

// rowScanner is a row being read.
type rowScanner interface {
	Scan(dest ...any) error
}

const (
	// auditInsertSQL appends an audit; $1-$9 as auditArgs, returns its id.
	auditInsertSQL = `INSERT INTO audits (node_id, cid, auditor, audited_at, outcome, reason, latency, deadline, suspect)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`
	// auditsSQL lists a node's audits ($1) with ids below $2, newest first, at most $3.
	auditsSQL = `SELECT id, node_id, cid, auditor, audited_at, outcome, reason, latency, deadline, suspect
		FROM audits WHERE node_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`
	// holderAuditSQL sets a holder's (cid $3, node $4) last audit to time $1
	// and outcome $2 unless it holds a newer one.
	holderAuditSQL = `UPDATE holders SET last_audit = $1, last_outcome = $2
		WHERE cid = $3 AND node_id = $4 AND last_audit <= $1`
)

// auditArgs returns the parameters of auditInsertSQL, with a.At already
// defaulted.
func auditArgs(a Audit) []any {
	return []any{a.NodeID, a.CID, a.Auditor, toNanos(a.At), a.Outcome, a.Reason,
		int64(a.Latency), int64(a.Deadline), a.Suspect}
}

// scanAudit reads a row of auditsSQL.
func scanAudit(sc rowScanner) (Audit, error) {
	var (
		a                 Audit
		at, lat, deadline int64
	)
	if err := sc.Scan(&a.ID, &a.NodeID, &a.CID, &a.Auditor, &at, &a.Outcome, &a.Reason,
		&lat, &deadline, &a.Suspect); err != nil {
		return Audit{}, err
	}
	a.At, a.Latency, a.Deadline = fromNanos(at), time.Duration(lat), time.Duration(deadline)
	return a, nil
}

const (
	// repColumns selects a reputation after the node id from reputations r,
	// with the defaults of NewNodeRep where r is missing (a LEFT JOIN).
	repColumns = `COALESCE(r.alpha, 1.0), COALESCE(r.beta, 0.0), COALESCE(r.unknown_alpha, 1.0),
		COALESCE(r.unknown_beta, 0.0), COALESCE(r.n_audits, 0), COALESCE(r.n_passes, 0), COALESCE(r.n_fails, 0),
		COALESCE(r.n_timeouts, 0), COALESCE(r.n_offline, 0), COALESCE(r.n_unknown, 0), COALESCE(r.n_suspects, 0),
		COALESCE(r.status, '` + NodeActive + `'), COALESCE(r.status_reason, ''), COALESCE(r.status_at, 0),
		COALESCE(r.contained, ''), COALESCE(r.contained_tries, 0), COALESCE(r.updated_at, 0)`
	// repOfNodesSQL selects every node's reputation.
	repOfNodesSQL = `SELECT n.id, ` + repColumns + ` FROM nodes n LEFT JOIN reputations r ON r.node_id = n.id`
	// repOfNodeSQL selects node $1's reputation.
	repOfNodeSQL = repOfNodesSQL + ` WHERE n.id = $1`
	// repInsertSQL inserts a reputation; $1-$18 as repArgs. Add an ON
	// CONFLICT clause.
	repInsertSQL = `INSERT INTO reputations (node_id, alpha, beta, unknown_alpha, unknown_beta,
		n_audits, n_passes, n_fails, n_timeouts, n_offline, n_unknown, n_suspects,
		status, status_reason, status_at, contained, contained_tries, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`
	// repUpsertSQL writes a whole reputation.
	repUpsertSQL = repInsertSQL + ` ON CONFLICT (node_id) DO UPDATE SET
		alpha = excluded.alpha, beta = excluded.beta,
		unknown_alpha = excluded.unknown_alpha, unknown_beta = excluded.unknown_beta,
		n_audits = excluded.n_audits, n_passes = excluded.n_passes, n_fails = excluded.n_fails,
		n_timeouts = excluded.n_timeouts, n_offline = excluded.n_offline, n_unknown = excluded.n_unknown,
		n_suspects = excluded.n_suspects, status = excluded.status, status_reason = excluded.status_reason,
		status_at = excluded.status_at, contained = excluded.contained,
		contained_tries = excluded.contained_tries, updated_at = excluded.updated_at`
)

// repArgs returns the parameters of repInsertSQL.
func repArgs(r NodeRep) []any {
	return []any{r.NodeID, r.Alpha, r.Beta, r.UnknownAlpha, r.UnknownBeta,
		r.Audits, r.Passes, r.Fails, r.Timeouts, r.Offline, r.Unknown, r.Suspects,
		r.Status, r.StatusReason, toNanos(r.StatusAt), r.Contained, int64(r.ContainedTries), toNanos(r.UpdatedAt)}
}

// scanRep reads a node id followed by repColumns.
func scanRep(sc rowScanner) (NodeRep, error) {
	var (
		r                 NodeRep
		statusAt, updated int64
		tries             int64
	)
	if err := sc.Scan(&r.NodeID, &r.Alpha, &r.Beta, &r.UnknownAlpha, &r.UnknownBeta,
		&r.Audits, &r.Passes, &r.Fails, &r.Timeouts, &r.Offline, &r.Unknown, &r.Suspects,
		&r.Status, &r.StatusReason, &statusAt, &r.Contained, &tries, &updated); err != nil {
		return NodeRep{}, err
	}
	r.StatusAt, r.UpdatedAt, r.ContainedTries = optTime(statusAt), optTime(updated), int(tries)
	return r, nil
}

// leaseSQL takes lease $1 for owner $2 until $3 if it is free, owner's, or
// expired at $4; it changes a row if and only if owner then holds it.
const leaseSQL = `INSERT INTO leases (lease_key, owner, expires_at) VALUES ($1, $2, $3)
	ON CONFLICT (lease_key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
	WHERE leases.owner = excluded.owner OR leases.expires_at <= $4`

const (
	// notDisqualified holds for rows of reputations r (LEFT JOINed) of
	// nodes that are not disqualified.
	notDisqualified = `(r.status IS NULL OR r.status <> '` + NodeDisqualified + `')`
	// sampleSQL selects audit targets, failed copies too (a node keeps
	// answering for a copy it lost until the copy is dropped); append the weighted random sort key
	// (Efraimidis-Spirakis: -ln(u)/size, u uniform in (0, 1], smallest
	// first) and LIMIT $1.
	sampleSQL = `SELECT h.cid, c.size, h.node_id, n.region, n.url, h.status
		FROM holders h JOIN contents c ON c.cid = h.cid JOIN nodes n ON n.id = h.node_id
		LEFT JOIN reputations r ON r.node_id = h.node_id
		WHERE h.status IN ('` + StatusPinned + `', '` + StatusFailed + `') AND c.size > 0 AND c.unpinned_at = 0
		AND ` + notDisqualified + `
		ORDER BY `
	// healthySQL counts each CID's healthy holders, as a subquery (cid, n).
	healthySQL = `SELECT h.cid, COUNT(*) AS n FROM holders h LEFT JOIN reputations r ON r.node_id = h.node_id
		WHERE h.status = '` + StatusPinned + `' AND ` + notDisqualified + ` GROUP BY h.cid`
	// accountPinsSQL lists account $1's pins with CIDs after $2, at most $3.
	accountPinsSQL = `SELECT p.cid, c.size, c.status, c.replicas, p.created_at
		FROM pins p JOIN contents c ON c.cid = p.cid
		WHERE p.account_id = $1 AND p.cid > $2 ORDER BY p.cid LIMIT $3`
	// unpinSQL deletes account $1's pin of $2.
	unpinSQL = `DELETE FROM pins WHERE account_id = $1 AND cid = $2`
	// orphanSQL marks CID $1 unpinned at $2 if no account pins it.
	orphanSQL = `UPDATE contents SET unpinned_at = $2
		WHERE cid = $1 AND NOT EXISTS (SELECT 1 FROM pins WHERE cid = $1)`
	// revivePinSQL marks CID $1 pinned; on PostgreSQL it also locks its
	// row, so that RecordPin, Unpin and CollectGarbage of one CID run one
	// after the other.
	revivePinSQL = `UPDATE contents SET unpinned_at = 0, gc_at = 0 WHERE cid = $1`
	// lockContentSQL reads CID $1's unpinned_at and locks its row
	// (PostgreSQL; SQLite writes are serial anyway).
	lockContentSQL = `SELECT unpinned_at FROM contents WHERE cid = $1 FOR UPDATE`
	// garbageSQL lists CIDs unpinned before $1, at most $2, those handed
	// out longest ago first.
	garbageSQL = `SELECT cid FROM contents WHERE unpinned_at <> 0 AND unpinned_at < $1
		ORDER BY gc_at, unpinned_at, cid LIMIT $2`
	// garbageTriedSQL marks CID $1 handed out for deletion at $2.
	garbageTriedSQL = `UPDATE contents SET gc_at = $2 WHERE cid = $1`
	// pinnedSQL is 1 if an account pins CID $1.
	pinnedSQL = `SELECT COUNT(*) FROM pins WHERE cid = $1`
	// garbageHoldersSQL lists the holders of CID $1 with their URLs.
	garbageHoldersSQL = `SELECT h.node_id, n.region, n.url FROM holders h JOIN nodes n ON n.id = h.node_id
		WHERE h.cid = $1 ORDER BY h.node_id`
	// repairStatuses are the pin statuses considered for repair.
	repairStatuses = `('` + StatusPinned + `', '` + StatusFailed + `')`
	// repairTargetsSQL lists the distinct replica targets of pins
	// considered for repair.
	repairTargetsSQL = `SELECT DISTINCT replicas FROM contents WHERE status IN ` + repairStatuses
)

// scanTarget reads a row of sampleSQL.
func scanTarget(sc rowScanner) (AuditTarget, error) {
	var t AuditTarget
	err := sc.Scan(&t.CID, &t.Size, &t.NodeID, &t.Region, &t.URL, &t.Status)
	return t, err
}

const (
	// accrualMark is the accrual mark of holder row h: accrued_at, or
	// added_at for rows from before accrued_at existed (then 0).
	accrualMark = `CASE WHEN h.accrued_at > h.added_at THEN h.accrued_at ELSE h.added_at END`
	// markAccrualSQL moves the mark of holder (cid $1, node $2) forward to $3.
	markAccrualSQL = `UPDATE holders SET accrued_at = $3 WHERE cid = $1 AND node_id = $2 AND accrued_at < $3`
	// holderExistsSQL finds holder (cid $1, node $2).
	holderExistsSQL = `SELECT 1 FROM holders WHERE cid = $1 AND node_id = $2`
	// ledgerInsertSQL appends a ledger entry.
	ledgerInsertSQL = `INSERT INTO ledger (node_id, cid, kind, amount, entry_at) VALUES ($1, $2, $3, $4, $5)`
	// earningsSQL sums node $1's entries in [$2, $3).
	earningsSQL = `SELECT COALESCE(SUM(CASE WHEN kind = '` + LedgerStorage + `' THEN amount END), 0),
		COALESCE(SUM(CASE WHEN kind = '` + LedgerEgress + `' THEN amount END), 0)
		FROM ledger WHERE node_id = $1 AND entry_at >= $2 AND entry_at < $3`
	// ledgerSQL lists node $1's entries in [$2, $3), oldest first, at most $4.
	ledgerSQL = `SELECT node_id, cid, kind, amount, entry_at FROM ledger
		WHERE node_id = $1 AND entry_at >= $2 AND entry_at < $3 ORDER BY entry_at, id LIMIT $4`
	// usageSQL counts account $1's pins and sums their sizes.
	usageSQL = `SELECT COUNT(*), CAST(COALESCE(SUM(c.size), 0) AS BIGINT)
		FROM pins p JOIN contents c ON c.cid = p.cid WHERE p.account_id = $1`
	// usageLedgerSQL sums the ledger entries of account $1's blobs, each
	// shared evenly between the accounts pinning it.
	usageLedgerSQL = `SELECT COALESCE(SUM(CASE WHEN l.kind = '` + LedgerStorage + `' THEN l.amount / s.n END), 0),
		COALESCE(SUM(CASE WHEN l.kind = '` + LedgerEgress + `' THEN l.amount / s.n END), 0)
		FROM pins p JOIN (SELECT cid, COUNT(*) AS n FROM pins GROUP BY cid) s ON s.cid = p.cid
		JOIN ledger l ON l.cid = p.cid WHERE p.account_id = $1`
)

// scanLedgerEntry reads a row of ledgerSQL.
func scanLedgerEntry(sc rowScanner) (LedgerEntry, error) {
	var (
		e  LedgerEntry
		at int64
	)
	if err := sc.Scan(&e.NodeID, &e.CID, &e.Kind, &e.Amount, &at); err != nil {
		return LedgerEntry{}, err
	}
	e.At = fromNanos(at)
	return e, nil
}

// accrualSQL reads the size and accrual mark of holder (cid $1, node $2).
const accrualSQL = `SELECT c.size, ` + accrualMark + ` FROM holders h JOIN contents c ON c.cid = h.cid
	WHERE h.cid = $1 AND h.node_id = $2`
