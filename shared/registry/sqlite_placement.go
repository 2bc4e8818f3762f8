package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// SetReplicas sets the target number of copies of a recorded CID.
func (s *SQLite) SetReplicas(ctx context.Context, cid string, r int) error {
	if r < 0 {
		return fmt.Errorf("registry: set replicas %q: negative replicas %d", cid, r)
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		return updateContent(ctx, tx, cid, `UPDATE contents SET replicas = $1 WHERE cid = $2`, r, cid)
	})
	if err != nil {
		return fmt.Errorf("registry: set replicas %q: %w", cid, err)
	}
	return nil
}

// SetPinStatus sets the status of a recorded CID.
func (s *SQLite) SetPinStatus(ctx context.Context, cid, status string) error {
	if err := checkPinStatus(status); err != nil {
		return fmt.Errorf("registry: set pin status %q: %w", cid, err)
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		return updateContent(ctx, tx, cid, `UPDATE contents SET status = $1 WHERE cid = $2`, status, cid)
	})
	if err != nil {
		return fmt.Errorf("registry: set pin status %q: %w", cid, err)
	}
	return nil
}

// SetHolderStatus inserts or updates the (cid, nodeID) holder row.
func (s *SQLite) SetHolderStatus(ctx context.Context, cid, nodeID, status string) error {
	if err := checkHolderStatus(status); err != nil {
		return fmt.Errorf("registry: set holder status %q on %q: %w", cid, nodeID, err)
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := contentExists(ctx, tx, cid); err != nil {
			return err
		}
		if err := nodeExists(ctx, tx, nodeID); err != nil {
			return err
		}
		now := nowNanos()
		_, err := tx.ExecContext(ctx,
			`INSERT INTO holders (cid, node_id, added_at, status, updated_at, accrued_at) VALUES ($1, $2, $3, $4, $3, $3)
			 ON CONFLICT (cid, node_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at`,
			cid, nodeID, now, status)
		return err
	})
	if err != nil {
		return fmt.Errorf("registry: set holder status %q on %q: %w", cid, nodeID, err)
	}
	return nil
}

// RemoveHolder deletes the (cid, nodeID) holder row if there is one.
func (s *SQLite) RemoveHolder(ctx context.Context, cid, nodeID string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := contentExists(ctx, tx, cid); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM holders WHERE cid = $1 AND node_id = $2`, cid, nodeID)
		return err
	})
	if err != nil {
		return fmt.Errorf("registry: remove holder %q from %q: %w", nodeID, cid, err)
	}
	return nil
}

// updateContent runs an UPDATE of one contents row and returns a wrapped
// ErrNotFound if it touched no row.
func updateContent(ctx context.Context, tx *sql.Tx, cid, query string, args ...any) error {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("cid %q: %w", cid, ErrNotFound)
	}
	return nil
}

// contentExists returns nil if the CID was recorded, a wrapped ErrNotFound if not.
func contentExists(ctx context.Context, tx *sql.Tx, cid string) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM contents WHERE cid = $1`, cid).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("cid %q: %w", cid, ErrNotFound)
	}
	return err
}
