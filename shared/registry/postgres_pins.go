package registry

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// RecordPin atomically records that account pinned cid of size bytes, held
// by the given node ids. See Registry.RecordPin.
//
// Concurrent calls for one CID are safe at READ COMMITTED: the contents,
// pins and holders rows are written with INSERT ... ON CONFLICT, which waits
// for a racing insert of the same key to commit or roll back, and holder
// rows are locked in sorted order.
func (p *Postgres) RecordPin(ctx context.Context, account, cid string, size int64, holders []string) (bool, error) {
	nodeIDs, err := checkPinArgs(cid, size, holders)
	if err != nil {
		return false, fmt.Errorf("registry: record pin %q: %w", cid, err)
	}
	var created bool
	err = p.tx(ctx, func(tx pgx.Tx) error {
		created = false
		now := nowNanos()
		if err := pgAccountExists(ctx, tx, account); err != nil {
			return err
		}
		if err := pgNodesExist(ctx, tx, nodeIDs); err != nil {
			return err
		}
		// Pinned from now on; the row, if there is one, is locked until
		// commit (Unpin and CollectGarbage lock it too).
		if _, err := tx.Exec(ctx, revivePinSQL, cid); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx,
			`INSERT INTO contents (cid, size, status, created_at) VALUES ($1, $2, $3, $4)
			 ON CONFLICT (cid) DO NOTHING`,
			cid, size, StatusPinned, now); err != nil {
			return err
		}
		var have int64
		if err := tx.QueryRow(ctx, `SELECT size FROM contents WHERE cid = $1`, cid).Scan(&have); err != nil {
			return err
		}
		if have != size {
			return fmt.Errorf("size %d, recorded size %d: %w", size, have, ErrSizeMismatch)
		}
		tag, err := tx.Exec(ctx,
			`INSERT INTO pins (account_id, cid, created_at) VALUES ($1, $2, $3)
			 ON CONFLICT (account_id, cid) DO NOTHING`,
			account, cid, now)
		if err != nil {
			return err
		}
		created = tag.RowsAffected() == 1
		if len(nodeIDs) == 0 {
			return nil
		}
		_, err = tx.Exec(ctx,
			`INSERT INTO holders (cid, node_id, status, added_at, updated_at, accrued_at)
			 SELECT $1, n, $2, $3, $3, $3 FROM unnest($4::TEXT[]) AS n
			 ON CONFLICT (cid, node_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at
			 WHERE holders.status <> excluded.status`,
			cid, StatusPinned, now, nodeIDs)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("registry: record pin %q: %w", cid, err)
	}
	return created, nil
}

// Pin returns the CID's pin info with its holders joined with node
// region/url; ErrNotFound if no account pins it. It reads everything in one
// statement, so the result is a consistent snapshot.
func (p *Postgres) Pin(ctx context.Context, cid string) (PinInfo, error) {
	var info PinInfo
	err := pgRetry(ctx, func() error {
		info = PinInfo{}
		rows, err := p.pool.Query(ctx,
			`SELECT c.size, c.status, c.replicas, p.first_pin, h.node_id, n.region, n.url, h.status, h.updated_at,
			   h.last_audit, h.last_outcome, `+accrualMark+`
			 FROM contents c
			 JOIN (SELECT cid, MIN(created_at) AS first_pin FROM pins WHERE cid = $1 GROUP BY cid) p
			   ON p.cid = c.cid
			 LEFT JOIN holders h ON h.cid = c.cid
			 LEFT JOIN nodes n ON n.id = h.node_id
			 WHERE c.cid = $1`, cid)
		if err != nil {
			return err
		}
		defer rows.Close()
		found := false
		for rows.Next() {
			var (
				first                                  int64
				node, region, nodeURL, status, outcome *string
				updated, audited, accrued              *int64
			)
			if err := rows.Scan(&info.Size, &info.Status, &info.Replicas, &first,
				&node, &region, &nodeURL, &status, &updated, &audited, &outcome, &accrued); err != nil {
				return err
			}
			found = true
			info.CreatedAt = fromNanos(first)
			if node != nil {
				info.Holders = append(info.Holders, Holder{NodeID: *node, Region: *region,
					URL: *nodeURL, Status: *status, UpdatedAt: fromNanos(*updated),
					LastAudit: optTime(*audited), LastOutcome: *outcome, AccruedAt: fromNanos(*accrued)})
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
	slices.SortFunc(info.Holders, func(a, b Holder) int { return strings.Compare(a.NodeID, b.NodeID) })
	return info, nil
}
