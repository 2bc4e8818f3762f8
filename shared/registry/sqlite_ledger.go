package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"
)

// AccrueStorage credits a holder with byte-hours up to at. See
// Registry.AccrueStorage.
func (s *SQLite) AccrueStorage(ctx context.Context, cid, nodeID string, at time.Time) (float64, error) {
	if err := checkAccrualTime(at); err != nil {
		return 0, fmt.Errorf("registry: accrue %q on %q: %w", cid, nodeID, err)
	}
	atNs := toNanos(at)
	var credit float64
	err := s.write(ctx, func(tx *sql.Tx) error {
		credit = 0
		var size, mark int64
		err := tx.QueryRowContext(ctx, accrualSQL, cid, nodeID).Scan(&size, &mark)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil || atNs <= mark {
			return err
		}
		if _, err := tx.ExecContext(ctx, markAccrualSQL, cid, nodeID, atNs); err != nil {
			return err
		}
		if credit = byteHours(size, mark, atNs); credit == 0 {
			return nil
		}
		_, err = tx.ExecContext(ctx, ledgerInsertSQL, nodeID, cid, LedgerStorage, credit, atNs)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("registry: accrue %q on %q: %w", cid, nodeID, err)
	}
	return credit, nil
}

// MarkAccrual moves a holder's accrual mark forward without credit. See
// Registry.MarkAccrual.
func (s *SQLite) MarkAccrual(ctx context.Context, cid, nodeID string, at time.Time) error {
	if err := checkAccrualTime(at); err != nil {
		return fmt.Errorf("registry: mark accrual %q on %q: %w", cid, nodeID, err)
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, markAccrualSQL, cid, nodeID, toNanos(at))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		var one int
		err = tx.QueryRowContext(ctx, holderExistsSQL, cid, nodeID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
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
func (s *SQLite) RecordEgress(ctx context.Context, nodeID string, served []Egress, at time.Time) error {
	if err := checkEgress(nodeID, served); err != nil {
		return err
	}
	if at.IsZero() {
		at = time.Now()
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := nodeExists(ctx, tx, nodeID); err != nil {
			return err
		}
		for _, e := range served {
			if e.Bytes == 0 {
				continue
			}
			if _, err := tx.ExecContext(ctx, ledgerInsertSQL, nodeID, e.CID, LedgerEgress, float64(e.Bytes), toNanos(at)); err != nil {
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
func (s *SQLite) Earnings(ctx context.Context, nodeID string, from, to time.Time) (Earnings, error) {
	e := Earnings{NodeID: nodeID, From: from, To: to}
	err := s.retry(ctx, func() error {
		if err := nodeExists(ctx, s.db, nodeID); err != nil {
			return err
		}
		var egress float64
		err := s.db.QueryRowContext(ctx, earningsSQL, nodeID,
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
func (s *SQLite) Ledger(ctx context.Context, nodeID string, from, to time.Time, limit int) ([]LedgerEntry, error) {
	var entries []LedgerEntry
	err := s.retry(ctx, func() error {
		entries = nil
		if err := nodeExists(ctx, s.db, nodeID); err != nil {
			return err
		}
		rows, err := s.db.QueryContext(ctx, ledgerSQL, nodeID,
			boundNanos(from, math.MinInt64), boundNanos(to, math.MaxInt64), listLimit(limit))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			e, err := scanLedgerEntry(rows)
			if err != nil {
				return err
			}
			entries = append(entries, e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("registry: ledger of %q: %w", nodeID, err)
	}
	return entries, nil
}

// Usage returns what an account stores. See Registry.Usage.
func (s *SQLite) Usage(ctx context.Context, account string) (Usage, error) {
	u := Usage{Account: account}
	err := s.retry(ctx, func() error {
		if err := accountExists(ctx, s.db, account); err != nil {
			return err
		}
		if err := s.db.QueryRowContext(ctx, usageSQL, account).Scan(&u.Pins, &u.StoredBytes); err != nil {
			return err
		}
		var egress float64
		err := s.db.QueryRowContext(ctx, usageLedgerSQL, account).Scan(&u.ByteHours, &egress)
		u.EgressBytes = int64(math.Round(egress))
		return err
	})
	if err != nil {
		return Usage{}, fmt.Errorf("registry: usage of %q: %w", account, err)
	}
	return u, nil
}
