package registry

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// SetReplicas sets the target number of copies of a recorded CID.
func (p *Postgres) SetReplicas(ctx context.Context, cid string, r int) error {
	if r < 0 {
		return fmt.Errorf("registry: set replicas %q: negative replicas %d", cid, r)
	}
	if err := p.updateContent(ctx, cid, `UPDATE contents SET replicas = $1 WHERE cid = $2`, r, cid); err != nil {
		return fmt.Errorf("registry: set replicas %q: %w", cid, err)
	}
	return nil
}

// SetPinStatus sets the status of a recorded CID.
func (p *Postgres) SetPinStatus(ctx context.Context, cid, status string) error {
	if err := checkPinStatus(status); err != nil {
		return fmt.Errorf("registry: set pin status %q: %w", cid, err)
	}
	if err := p.updateContent(ctx, cid, `UPDATE contents SET status = $1 WHERE cid = $2`, status, cid); err != nil {
		return fmt.Errorf("registry: set pin status %q: %w", cid, err)
	}
	return nil
}

// SetHolderStatus inserts or updates the (cid, nodeID) holder row.
func (p *Postgres) SetHolderStatus(ctx context.Context, cid, nodeID, status string) error {
	if err := checkHolderStatus(status); err != nil {
		return fmt.Errorf("registry: set holder status %q on %q: %w", cid, nodeID, err)
	}
	err := p.tx(ctx, func(tx pgx.Tx) error {
		if err := pgContentExists(ctx, tx, cid); err != nil {
			return err
		}
		if err := pgNodeExists(ctx, tx, nodeID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx,
			`INSERT INTO holders (cid, node_id, status, added_at, updated_at, accrued_at) VALUES ($1, $2, $3, $4, $4, $4)
			 ON CONFLICT (cid, node_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at`,
			cid, nodeID, status, nowNanos())
		return err
	})
	if err != nil {
		return fmt.Errorf("registry: set holder status %q on %q: %w", cid, nodeID, err)
	}
	return nil
}

// RemoveHolder deletes the (cid, nodeID) holder row if there is one.
func (p *Postgres) RemoveHolder(ctx context.Context, cid, nodeID string) error {
	err := p.tx(ctx, func(tx pgx.Tx) error {
		if err := pgContentExists(ctx, tx, cid); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM holders WHERE cid = $1 AND node_id = $2`, cid, nodeID)
		return err
	})
	if err != nil {
		return fmt.Errorf("registry: remove holder %q from %q: %w", nodeID, cid, err)
	}
	return nil
}

// updateContent runs an UPDATE of one contents row and returns a wrapped
// ErrNotFound if it touched no row.
func (p *Postgres) updateContent(ctx context.Context, cid, query string, args ...any) error {
	return pgRetry(ctx, func() error {
		tag, err := p.pool.Exec(ctx, query, args...)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("cid %q: %w", cid, ErrNotFound)
		}
		return nil
	})
}
