package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// RecordAudits records batches of audits in one transaction. See
// Registry.RecordAudits. Every statement is prepared once per transaction.
func (s *SQLite) RecordAudits(ctx context.Context, batch []NodeAudits) (map[string]NodeRep, error) {
	if len(batch) == 0 {
		return map[string]NodeRep{}, nil
	}
	order := batchOrder(batch)
	var reps map[string]NodeRep
	err := s.write(ctx, func(tx *sql.Tx) error {
		stmts := map[string]*sql.Stmt{}
		defer func() {
			for _, st := range stmts {
				st.Close()
			}
		}()
		prep := func(query string) (*sql.Stmt, error) {
			if st, ok := stmts[query]; ok {
				return st, nil
			}
			st, err := tx.PrepareContext(ctx, query)
			if err != nil {
				return nil, err
			}
			stmts[query] = st
			return st, nil
		}

		now := nowNanos()
		repOf, err := prep(repOfNodeSQL)
		if err != nil {
			return err
		}
		var writes []NodeRep
		var results []AuditResult
		reps, writes, results, err = applyNodeAudits(batch, order, func(node string) (NodeRep, error) {
			rep, err := scanRep(repOf.QueryRowContext(ctx, node))
			if errors.Is(err, sql.ErrNoRows) {
				return NodeRep{}, fmt.Errorf("node %q: %w", node, ErrNotFound)
			}
			return rep, err
		}, now)
		if err != nil {
			return err
		}

		holders := map[holderKey]*accrual{}
		if keys := accrualKeys(results); len(keys) > 0 {
			acc, err := prep(accrualSQL)
			if err != nil {
				return err
			}
			for _, k := range keys {
				var h accrual
				err := acc.QueryRowContext(ctx, k.cid, k.node).Scan(&h.size, &h.mark)
				if errors.Is(err, sql.ErrNoRows) {
					continue
				}
				if err != nil {
					return err
				}
				holders[k] = &h
			}
		}

		for _, op := range planAudits(writes, results, holders, now) {
			st, err := prep(op.sql)
			if err != nil {
				return err
			}
			if _, err := st.ExecContext(ctx, op.args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, recordAuditsError(err)
	}
	return reps, nil
}
