package registry

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// TryLease takes or renews a lease. See Registry.TryLease. The upsert is one
// statement: racing callers wait for each other on the row, and the loser's
// WHERE sees the winner's lease.
func (p *Postgres) TryLease(ctx context.Context, key, owner string, ttl time.Duration) (bool, error) {
	if err := checkLeaseArgs(key, owner, ttl); err != nil {
		return false, fmt.Errorf("registry: lease %q: %w", key, err)
	}
	var held bool
	err := pgRetry(ctx, func() error {
		now := nowNanos()
		tag, err := p.pool.Exec(ctx, leaseSQL, key, owner, addNanos(now, ttl), now)
		held = tag.RowsAffected() == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("registry: lease %q for %q: %w", key, owner, err)
	}
	return held, nil
}

// ReleaseLease drops owner's lease on key, if owner holds it.
func (p *Postgres) ReleaseLease(ctx context.Context, key, owner string) error {
	err := pgRetry(ctx, func() error {
		_, err := p.pool.Exec(ctx, `DELETE FROM leases WHERE lease_key = $1 AND owner = $2`, key, owner)
		return err
	})
	if err != nil {
		return fmt.Errorf("registry: release lease %q of %q: %w", key, owner, err)
	}
	return nil
}

// pgSampleSQL is sampleSQL with PostgreSQL's sort key: random() is uniform
// in [0, 1), so 1 - random() is in (0, 1].
const pgSampleSQL = sampleSQL + `-ln(1.0 - random()) / CAST(c.size AS DOUBLE PRECISION) LIMIT $1`

// SampleHolders picks audit targets at random, weighted by size. See
// Registry.SampleHolders.
func (p *Postgres) SampleHolders(ctx context.Context, n int) ([]AuditTarget, error) {
	if n <= 0 {
		return nil, nil
	}
	var targets []AuditTarget
	err := pgRetry(ctx, func() error {
		rows, err := p.pool.Query(ctx, pgSampleSQL, n)
		if err != nil {
			return err
		}
		targets, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (AuditTarget, error) { return scanTarget(row) })
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("registry: sample holders: %w", err)
	}
	return targets, nil
}

// pgUnderSQL lists the CIDs under their healthy-holder need with how many
// they miss; $1 and $2 are parallel arrays of replica targets and needs, $3
// the limit.
const pgUnderSQL = `SELECT c.cid, t.need - COALESCE(hl.n, 0) FROM contents c
	JOIN unnest($1::BIGINT[], $2::BIGINT[]) AS t(replicas, need) ON t.replicas = c.replicas
	LEFT JOIN (` + healthySQL + `) hl ON hl.cid = c.cid
	WHERE c.status IN ` + repairStatuses + ` AND c.unpinned_at = 0 AND COALESCE(hl.n, 0) < t.need
	ORDER BY t.need - COALESCE(hl.n, 0) DESC, c.cid LIMIT $3`

// UnderReplicated returns the pins that need repair. See
// Registry.UnderReplicated.
func (p *Postgres) UnderReplicated(ctx context.Context, minHealthy func(replicas int) int, limit int) ([]PinInfo, error) {
	if minHealthy == nil {
		return nil, errors.New("registry: under-replicated: nil minHealthy")
	}
	type missing struct {
		cid  string
		need int64
	}
	var under []missing
	err := pgRetry(ctx, func() error {
		under = nil
		rows, err := p.pool.Query(ctx, repairTargetsSQL)
		if err != nil {
			return err
		}
		replicas, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		targets, needs := repairNeeds(replicas, minHealthy)
		if len(targets) == 0 {
			return nil
		}
		rows, err = p.pool.Query(ctx, pgUnderSQL, targets, needs, listLimit(limit))
		if err != nil {
			return err
		}
		under, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (missing, error) {
			var m missing
			err := row.Scan(&m.cid, &m.need)
			return m, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("registry: under-replicated: %w", err)
	}
	// Ties are in the database's collation; put them in byte order.
	slices.SortStableFunc(under, func(a, b missing) int {
		return cmp.Or(cmp.Compare(b.need, a.need), strings.Compare(a.cid, b.cid))
	})
	cids := make([]string, len(under))
	for i, m := range under {
		cids[i] = m.cid
	}
	return pinsOf(ctx, p, cids)
}

// HoldersOn returns the CIDs held by a node, in byte order. See
// Registry.HoldersOn.
func (p *Postgres) HoldersOn(ctx context.Context, nodeID string) ([]string, error) {
	var cids []string
	err := pgRetry(ctx, func() error {
		if err := pgNodeExists(ctx, p.pool, nodeID); err != nil {
			return err
		}
		rows, err := p.pool.Query(ctx, `SELECT cid FROM holders WHERE node_id = $1`, nodeID)
		if err != nil {
			return err
		}
		cids, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("registry: holders on %q: %w", nodeID, err)
	}
	slices.Sort(cids)
	return cids, nil
}
