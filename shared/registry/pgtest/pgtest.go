// Package pgtest runs real PostgreSQL servers for tests.
//
// Start gives each test a fresh, empty database on one server shared by the
// whole test binary, started on first use (initdb takes a second or two):
//
//	func TestMain(m *testing.M) { pgtest.Main(m) } // optional: stop and clean up at exit
//
//	dsn := pgtest.Start(t) // postgres://postgres@127.0.0.1:PORT/test_N?sslmode=disable
//	reg, err := registry.OpenPostgres(ctx, dsn)
//
// NewServer starts a private server instead, stopped at the test's cleanup.
//
// The binaries (initdb, postgres) are looked for in $PGTEST_BINDIR,
// /usr/lib/postgresql/<version>/bin (newest first) and $PATH; when they are
// missing the test is skipped. Server directories go in $PGTEST_TMPDIR,
// else /dev/shm (much faster), else os.TempDir(). As root, the server runs as the "postgres"
// OS user, since PostgreSQL refuses to run as root. On Linux the server is
// killed when the test process exits, whatever the way it exits; data
// directories left by killed test processes are removed on the next start.
package pgtest

import (
	"fmt"
	"os"
	"sync"
	"testing"
)

// shared is the server shared by the test binary. It is the one piece of
// package state: a test binary's tests can only share a server through it.
var shared struct {
	mu  sync.Mutex
	srv *Server
	err error // the first start's error, returned to every later caller
}

// Start returns the DSN of a new, empty database on the test binary's
// shared server, starting the server on first use. The database is dropped
// at t's cleanup; the server lives until Main stops it or the process exits.
// Start skips t if PostgreSQL is not installed and fails it if the server
// cannot start.
func Start(t testing.TB) string {
	t.Helper()
	shared.mu.Lock()
	if shared.srv == nil && shared.err == nil {
		shared.srv, shared.err = startServer()
	}
	srv, err := shared.srv, shared.err
	shared.mu.Unlock()
	if err != nil {
		skipOrFatal(t, err)
	}
	return srv.NewDatabase(t)
}

// Main runs the tests, stops the shared server if one was started, removes
// its files and exits with the tests' status. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	shared.mu.Lock()
	if shared.srv != nil {
		if err := shared.srv.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: stop shared server: %v\n", err)
		}
		shared.srv = nil
	}
	shared.mu.Unlock()
	os.Exit(code)
}

// NewServer starts a private server, stopped (and its files removed) at t's
// cleanup. It skips t if PostgreSQL is not installed.
func NewServer(t testing.TB) *Server {
	t.Helper()
	srv, err := startServer()
	if err != nil {
		skipOrFatal(t, err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("pgtest: stop server: %v", err)
		}
	})
	return srv
}

// skipOrFatal skips t if err says PostgreSQL is not installed, and fails it
// otherwise.
func skipOrFatal(t testing.TB, err error) {
	t.Helper()
	if nb, ok := err.(notInstalledError); ok {
		t.Skipf("pgtest: %v", nb)
	}
	t.Fatalf("pgtest: %v", err)
}
