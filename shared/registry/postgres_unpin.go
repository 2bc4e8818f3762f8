package registry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// AccountPins lists an account's pins. See Registry.AccountPins.
func (p *Postgres) AccountPins(ctx context.Context, account, after string, limit int) ([]AccountPin, error) {
	var pins []AccountPin
	err := pgRetry(ctx, func() error {
		if err := pgAccountExists(ctx, p.pool, account); err != nil {
			return err
		}
		rows, err := p.pool.Query(ctx, accountPinsSQL, account, after, pinsLimit(limit))
		if err != nil {
			return err
		}
		pins, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (AccountPin, error) {
			var a AccountPin
			var at int64
			err := row.Scan(&a.CID, &a.Size, &a.Status, &a.Replicas, &at)
			a.PinnedAt = fromNanos(at)
			return a, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("registry: pins of %q: %w", account, err)
	}
	return pins, nil
}

// Unpin removes an account's pin. See Registry.Unpin.
func (p *Postgres) Unpin(ctx context.Context, account, cid string) (bool, error) {
	var orphaned bool
	err := p.tx(ctx, func(tx pgx.Tx) error {
		orphaned = false
		if err := pgAccountExists(ctx, tx, account); err != nil {
			return err
		}
		var at int64
		if err := tx.QueryRow(ctx, lockContentSQL, cid).Scan(&at); errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("no pin of %q: %w", cid, ErrNotFound)
		} else if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, unpinSQL, account, cid)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("no pin of %q: %w", cid, ErrNotFound)
		}
		tag, err = tx.Exec(ctx, orphanSQL, cid, nowNanos())
		orphaned = err == nil && tag.RowsAffected() == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("registry: unpin %q: %w", cid, err)
	}
	return orphaned, nil
}

// CollectGarbage hands out unpinned CIDs' copies. See
// Registry.CollectGarbage.
func (p *Postgres) CollectGarbage(ctx context.Context, before time.Time, limit int) ([]Garbage, error) {
	var out []Garbage
	err := p.tx(ctx, func(tx pgx.Tx) error {
		out = nil
		now := nowNanos()
		rows, err := tx.Query(ctx, garbageSQL, toNanos(before), garbageLimit(limit))
		if err != nil {
			return err
		}
		cids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, cid := range cids {
			// Locked, then checked again: a RecordPin that got there
			// first has pinned it, one that comes later waits and finds
			// it unpinned, or gone (and records a new one).
			var at, pins int64
			if err := tx.QueryRow(ctx, lockContentSQL, cid).Scan(&at); errors.Is(err, pgx.ErrNoRows) {
				continue
			} else if err != nil {
				return err
			}
			if err := tx.QueryRow(ctx, pinnedSQL, cid).Scan(&pins); err != nil {
				return err
			}
			if at == 0 || pins > 0 {
				if _, err := tx.Exec(ctx, revivePinSQL, cid); err != nil {
					return err
				}
				continue
			}
			rows, err := tx.Query(ctx, garbageHoldersSQL, cid)
			if err != nil {
				return err
			}
			holders, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Holder, error) {
				var h Holder
				err := row.Scan(&h.NodeID, &h.Region, &h.URL)
				return h, err
			})
			if err != nil {
				return err
			}
			if len(holders) == 0 {
				if _, err := tx.Exec(ctx, `DELETE FROM contents WHERE cid = $1`, cid); err != nil {
					return err
				}
				continue
			}
			if _, err := tx.Exec(ctx, garbageTriedSQL, cid, now); err != nil {
				return err
			}
			out = append(out, Garbage{CID: cid, Holders: holders})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("registry: collect garbage: %w", err)
	}
	return out, nil
}
