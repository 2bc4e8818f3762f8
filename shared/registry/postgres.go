package registry

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Postgres is the PostgreSQL Registry backend, for several gateways and
// auditds sharing one database. It is safe for concurrent use by many
// goroutines and by many processes. The SQL also runs on CockroachDB.
//
// Transactions run at the server's default isolation (READ COMMITTED on
// PostgreSQL, SERIALIZABLE on CockroachDB). Writes that race with other
// writers are single-statement upserts (INSERT ... ON CONFLICT), or lock the
// row they read and rewrite (SELECT ... FOR UPDATE: reputations, accrual
// marks), so they stay atomic at READ COMMITTED; serialization failures and
// deadlocks (SQLSTATE 40001, 40P01) are retried.
type Postgres struct {
	pool *pgxpool.Pool
}

var _ Registry = (*Postgres)(nil)

// pgMaxAttempts bounds how often a transaction is tried when it fails with a
// serialization failure or deadlock.
const pgMaxAttempts = 10

// pgMigrationLock is the advisory lock key held while migrating, so that
// processes starting at once migrate one after another.
const pgMigrationLock int64 = 0x6473746f72656731 // "dstoreg1"

// OpenPostgres connects to the PostgreSQL (or CockroachDB) database at dsn
// (a postgres:// URL or key=value string; pgxpool settings such as
// pool_max_conns are honoured) and migrates the schema. The returned value is
// a *Postgres.
func OpenPostgres(ctx context.Context, dsn string) (Registry, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("registry: open postgres: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("registry: open postgres: %w", err)
	}
	p := &Postgres{pool: pool}
	if err := p.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("registry: open postgres: %w", err)
	}
	return p, nil
}

// Close closes every connection of the pool.
func (p *Postgres) Close() error {
	p.pool.Close()
	return nil
}

// migrate applies postgresMigrations in one transaction. On PostgreSQL it
// first takes a transaction-scoped advisory lock, so a second process waits
// and then finds the schema current (READ COMMITTED: each statement sees
// what committed before it). CockroachDB has no advisory locks; there racing
// migrations are serialized by its SERIALIZABLE transactions and retried.
func (p *Postgres) migrate(ctx context.Context) error {
	var version string
	if err := p.pool.QueryRow(ctx, `SELECT version()`).Scan(&version); err != nil {
		return err
	}
	lock := !strings.Contains(version, "CockroachDB")
	return p.tx(ctx, func(tx pgx.Tx) error {
		if lock {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, pgMigrationLock); err != nil {
				return fmt.Errorf("registry: migration lock: %w", err)
			}
		}
		return migratePostgres(ctx, tx, postgresMigrations())
	})
}

// tx runs fn in a transaction, committing if fn returns nil and rolling back
// otherwise. The whole transaction is retried with jittered backoff if it
// fails with a serialization failure or deadlock, so fn must be safe to run
// more than once.
func (p *Postgres) tx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgRetry(ctx, func() error {
		return pgx.BeginFunc(ctx, p.pool, fn)
	})
}

// pgRetry calls fn until it succeeds, fails with a non-retryable error, ctx
// is done, or pgMaxAttempts is reached.
func pgRetry(ctx context.Context, fn func() error) error {
	backoff := 2 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || !pgRetryable(err) || attempt >= pgMaxAttempts {
			return err
		}
		t := time.NewTimer(backoff/2 + rand.N(backoff))
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		case <-t.C:
		}
		backoff = min(2*backoff, 250*time.Millisecond)
	}
}

// pgRetryable reports whether err is a serialization failure (40001) or a
// deadlock (40P01): the transaction had no effect and may be tried again.
func pgRetryable(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	return pe.Code == "40001" || pe.Code == "40P01"
}
