package registry

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// RecordAudit appends an audit to the history. See Registry.RecordAudit.
func (p *Postgres) RecordAudit(ctx context.Context, a Audit) (int64, error) {
	if a.At.IsZero() {
		a.At = time.Now()
	}
	if err := CheckAudit(a); err != nil {
		return 0, fmt.Errorf("registry: record audit: %w", err)
	}
	var id int64
	err := p.tx(ctx, func(tx pgx.Tx) error {
		if err := pgNodeExists(ctx, tx, a.NodeID); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, auditInsertSQL, auditArgs(a)...).Scan(&id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, holderAuditSQL, toNanos(a.At), a.Outcome, a.CID, a.NodeID)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("registry: record audit of %q on %q: %w", a.CID, a.NodeID, err)
	}
	return id, nil
}

// Audits returns a node's audit history, newest first. See Registry.Audits.
func (p *Postgres) Audits(ctx context.Context, nodeID string, before int64, limit int) ([]Audit, error) {
	if before <= 0 {
		before = math.MaxInt64
	}
	var audits []Audit
	err := pgRetry(ctx, func() error {
		rows, err := p.pool.Query(ctx, auditsSQL, nodeID, before, listLimit(limit))
		if err != nil {
			return err
		}
		audits, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (Audit, error) { return scanAudit(row) })
		if err != nil || len(audits) > 0 {
			return err
		}
		return pgNodeExists(ctx, p.pool, nodeID)
	})
	if err != nil {
		return nil, fmt.Errorf("registry: audits of %q: %w", nodeID, err)
	}
	return audits, nil
}

// Reputation returns a node's reputation. See Registry.Reputation.
func (p *Postgres) Reputation(ctx context.Context, nodeID string) (NodeRep, error) {
	var rep NodeRep
	err := pgRetry(ctx, func() error {
		var err error
		rep, err = scanRep(p.pool.QueryRow(ctx, repOfNodeSQL, nodeID))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return NodeRep{}, fmt.Errorf("registry: reputation of %q: %w", nodeID, err)
	}
	return rep, nil
}

// UpdateReputation changes a node's reputation atomically. See
// Registry.UpdateReputation. The node's reputations row is created if
// missing (racing creations wait for each other in ON CONFLICT) and locked
// with SELECT ... FOR UPDATE until commit, so updates are serialized at READ
// COMMITTED; under SERIALIZABLE (CockroachDB) conflicts are retried.
func (p *Postgres) UpdateReputation(ctx context.Context, nodeID string, f func(*NodeRep) error) (NodeRep, error) {
	var next NodeRep
	err := p.tx(ctx, func(tx pgx.Tx) error {
		if err := pgNodeExists(ctx, tx, nodeID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, repInsertSQL+` ON CONFLICT (node_id) DO NOTHING`,
			repArgs(NewNodeRep(nodeID))...); err != nil {
			return err
		}
		cur, err := scanRep(tx.QueryRow(ctx,
			`SELECT r.node_id, `+repColumns+` FROM reputations r WHERE r.node_id = $1 FOR UPDATE`, nodeID))
		if err != nil {
			return err
		}
		if next, err = applyRepUpdate(cur, f, nowNanos()); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, repUpsertSQL, repArgs(next)...)
		return err
	})
	if err != nil {
		return NodeRep{}, fmt.Errorf("registry: update reputation of %q: %w", nodeID, err)
	}
	return next, nil
}

// Reputations returns every node's reputation, ordered by node id (byte
// order, whatever the database's collation).
func (p *Postgres) Reputations(ctx context.Context) ([]NodeRep, error) {
	var reps []NodeRep
	err := pgRetry(ctx, func() error {
		rows, err := p.pool.Query(ctx, repOfNodesSQL)
		if err != nil {
			return err
		}
		reps, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (NodeRep, error) { return scanRep(row) })
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("registry: reputations: %w", err)
	}
	slices.SortFunc(reps, func(a, b NodeRep) int { return strings.Compare(a.NodeID, b.NodeID) })
	return reps, nil
}
