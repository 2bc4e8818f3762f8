package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// RecordPin atomically records that account pinned cid of size bytes, held
// by the given node ids. See Registry.RecordPin.
func (s *SQLite) RecordPin(ctx context.Context, account, cid string, size int64, holders []string) (bool, error) {
	nodeIDs, err := checkPinArgs(cid, size, holders)
	if err != nil {
		return false, fmt.Errorf("registry: record pin %q: %w", cid, err)
	}

	var created bool
	err = s.write(ctx, func(tx *sql.Tx) error {
		created = false
		now := nowNanos()
		if err := accountExists(ctx, tx, account); err != nil {
			return err
		}
		var have int64
		err := tx.QueryRowContext(ctx, `SELECT size FROM contents WHERE cid = $1`, cid).Scan(&have)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO contents (cid, size, status, created_at) VALUES ($1, $2, $3, $4)`,
				cid, size, StatusPinned, now); err != nil {
				return err
			}
		case err != nil:
			return err
		case have != size:
			return fmt.Errorf("size %d, recorded size %d: %w", size, have, ErrSizeMismatch)
		}
		if _, err := tx.ExecContext(ctx, revivePinSQL, cid); err != nil {
			return err
		}
		for _, id := range nodeIDs {
			if err := nodeExists(ctx, tx, id); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx,
			`INSERT INTO pins (account_id, cid, created_at) VALUES ($1, $2, $3)
			 ON CONFLICT (account_id, cid) DO NOTHING`,
			account, cid, now)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		created = n == 1
		for _, id := range nodeIDs {
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO holders (cid, node_id, added_at, status, updated_at, accrued_at) VALUES ($1, $2, $3, $4, $3, $3)
				 ON CONFLICT (cid, node_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at
				 WHERE holders.status <> excluded.status`,
				cid, id, now, StatusPinned); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("registry: record pin %q: %w", cid, err)
	}
	return created, nil
}

// Pin returns the CID's pin info with its holders joined with node
// region/url; ErrNotFound if no account pins it. It reads everything in one
// statement, so the result is a consistent snapshot.
func (s *SQLite) Pin(ctx context.Context, cid string) (PinInfo, error) {
	var info PinInfo
	err := s.retry(ctx, func() error {
		info = PinInfo{}
		rows, err := s.db.QueryContext(ctx,
			`SELECT c.size, c.status, c.replicas, p.first_pin, h.node_id, n.region, n.url, h.status, h.updated_at,
			   h.last_audit, h.last_outcome, `+accrualMark+`
			 FROM contents c
			 JOIN (SELECT cid, MIN(created_at) AS first_pin FROM pins WHERE cid = $1 GROUP BY cid) p
			   ON p.cid = c.cid
			 LEFT JOIN holders h ON h.cid = c.cid
			 LEFT JOIN nodes n ON n.id = h.node_id
			 WHERE c.cid = $1
			 ORDER BY h.node_id`, cid)
		if err != nil {
			return err
		}
		defer rows.Close()
		found := false
		for rows.Next() {
			var (
				first                                  int64
				node, region, nodeURL, status, outcome sql.NullString
				updated, audited, accrued              sql.NullInt64
			)
			if err := rows.Scan(&info.Size, &info.Status, &info.Replicas, &first,
				&node, &region, &nodeURL, &status, &updated, &audited, &outcome, &accrued); err != nil {
				return err
			}
			found = true
			info.CreatedAt = fromNanos(first)
			if node.Valid {
				info.Holders = append(info.Holders, Holder{NodeID: node.String, Region: region.String,
					URL: nodeURL.String, Status: status.String, UpdatedAt: fromNanos(updated.Int64),
					LastAudit: optTime(audited.Int64), LastOutcome: outcome.String, AccruedAt: fromNanos(accrued.Int64)})
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if !found {
			return ErrNotFound
		}
		info.CID = cid
		info.LastAudit = lastAudit(info.Holders)
		return nil
	})
	if err != nil {
		return PinInfo{}, fmt.Errorf("registry: pin %q: %w", cid, err)
	}
	return info, nil
}
