package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// SQLite is the embedded SQLite Registry backend. It is safe for concurrent
// use by many goroutines, and several processes may open the same file.
type SQLite struct {
	db *sql.DB
}

var _ Registry = (*SQLite)(nil)

// sqliteBusyTimeoutMS is how long a connection waits for a lock held by
// another connection (or process) before reporting SQLITE_BUSY.
const sqliteBusyTimeoutMS = 5000

// sqliteMaxAttempts bounds how often a transaction is retried after
// SQLITE_BUSY / SQLITE_LOCKED (on top of the busy_timeout wait).
const sqliteMaxAttempts = 8

// OpenSQLite opens (creating if needed) the SQLite registry at path, with WAL journal, busy_timeout, foreign keys on,
// and migrates the schema (idempotent; a schema_version table). Safe for concurrent use by many goroutines.
//
// Write transactions start with BEGIN IMMEDIATE and are retried on
// SQLITE_BUSY, so several processes can share the file. The returned value
// is a *SQLite.
func OpenSQLite(path string) (Registry, error) {
	if path == "" {
		return nil, errors.New("registry: empty sqlite path")
	}
	db, err := sql.Open("sqlite", sqliteDSN(path))
	if err != nil {
		return nil, fmt.Errorf("registry: open sqlite %q: %w", path, err)
	}
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	s := &SQLite{db: db}
	ctx := context.Background()
	if err := s.write(ctx, func(tx *sql.Tx) error {
		return migrate(ctx, tx, sqliteMigrations())
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("registry: open sqlite %q: %w", path, err)
	}
	return s, nil
}

// sqliteDSN builds the modernc.org/sqlite DSN for a database file. The path
// is escaped for SQLite's URI parser; every connection gets the busy
// timeout, WAL journal and foreign keys, and read-write transactions begin
// IMMEDIATE so that lock contention is detected (and waited for) at BEGIN
// rather than failing mid-transaction.
func sqliteDSN(path string) string {
	esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	return fmt.Sprintf("file:%s?_pragma=busy_timeout(%d)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_txlock=immediate",
		esc, sqliteBusyTimeoutMS)
}

// Close closes the underlying database handle.
func (s *SQLite) Close() error {
	return s.db.Close()
}

// write runs fn in a read-write (BEGIN IMMEDIATE) transaction, committing if
// fn returns nil and rolling back otherwise. The whole transaction is retried
// if it fails because the database is busy or locked.
func (s *SQLite) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return s.retry(ctx, func() error {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if err := fn(tx); err != nil {
			tx.Rollback()
			return err
		}
		return tx.Commit()
	})
}

// retry calls fn until it succeeds, fails with an error other than
// SQLITE_BUSY/SQLITE_LOCKED, ctx is done, or sqliteMaxAttempts is reached.
func (s *SQLite) retry(ctx context.Context, fn func() error) error {
	backoff := 5 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || !isBusy(err) || attempt >= sqliteMaxAttempts {
			return err
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		case <-t.C:
		}
		backoff = min(2*backoff, 500*time.Millisecond)
	}
}

// isBusy reports whether err is (or wraps) an SQLite BUSY or LOCKED error,
// including their extended result codes.
func isBusy(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return true
	}
	return false
}

// nowNanos returns the current time as UTC unix nanoseconds.
func nowNanos() int64 {
	return time.Now().UTC().UnixNano()
}

// fromNanos converts stored unix nanoseconds to a UTC time.
func fromNanos(ns int64) time.Time {
	return time.Unix(0, ns).UTC()
}
