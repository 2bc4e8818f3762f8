package registry

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
)

// AccrueStorage credits a holder with byte-hours up to at. See
// Registry.AccrueStorage. The holder row is locked first, so concurrent
// accruals of one holder never credit the same time twice.
func (p *Postgres) AccrueStorage(ctx context.Context, cid, nodeID string, at time.Time) (float64, error) {
	if err := checkAccrualTime(at); err != nil {
		return 0, fmt.Errorf("registry: accrue %q on %q: %w", cid, nodeID, err)
	}
	atNs := toNanos(at)
	var credit float64
	err := p.tx(ctx, func(tx pgx.Tx) error {
		credit = 0
		var one int
		err := tx.QueryRow(ctx, holderExistsSQL+` FOR UPDATE`, cid, nodeID).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		var size, mark int64
		if err := tx.QueryRow(ctx, accrualSQL, cid, nodeID).Scan(&size, &mark); err != nil || atNs <= mark {
			return err
		}
		if _, err := tx.Exec(ctx, markAccrualSQL, cid, nodeID, atNs); err != nil {
			return err
		}
		if credit = byteHours(size, mark, atNs); credit == 0 {
			return nil
		}
		_, err = tx.Exec(ctx, ledgerInsertSQL, nodeID, cid, LedgerStorage, credit, atNs)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("registry: accrue %q on %q: %w", cid, nodeID, err)
	}
	return credit, nil
}

// MarkAccrual moves a holder's accrual mark forward without credit. See
// Registry.MarkAccrual.
func (p *Postgres) MarkAccrual(ctx context.Context, cid, nodeID string, at time.Time) error {
	if err := checkAccrualTime(at); err != nil {
		return fmt.Errorf("registry: mark accrual %q on %q: %w", cid, nodeID, err)
	}
	err := p.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, markAccrualSQL, cid, nodeID, toNanos(at))
		if err != nil || tag.RowsAffected() == 1 {
			return err
		}
		var one int
		err = tx.QueryRow(ctx, holderExistsSQL, cid, nodeID).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("registry: mark accrual %q on %q: %w", cid, nodeID, err)
	}
	return nil
}

// RecordEgress credits a node with bytes served. See Registry.RecordEgress.
func (p *Postgres) RecordEgress(ctx context.Context, nodeID string, served []Egress, at time.Time) error {
	if err := checkEgress(nodeID, served); err != nil {
		return err
	}
	if at.IsZero() {
		at = time.Now()
	}
	err := p.tx(ctx, func(tx pgx.Tx) error {
		if err := pgNodeExists(ctx, tx, nodeID); err != nil {
			return err
		}
		for _, e := range served {
			if e.Bytes == 0 {
				continue
			}
			if _, err := tx.Exec(ctx, ledgerInsertSQL, nodeID, e.CID, LedgerEgress, float64(e.Bytes), toNanos(at)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("registry: egress of %q: %w", nodeID, err)
	}
	return nil
}

// Earnings sums a node's ledger entries. See Registry.Earnings.
func (p *Postgres) Earnings(ctx context.Context, nodeID string, from, to time.Time) (Earnings, error) {
	e := Earnings{NodeID: nodeID, From: from, To: to}
	err := pgRetry(ctx, func() error {
		if err := pgNodeExists(ctx, p.pool, nodeID); err != nil {
			return err
		}
		var egress float64
		err := p.pool.QueryRow(ctx, earningsSQL, nodeID,
			boundNanos(from, math.MinInt64), boundNanos(to, math.MaxInt64)).Scan(&e.ByteHours, &egress)
		e.EgressBytes = int64(math.Round(egress))
		return err
	})
	if err != nil {
		return Earnings{}, fmt.Errorf("registry: earnings of %q: %w", nodeID, err)
	}
	return e, nil
}

// Ledger lists a node's ledger entries. See Registry.Ledger.
func (p *Postgres) Ledger(ctx context.Context, nodeID string, from, to time.Time, limit int) ([]LedgerEntry, error) {
	var entries []LedgerEntry
	err := pgRetry(ctx, func() error {
		if err := pgNodeExists(ctx, p.pool, nodeID); err != nil {
			return err
		}
		rows, err := p.pool.Query(ctx, ledgerSQL, nodeID,
			boundNanos(from, math.MinInt64), boundNanos(to, math.MaxInt64), listLimit(limit))
		if err != nil {
			return err
		}
		entries, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (LedgerEntry, error) {
			return scanLedgerEntry(row)
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("registry: ledger of %q: %w", nodeID, err)
	}
	return entries, nil
}

// Usage returns what an account stores. See Registry.Usage.
func (p *Postgres) Usage(ctx context.Context, account string) (Usage, error) {
	u := Usage{Account: account}
	err := pgRetry(ctx, func() error {
		if err := pgAccountExists(ctx, p.pool, account); err != nil {
			return err
		}
		if err := p.pool.QueryRow(ctx, usageSQL, account).Scan(&u.Pins, &u.StoredBytes); err != nil {
			return err
		}
		var egress float64
		err := p.pool.QueryRow(ctx, usageLedgerSQL, account).Scan(&u.ByteHours, &egress)
		u.EgressBytes = int64(math.Round(egress))
		return err
	})
	if err != nil {
		return Usage{}, fmt.Errorf("registry: usage of %q: %w", account, err)
	}
	return u, nil
}
