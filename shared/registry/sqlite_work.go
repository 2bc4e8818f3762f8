package registry

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// TryLease takes or renews a lease. See Registry.TryLease.
func (s *SQLite) TryLease(ctx context.Context, key, owner string, ttl time.Duration) (bool, error) {
	if err := checkLeaseArgs(key, owner, ttl); err != nil {
		return false, fmt.Errorf("registry: lease %q: %w", key, err)
	}
	var held bool
	err := s.write(ctx, func(tx *sql.Tx) error {
		now := nowNanos()
		res, err := tx.ExecContext(ctx, leaseSQL, key, owner, addNanos(now, ttl), now)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		held = n == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("registry: lease %q for %q: %w", key, owner, err)
	}
	return held, nil
}

// ReleaseLease drops owner's lease on key, if owner holds it.
func (s *SQLite) ReleaseLease(ctx context.Context, key, owner string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM leases WHERE lease_key = $1 AND owner = $2`, key, owner)
		return err
	})
	if err != nil {
		return fmt.Errorf("registry: release lease %q of %q: %w", key, owner, err)
	}
	return nil
}

// sqliteSampleSQL is sampleSQL with SQLite's sort key: random() is a
// uniform int64, mapped to u uniform in (0, 1) from its low 53 bits
// (abs of a remainder, as abs(-2^63) overflows).
const sqliteSampleSQL = sampleSQL +
	`-ln((abs(random() % 9007199254740992) + 0.5) / 9007199254740992.0) / CAST(c.size AS DOUBLE PRECISION) LIMIT $1`

// SampleHolders picks audit targets at random, weighted by size. See
// Registry.SampleHolders.
func (s *SQLite) SampleHolders(ctx context.Context, n int) ([]AuditTarget, error) {
	if n <= 0 {
		return nil, nil
	}
	var targets []AuditTarget
	err := s.retry(ctx, func() error {
		targets = nil
		rows, err := s.db.QueryContext(ctx, sqliteSampleSQL, n)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			t, err := scanTarget(rows)
			if err != nil {
				return err
			}
			targets = append(targets, t)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("registry: sample holders: %w", err)
	}
	return targets, nil
}

// sqliteUnderSQL lists the CIDs under their healthy-holder need, most
// missing first; $1 is a JSON array of [replicas, need] pairs, $2 the limit.
const sqliteUnderSQL = `SELECT c.cid FROM contents c
	JOIN (SELECT json_extract(value, '$[0]') AS replicas, json_extract(value, '$[1]') AS need
	      FROM json_each($1)) t ON t.replicas = c.replicas
	LEFT JOIN (` + healthySQL + `) hl ON hl.cid = c.cid
	WHERE c.status IN ` + repairStatuses + ` AND c.unpinned_at = 0 AND COALESCE(hl.n, 0) < t.need
	ORDER BY t.need - COALESCE(hl.n, 0) DESC, c.cid LIMIT $2`

// UnderReplicated returns the pins that need repair. See
// Registry.UnderReplicated.
func (s *SQLite) UnderReplicated(ctx context.Context, minHealthy func(replicas int) int, limit int) ([]PinInfo, error) {
	if minHealthy == nil {
		return nil, errors.New("registry: under-replicated: nil minHealthy")
	}
	var cids []string
	err := s.retry(ctx, func() error {
		cids = nil
		replicas, err := sqliteColumn[int64](ctx, s.db, repairTargetsSQL)
		if err != nil {
			return err
		}
		targets, needs := repairNeeds(replicas, minHealthy)
		if len(targets) == 0 {
			return nil
		}
		pairs := make([][2]int64, len(targets))
		for i := range targets {
			pairs[i] = [2]int64{targets[i], needs[i]}
		}
		js, err := json.Marshal(pairs)
		if err != nil {
			return err
		}
		cids, err = sqliteColumn[string](ctx, s.db, sqliteUnderSQL, string(js), listLimit(limit))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("registry: under-replicated: %w", err)
	}
	return pinsOf(ctx, s, cids)
}

// HoldersOn returns the CIDs held by a node. See Registry.HoldersOn.
func (s *SQLite) HoldersOn(ctx context.Context, nodeID string) ([]string, error) {
	var cids []string
	err := s.retry(ctx, func() error {
		if err := nodeExists(ctx, s.db, nodeID); err != nil {
			return err
		}
		var err error
		cids, err = sqliteColumn[string](ctx, s.db, `SELECT cid FROM holders WHERE node_id = $1 ORDER BY cid`, nodeID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("registry: holders on %q: %w", nodeID, err)
	}
	return cids, nil
}

// sqliteColumn runs a query of one column, on the database or in a
// transaction, and returns its values.
func sqliteColumn[T any](ctx context.Context, db interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
