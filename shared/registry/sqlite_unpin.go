package registry

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// AccountPins lists an account's pins. See Registry.AccountPins.
func (s *SQLite) AccountPins(ctx context.Context, account, after string, limit int) ([]AccountPin, error) {
	var pins []AccountPin
	err := s.retry(ctx, func() error {
		pins = nil
		if err := accountExists(ctx, s.db, account); err != nil {
			return err
		}
		rows, err := s.db.QueryContext(ctx, accountPinsSQL, account, after, pinsLimit(limit))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var p AccountPin
			var at int64
			if err := rows.Scan(&p.CID, &p.Size, &p.Status, &p.Replicas, &at); err != nil {
				return err
			}
			p.PinnedAt = fromNanos(at)
			pins = append(pins, p)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("registry: pins of %q: %w", account, err)
	}
	return pins, nil
}

// Unpin removes an account's pin. See Registry.Unpin.
func (s *SQLite) Unpin(ctx context.Context, account, cid string) (bool, error) {
	var orphaned bool
	err := s.write(ctx, func(tx *sql.Tx) error {
		orphaned = false
		if err := accountExists(ctx, tx, account); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, unpinSQL, account, cid)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err == nil {
				err = fmt.Errorf("no pin of %q: %w", cid, ErrNotFound)
			}
			return err
		}
		res, err = tx.ExecContext(ctx, orphanSQL, cid, nowNanos())
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		orphaned = n == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("registry: unpin %q: %w", cid, err)
	}
	return orphaned, nil
}

// CollectGarbage hands out unpinned CIDs' copies. See
// Registry.CollectGarbage.
func (s *SQLite) CollectGarbage(ctx context.Context, before time.Time, limit int) ([]Garbage, error) {
	var out []Garbage
	err := s.write(ctx, func(tx *sql.Tx) error {
		out = nil
		now := nowNanos()
		cids, err := sqliteColumn[string](ctx, tx, garbageSQL, toNanos(before), garbageLimit(limit))
		if err != nil {
			return err
		}
		for _, cid := range cids {
			var pins int64
			if err := tx.QueryRowContext(ctx, pinnedSQL, cid).Scan(&pins); err != nil {
				return err
			}
			if pins > 0 { // pinned again: not garbage
				if _, err := tx.ExecContext(ctx, revivePinSQL, cid); err != nil {
					return err
				}
				continue
			}
			g := Garbage{CID: cid}
			rows, err := tx.QueryContext(ctx, garbageHoldersSQL, cid)
			if err != nil {
				return err
			}
			for rows.Next() {
				var h Holder
				if err := rows.Scan(&h.NodeID, &h.Region, &h.URL); err != nil {
					rows.Close()
					return err
				}
				g.Holders = append(g.Holders, h)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			if len(g.Holders) == 0 {
				if _, err := tx.ExecContext(ctx, `DELETE FROM contents WHERE cid = $1`, cid); err != nil {
					return err
				}
				continue
			}
			if _, err := tx.ExecContext(ctx, garbageTriedSQL, cid, now); err != nil {
				return err
			}
			out = append(out, g)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("registry: collect garbage: %w", err)
	}
	return out, nil
}
