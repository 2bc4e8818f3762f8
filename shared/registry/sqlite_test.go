package registry

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
)

// openTestSQLite opens a registry on a fresh file in t.TempDir and closes it
// at cleanup.
func openTestSQLite(t *testing.T, path string) *SQLite {
	t.Helper()
	r, err := OpenSQLite(path)
	if err != nil {
		t.Fatalf("OpenSQLite(%q): %v", path, err)
	}
	s, ok := r.(*SQLite)
	if !ok {
		t.Fatalf("OpenSQLite returned %T, want *SQLite", r)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestSQLiteConformance(t *testing.T) {
	runConformance(t, backend{
		open: func(t *testing.T) Registry {
			return openTestSQLite(t, filepath.Join(t.TempDir(), "registry.db"))
		},
		openPair: func(t *testing.T) (Registry, Registry) {
			path := filepath.Join(t.TempDir(), "shared.db")
			return openTestSQLite(t, path), openTestSQLite(t, path)
		},
	})
}

func TestSQLiteSettings(t *testing.T) {
	ctx := context.Background()
	// The odd name checks that the path is escaped for SQLite's URI parser.
	path := filepath.Join(t.TempDir(), "odd ?name#%41.db")
	s := openTestSQLite(t, path)
	if _, err := s.CreateAccount(ctx, "x"); err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	if m, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "*")); !slices.Contains(m, path) {
		t.Fatalf("database file %q not created; dir has %v", path, m)
	}

	tests := []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"foreign_keys", "1"},
		{"busy_timeout", "5000"},
	}
	for _, tc := range tests {
		t.Run(tc.pragma, func(t *testing.T) {
			var got string
			if err := s.db.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
				t.Fatalf("PRAGMA %s: %v", tc.pragma, err)
			}
			if got != tc.want {
				t.Fatalf("PRAGMA %s = %q, want %q", tc.pragma, got, tc.want)
			}
		})
	}
	t.Run("schema_version", func(t *testing.T) {
		var n, v int
		if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*), MAX(version) FROM schema_version").Scan(&n, &v); err != nil {
			t.Fatalf("schema_version: %v", err)
		}
		if n != 1 || v != len(sqliteMigrations()) {
			t.Fatalf("schema_version rows=%d version=%d, want 1 row, version %d", n, v, len(sqliteMigrations()))
		}
	})
	t.Run("newer schema rejected", func(t *testing.T) {
		if _, err := s.db.ExecContext(ctx, "UPDATE schema_version SET version = version + 1"); err != nil {
			t.Fatal(err)
		}
		defer s.db.ExecContext(ctx, "UPDATE schema_version SET version = version - 1")
		if r, err := OpenSQLite(path); err == nil {
			r.Close()
			t.Fatal("OpenSQLite succeeded on a database with a newer schema version")
		}
	})
}

func TestSQLiteReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "registry.db")

	r, err := OpenSQLite(path)
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	acct, err := r.CreateAccount(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.AddAPIKey(ctx, acct, hashOf("key")); err != nil {
		t.Fatal(err)
	}
	if err := r.AddEnrollToken(ctx, hashOf("tok")); err != nil {
		t.Fatal(err)
	}
	mustNode(t, r, "node-1", "eu")
	mustPin(t, r, acct, "cid-1", 10, "node-1")
	wantNodes, err := r.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantPin, err := r.Pin(ctx, "cid-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	// Reopen twice: migration must be idempotent.
	for round := range 2 {
		t.Run(fmt.Sprintf("reopen-%d", round), func(t *testing.T) {
			s := openTestSQLite(t, path)
			if got, err := s.AccountByKey(ctx, hashOf("key")); err != nil || got != acct {
				t.Errorf("AccountByKey = %q, %v; want %q", got, err, acct)
			}
			if err := s.CheckEnrollToken(ctx, hashOf("tok")); err != nil {
				t.Errorf("CheckEnrollToken: %v", err)
			}
			nodes, err := s.Nodes(ctx)
			if err != nil || len(nodes) != 1 || nodes[0].ID != wantNodes[0].ID ||
				!nodes[0].JoinedAt.Equal(wantNodes[0].JoinedAt) || nodes[0].URL != wantNodes[0].URL {
				t.Errorf("Nodes = %+v, %v; want %+v", nodes, err, wantNodes)
			}
			pin, err := s.Pin(ctx, "cid-1")
			if err != nil || pin.Size != wantPin.Size || !pin.CreatedAt.Equal(wantPin.CreatedAt) ||
				!slices.Equal(pin.Holders, wantPin.Holders) {
				t.Errorf("Pin = %+v, %v; want %+v", pin, err, wantPin)
			}
			if created := mustPin(t, s, acct, "cid-1", 10); created {
				t.Error("re-pin after reopen reported created")
			}
			var n int
			if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_version").Scan(&n); err != nil || n != 1 {
				t.Errorf("schema_version rows = %d, %v; want 1", n, err)
			}
		})
	}
}

// TestSQLiteMigrateV1 checks that a database written by schema version 1
// migrates with its data intact: holders become committed copies.
func TestSQLiteMigrateV1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v1.db")
	db, err := sql.Open("sqlite", sqliteDSN(path))
	if err != nil {
		t.Fatal(err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(ctx, tx, sqliteMigrations()[:1]); err != nil {
		t.Fatalf("migrate to v1: %v", err)
	}
	for _, q := range []string{
		`INSERT INTO accounts VALUES ('acct_1', 'a', 1)`,
		`INSERT INTO nodes VALUES ('n1', 'eu', 'https://n1:1', x'01', 2)`,
		`INSERT INTO contents VALUES ('cid-1', 5, 'pinned', 3)`,
		`INSERT INTO pins VALUES ('acct_1', 'cid-1', 3)`,
		`INSERT INTO holders VALUES ('cid-1', 'n1', 4)`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s := openTestSQLite(t, path)
	nodes, err := s.Nodes(ctx)
	if err != nil || len(nodes) != 1 || nodes[0].Operator != "" || nodes[0].JoinedAt.UnixNano() != 2 {
		t.Fatalf("Nodes = %+v, %v", nodes, err)
	}
	info, err := s.Pin(ctx, "cid-1")
	if err != nil || info.Status != StatusPinned || info.Replicas != 0 || info.Size != 5 || len(info.Holders) != 1 {
		t.Fatalf("Pin = %+v, %v", info, err)
	}
	if h := info.Holders[0]; h.Status != StatusPinned || h.UpdatedAt.UnixNano() != 4 {
		t.Fatalf("holder = %+v, want pinned, UpdatedAt = added_at", h)
	}
	checkMigratedAuditState(t, s)
}
