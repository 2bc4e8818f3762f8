package registry

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
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
	runConformance(t, func(t *testing.T) Registry {
		return openTestSQLite(t, filepath.Join(t.TempDir(), "registry.db"))
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

func TestSQLiteTwoHandles(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shared.db")
	a := openTestSQLite(t, path)
	b := openTestSQLite(t, path)

	acctA, err := a.CreateAccount(ctx, "via-a")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("b sees a's writes", func(t *testing.T) {
		if err := b.AddAPIKey(ctx, acctA, hashOf("k-a")); err != nil {
			t.Fatalf("b.AddAPIKey for account made via a: %v", err)
		}
		mustNode(t, a, "node-a", "eu")
		nodes, err := b.Nodes(ctx)
		if err != nil || len(nodes) != 1 || nodes[0].ID != "node-a" {
			t.Fatalf("b.Nodes = %+v, %v; want node-a", nodes, err)
		}
	})
	t.Run("a sees b's writes", func(t *testing.T) {
		if got, err := a.AccountByKey(ctx, hashOf("k-a")); err != nil || got != acctA {
			t.Fatalf("a.AccountByKey = %q, %v; want %q", got, err, acctA)
		}
		if err := b.AddEnrollToken(ctx, hashOf("tok-b")); err != nil {
			t.Fatal(err)
		}
		if err := a.CheckEnrollToken(ctx, hashOf("tok-b")); err != nil {
			t.Fatalf("a.CheckEnrollToken: %v", err)
		}
		mustNode(t, b, "node-b", "us")
		mustPin(t, b, acctA, "cid-b", 3, "node-a", "node-b")
		info, err := a.Pin(ctx, "cid-b")
		if err != nil || !slices.Equal(holderIDs(info), []string{"node-a", "node-b"}) || info.Holders[1].Region != "us" {
			t.Fatalf("a.Pin = %+v, %v", info, err)
		}
	})
	t.Run("size mismatch across handles", func(t *testing.T) {
		_, err := a.RecordPin(ctx, acctA, "cid-b", 4, nil)
		if !errors.Is(err, ErrSizeMismatch) {
			t.Fatalf("a.RecordPin with other size = %v, want ErrSizeMismatch", err)
		}
	})
	t.Run("concurrent writers on both handles", func(t *testing.T) {
		const perHandle = 16
		var wg sync.WaitGroup
		errs := make(chan error, 2*perHandle)
		for i := range 2 * perHandle {
			r := Registry(a)
			if i%2 == 1 {
				r = b
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				acct, err := r.CreateAccount(ctx, fmt.Sprintf("w%d", i))
				if err == nil {
					_, err = r.RecordPin(ctx, acct, "cid-both", 99, []string{[]string{"node-a", "node-b"}[i%2]})
				}
				if err != nil {
					errs <- fmt.Errorf("writer %d: %w", i, err)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		for name, r := range map[string]Registry{"a": a, "b": b} {
			info, err := r.Pin(ctx, "cid-both")
			if err != nil || info.Size != 99 || !slices.Equal(holderIDs(info), []string{"node-a", "node-b"}) {
				t.Errorf("%s.Pin(cid-both) = %+v, %v", name, info, err)
			}
		}
	})
}
