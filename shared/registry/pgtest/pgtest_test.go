package pgtest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

// execOn runs stmt on dsn.
func execOn(t *testing.T, dsn, stmt string) error {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect %s: %v", dsn, err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, stmt)
	return err
}

func TestStartFreshDatabases(t *testing.T) {
	a, b := Start(t), Start(t)
	if a == b {
		t.Fatalf("Start returned the same DSN twice: %s", a)
	}
	if err := execOn(t, a, `CREATE TABLE t (x INT)`); err != nil {
		t.Fatal(err)
	}
	if err := execOn(t, b, `CREATE TABLE t (x INT)`); err != nil {
		t.Fatalf("second database not empty: %v", err)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var version string
	if err := conn.QueryRow(ctx, `SHOW server_version`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	t.Logf("server_version %s, dsn %s", version, a)
}

func TestDatabaseDroppedAtCleanup(t *testing.T) {
	var (
		dsn  string
		left *pgx.Conn
	)
	t.Run("use", func(t *testing.T) {
		dsn = Start(t)
		// A connection left open does not stop the drop.
		var err error
		if left, err = pgx.Connect(context.Background(), dsn); err != nil {
			t.Fatal(err)
		}
	})
	defer left.Close(context.Background())
	if _, err := pgx.Connect(context.Background(), dsn); err == nil {
		t.Fatalf("database %s still exists after its test", dsn)
	}
}

func TestNewServer(t *testing.T) {
	var dir string
	t.Run("run", func(t *testing.T) {
		s := NewServer(t)
		dir = s.dir
		if err := execOn(t, s.NewDatabase(t), `SELECT 1`); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, "data", "PG_VERSION")); err != nil {
			t.Fatal(err)
		}
	})
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("server directory %s left after Stop: %v", dir, err)
	}
}

func TestRemoveStale(t *testing.T) {
	parent := t.TempDir()
	stale := filepath.Join(parent, dirPrefix+"stale")
	live := filepath.Join(parent, dirPrefix+"live")
	for _, d := range []string{stale, live} {
		if err := os.MkdirAll(filepath.Join(d, "data"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(stale, "owner"), []byte("2147483000"), 0o644)
	os.WriteFile(filepath.Join(live, "owner"), []byte("1"), 0o644) // init never exits
	removeStale(parent)
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale directory kept: %v", err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("directory of a live process removed: %v", err)
	}
}
