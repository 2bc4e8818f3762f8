package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"
)

// RecordAudit appends an audit to the history. See Registry.RecordAudit.
func (s *SQLite) RecordAudit(ctx context.Context, a Audit) (int64, error) {
	if a.At.IsZero() {
		a.At = time.Now()
	}
	if err := CheckAudit(a); err != nil {
		return 0, fmt.Errorf("registry: record audit: %w", err)
	}
	var id int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := nodeExists(ctx, tx, a.NodeID); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, auditInsertSQL, auditArgs(a)...).Scan(&id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, holderAuditSQL, toNanos(a.At), a.Outcome, a.CID, a.NodeID)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("registry: record audit of %q on %q: %w", a.CID, a.NodeID, err)
	}
	return id, nil
}

// Audits returns a node's audit history, newest first. See Registry.Audits.
func (s *SQLite) Audits(ctx context.Context, nodeID string, before int64, limit int) ([]Audit, error) {
	if before <= 0 {
		before = math.MaxInt64
	}
	var audits []Audit
	err := s.retry(ctx, func() error {
		audits = nil
		rows, err := s.db.QueryContext(ctx, auditsSQL, nodeID, before, listLimit(limit))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			a, err := scanAudit(rows)
			if err != nil {
				return err
			}
			audits = append(audits, a)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(audits) == 0 {
			return nodeExists(ctx, s.db, nodeID)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("registry: audits of %q: %w", nodeID, err)
	}
	return audits, nil
}

// Reputation returns a node's reputation. See Registry.Reputation.
func (s *SQLite) Reputation(ctx context.Context, nodeID string) (NodeRep, error) {
	var rep NodeRep
	err := s.retry(ctx, func() error {
		var err error
		rep, err = scanRep(s.db.QueryRowContext(ctx, repOfNodeSQL, nodeID))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return NodeRep{}, fmt.Errorf("registry: reputation of %q: %w", nodeID, err)
	}
	return rep, nil
}

// UpdateReputation changes a node's reputation atomically. See
// Registry.UpdateReputation. The write transaction holds the database's
// write lock, so updates from every handle and process are serialized.
func (s *SQLite) UpdateReputation(ctx context.Context, nodeID string, f func(*NodeRep) error) (NodeRep, error) {
	var next NodeRep
	err := s.write(ctx, func(tx *sql.Tx) error {
		cur, err := scanRep(tx.QueryRowContext(ctx, repOfNodeSQL, nodeID))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if next, err = applyRepUpdate(cur, f, nowNanos()); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, repUpsertSQL, repArgs(next)...)
		return err
	})
	if err != nil {
		return NodeRep{}, fmt.Errorf("registry: update reputation of %q: %w", nodeID, err)
	}
	return next, nil
}

// Reputations returns every node's reputation, ordered by node id.
func (s *SQLite) Reputations(ctx context.Context) ([]NodeRep, error) {
	var reps []NodeRep
	err := s.retry(ctx, func() error {
		reps = nil
		rows, err := s.db.QueryContext(ctx, repOfNodesSQL+` ORDER BY n.id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanRep(rows)
			if err != nil {
				return err
			}
			reps = append(reps, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("registry: reputations: %w", err)
	}
	return reps, nil
}
