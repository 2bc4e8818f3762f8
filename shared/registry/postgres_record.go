package registry

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// RecordAudits records batches of audits in one transaction. See
// Registry.RecordAudits.
//
// The transaction makes few round trips whatever the batch's size: the
// nodes' reputation rows are created if missing and locked (SELECT ... FOR
// UPDATE, in node id order) in one pipeline, the holders that passes accrue
// to are locked and read in one statement, and every write goes in one
// pipelined pgx.Batch, whose statements are prepared once per connection
// (pgx's statement cache).
func (p *Postgres) RecordAudits(ctx context.Context, batch []NodeAudits) (map[string]NodeRep, error) {
	if len(batch) == 0 {
		return map[string]NodeRep{}, nil
	}
	order := batchOrder(batch)
	ids := batchNodes(batch)
	var reps map[string]NodeRep
	err := p.tx(ctx, func(tx pgx.Tx) error {
		now := nowNanos()
		cur, err := pgLockReps(ctx, tx, ids)
		if err != nil {
			return err
		}
		var writes []NodeRep
		var results []AuditResult
		reps, writes, results, err = applyNodeAudits(batch, order, func(node string) (NodeRep, error) {
			rep, ok := cur[node]
			if !ok {
				return NodeRep{}, fmt.Errorf("node %q: %w", node, ErrNotFound)
			}
			return rep, nil
		}, now)
		if err != nil {
			return err
		}
		holders, err := pgLockAccruals(ctx, tx, accrualKeys(results))
		if err != nil {
			return err
		}
		ops := planAudits(writes, results, holders, now)
		b := &pgx.Batch{}
		for _, op := range ops {
			b.Queue(op.sql, op.args...)
		}
		br := tx.SendBatch(ctx, b)
		for range ops {
			if _, err := br.Exec(); err != nil {
				br.Close()
				return err
			}
		}
		return br.Close()
	})
	if err != nil {
		return nil, recordAuditsError(err)
	}
	return reps, nil
}

// pgLockReps creates the missing reputation rows of the nodes ids (sorted)
// and locks and reads them all; a node that does not exist has none.
func pgLockReps(ctx context.Context, tx pgx.Tx, ids []string) (map[string]NodeRep, error) {
	b := &pgx.Batch{}
	// The defaults of NewNodeRep, as repColumns reads a missing row.
	b.Queue(`INSERT INTO reputations (node_id, alpha, beta, unknown_alpha, unknown_beta,
		n_audits, n_passes, n_fails, n_timeouts, n_offline, n_unknown, n_suspects,
		status, status_reason, status_at, contained, contained_tries, updated_at)
		SELECT n.id, 1.0, 0.0, 1.0, 0.0, 0, 0, 0, 0, 0, 0, 0, '`+NodeActive+`', '', 0, '', 0, 0
		FROM nodes n WHERE n.id = ANY($1) ORDER BY n.id
		ON CONFLICT (node_id) DO NOTHING`, ids)
	b.Queue(`SELECT r.node_id, `+repColumns+` FROM reputations r WHERE r.node_id = ANY($1)
		ORDER BY r.node_id FOR UPDATE`, ids)
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (NodeRep, error) { return scanRep(row) })
	if err != nil {
		return nil, err
	}
	reps := make(map[string]NodeRep, len(list))
	for _, r := range list {
		reps[r.NodeID] = r
	}
	return reps, br.Close()
}

// pgLockAccruals locks and reads the accrual of the existing holders among
// keys (ordered by node, then CID).
func pgLockAccruals(ctx context.Context, tx pgx.Tx, keys []holderKey) (map[holderKey]*accrual, error) {
	holders := map[holderKey]*accrual{}
	if len(keys) == 0 {
		return holders, nil
	}
	cids, nodes := make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		cids[i], nodes[i] = k.cid, k.node
	}
	rows, err := tx.Query(ctx, `SELECT h.cid, h.node_id, c.size, `+accrualMark+`
		FROM holders h JOIN contents c ON c.cid = h.cid
		JOIN unnest($1::TEXT[], $2::TEXT[]) AS k(cid, node_id) ON h.cid = k.cid AND h.node_id = k.node_id
		ORDER BY h.node_id, h.cid FOR UPDATE OF h`, cids, nodes)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			k holderKey
			h accrual
		)
		if err := rows.Scan(&k.cid, &k.node, &h.size, &h.mark); err != nil {
			return nil, err
		}
		holders[k] = &h
	}
	return holders, rows.Err()
}
