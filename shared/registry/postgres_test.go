package registry

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"dstor/shared/registry/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// openTestPostgres opens a registry on dsn and closes it at cleanup.
func openTestPostgres(t *testing.T, dsn string) *Postgres {
	t.Helper()
	r, err := OpenPostgres(context.Background(), dsn)
	if err != nil {
		t.Fatalf("OpenPostgres(%q): %v", dsn, err)
	}
	p, ok := r.(*Postgres)
	if !ok {
		t.Fatalf("OpenPostgres returned %T, want *Postgres", r)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return p
}

func TestPostgresConformance(t *testing.T) {
	runConformance(t, backend{
		open: func(t *testing.T) Registry {
			return openTestPostgres(t, pgtest.Start(t))
		},
		openPair: func(t *testing.T) (Registry, Registry) {
			dsn := pgtest.Start(t)
			return openTestPostgres(t, dsn), openTestPostgres(t, dsn)
		},
	})
}

func TestPostgresSchema(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Start(t)
	p := openTestPostgres(t, dsn)
	acct := mustAccount(t, p, "alice")
	mustNode(t, p, "node-1", "eu")
	mustPin(t, p, acct, "cid-1", 10, "node-1")

	t.Run("schema_version", func(t *testing.T) {
		var n, v int
		if err := p.pool.QueryRow(ctx, "SELECT COUNT(*), MAX(version) FROM schema_version").Scan(&n, &v); err != nil {
			t.Fatalf("schema_version: %v", err)
		}
		if n != 1 || v != len(postgresMigrations()) {
			t.Fatalf("schema_version rows=%d version=%d, want 1 row, version %d", n, v, len(postgresMigrations()))
		}
	})
	t.Run("reopen is idempotent", func(t *testing.T) {
		for range 2 {
			q := openTestPostgres(t, dsn)
			info, err := q.Pin(ctx, "cid-1")
			if err != nil || !slices.Equal(holderIDs(info), []string{"node-1"}) {
				t.Fatalf("Pin after reopen = %+v, %v", info, err)
			}
		}
	})
	t.Run("concurrent opens", func(t *testing.T) {
		fresh := pgtest.Start(t)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			wg.Go(func() {
				r, err := OpenPostgres(ctx, fresh)
				if err == nil {
					_, err = r.CreateAccount(ctx, "x")
					r.Close()
				}
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
	})
	t.Run("newer schema rejected", func(t *testing.T) {
		if _, err := p.pool.Exec(ctx, "UPDATE schema_version SET version = version + 1"); err != nil {
			t.Fatal(err)
		}
		defer p.pool.Exec(ctx, "UPDATE schema_version SET version = version - 1")
		if r, err := OpenPostgres(ctx, dsn); err == nil {
			r.Close()
			t.Fatal("OpenPostgres succeeded on a database with a newer schema version")
		}
	})
	t.Run("bad status rejected by the database too", func(t *testing.T) {
		if _, err := p.pool.Exec(ctx, "UPDATE holders SET status = 'queued'"); err == nil {
			t.Fatal("holder status 'queued' accepted")
		}
		if _, err := p.pool.Exec(ctx, "UPDATE contents SET status = 'bogus'"); err == nil {
			t.Fatal("pin status 'bogus' accepted")
		}
		for _, q := range []string{
			`INSERT INTO audits (node_id, cid, auditor, audited_at, outcome, reason, latency, deadline, suspect)
			 VALUES ('node-1', 'cid-1', '', 1, 'bogus', '', 0, 0, false)`,
			`INSERT INTO ledger (node_id, cid, kind, amount, entry_at) VALUES ('node-1', '', 'bogus', 1, 1)`,
			`INSERT INTO reputations VALUES ('node-1', 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 'bogus', '', 0, '', 0, 0)`,
		} {
			if _, err := p.pool.Exec(ctx, q); err == nil {
				t.Fatalf("accepted: %s", q)
			}
		}
	})
}

func TestPostgresRetry(t *testing.T) {
	ctx := context.Background()
	p := openTestPostgres(t, pgtest.Start(t))
	// Serializable transactions that read and write the same row conflict;
	// tx retries them until each commits.
	if _, err := p.pool.Exec(ctx, `CREATE TABLE counter (n BIGINT NOT NULL); INSERT INTO counter VALUES (0)`); err != nil {
		t.Fatal(err)
	}
	const workers = 8
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			errs <- p.tx(ctx, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, `SET TRANSACTION ISOLATION LEVEL SERIALIZABLE`); err != nil {
					return err
				}
				var n int
				if err := tx.QueryRow(ctx, `SELECT n FROM counter`).Scan(&n); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, `UPDATE counter SET n = $1`, n+1)
				return err
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	var n int
	if err := p.pool.QueryRow(ctx, `SELECT n FROM counter`).Scan(&n); err != nil || n != workers {
		t.Fatalf("counter = %d, %v; want %d", n, err, workers)
	}
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Start(t)
	tests := []struct {
		name   string
		target string
		want   string
	}{
		{"postgres url", dsn, "*registry.Postgres"},
		{"postgresql url", "postgresql" + dsn[len("postgres"):], "*registry.Postgres"},
		{"sqlite path", filepath.Join(t.TempDir(), "r.db"), "*registry.SQLite"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Open(ctx, tc.target)
			if err != nil {
				t.Fatalf("Open(%q): %v", tc.target, err)
			}
			defer r.Close()
			if got := fmt.Sprintf("%T", r); got != tc.want {
				t.Fatalf("Open(%q) = %s, want %s", tc.target, got, tc.want)
			}
		})
	}
	t.Run("bad postgres url", func(t *testing.T) {
		if r, err := Open(ctx, "postgres://127.0.0.1:1/nope?connect_timeout=2"); err == nil {
			r.Close()
			t.Fatal("Open of an unreachable server succeeded")
		}
	})
	t.Run("empty target", func(t *testing.T) {
		if _, err := Open(ctx, ""); err == nil || errors.Is(err, ErrNotFound) {
			t.Fatalf("Open(\"\") = %v, want an error", err)
		}
	})
}

// TestPostgresMigrateV1 checks that a database written by schema version 1
// migrates with its data intact.
func TestPostgresMigrateV1(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Start(t)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if err := migratePostgres(ctx, tx, postgresMigrations()[:1]); err != nil {
			return err
		}
		for _, q := range []string{
			`INSERT INTO accounts VALUES ('acct_1', 'a', 1)`,
			`INSERT INTO nodes (id, region, url, public_key, joined_at) VALUES ('n1', 'eu', 'https://n1:1', '\x01', 2)`,
			`INSERT INTO contents (cid, size, created_at) VALUES ('cid-1', 5, 3)`,
			`INSERT INTO pins VALUES ('acct_1', 'cid-1', 3)`,
			`INSERT INTO holders (cid, node_id, added_at, updated_at) VALUES ('cid-1', 'n1', 4, 4)`,
		} {
			if _, err := tx.Exec(ctx, q); err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
		}
		return nil
	})
	conn.Close(ctx)
	if err != nil {
		t.Fatalf("write schema version 1: %v", err)
	}
	p := openTestPostgres(t, dsn)
	if h := mustHolder(t, p, "cid-1", "n1"); h.Status != StatusPinned || h.UpdatedAt.UnixNano() != 4 {
		t.Fatalf("holder = %+v, want pinned, UpdatedAt kept", h)
	}
	checkMigratedAuditState(t, p)
}
