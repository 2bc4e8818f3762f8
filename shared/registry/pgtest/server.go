package pgtest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// dirPrefix names the temporary directories of servers, so that ones left by
// killed test processes can be found and removed.
const dirPrefix = "dstor-pgtest-"

// startTimeout bounds how long a server may take to accept connections.
const startTimeout = 60 * time.Second

// Server is a running PostgreSQL server listening on 127.0.0.1 (and a unix
// socket in its directory), with trust authentication for user postgres.
type Server struct {
	dir  string // temporary directory: data/, postgres.log, owner
	port int
	cmd  *exec.Cmd
	done chan struct{} // closed when the server process has exited
	next atomic.Int64  // number of the next database
}

// notInstalledError says the PostgreSQL binaries were not found.
type notInstalledError struct{ msg string }

func (e notInstalledError) Error() string { return e.msg }

// DSN returns the URL of database db on the server, as superuser postgres.
func (s *Server) DSN(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// NewDatabase creates an empty database and returns its DSN. The database
// is dropped (closing any connections left to it) at t's cleanup.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("test_%d", s.next.Add(1))
	if err := s.admin(fmt.Sprintf(`CREATE DATABASE %s`, name)); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		if err := s.admin(fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, name)); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return s.DSN(name)
}

// admin runs one statement in the postgres database.
func (s *Server) admin(stmt string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, stmt)
	return err
}

// Stop shuts the server down (fast shutdown, then SIGKILL after 10 s) and
// removes its directory.
func (s *Server) Stop() error {
	var errs []error
	if err := s.cmd.Process.Signal(syscall.SIGINT); err != nil && !errors.Is(err, os.ErrProcessDone) {
		errs = append(errs, err)
	}
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
		errs = append(errs, errors.New("server did not stop in 10s; killed"))
	}
	errs = append(errs, os.RemoveAll(s.dir))
	return errors.Join(errs...)
}

// startServer runs initdb in a new temporary directory and starts postgres
// on a free port, retrying with another port if that one was taken.
func startServer() (*Server, error) {
	bin, err := findBinDir()
	if err != nil {
		return nil, err
	}
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	parent := tempParent()
	removeStale(parent)
	dir, err := os.MkdirTemp(parent, dirPrefix)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "owner"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", filepath.Join(dir, "data"),
		"-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions")
	initdb.Dir = dir
	initdb.Env = environ()
	initdb.SysProcAttr = sysProcAttr(cred)
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb in %s: %v\n%s%s", dir, err, out, traverseHint(dir, cred))
	}
	for attempt := 1; ; attempt++ {
		s, err := runPostgres(bin, dir, cred)
		if err == nil {
			return s, nil
		}
		if attempt >= 3 || !strings.Contains(err.Error(), "could not bind") {
			os.RemoveAll(dir)
			return nil, err
		}
	}
}

// runPostgres starts postgres on the initialised directory dir and waits
// until it accepts connections.
func runPostgres(bin, dir string, cred *syscall.Credential) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "postgres.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	sockets := dir
	if len(dir) > 90 { // a socket path is at most 107 bytes
		sockets = ""
	}
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", filepath.Join(dir, "data"),
		"-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories="+sockets,
		"-c", "max_connections=300",
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "logging_collector=off")
	cmd.Dir = dir
	cmd.Env = environ()
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = sysProcAttr(cred)
	s := &Server{dir: dir, port: port, cmd: cmd, done: make(chan struct{})}

	// The parent-death signal fires when the thread that started the child
	// exits, so start and wait on a thread that is never given back: it
	// lives exactly as long as the process (or the server).
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		cmd.Wait()
		close(s.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}

	deadline := time.Now().Add(startTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, s.DSN("postgres"))
		if err == nil {
			conn.Close(ctx)
			cancel()
			return s, nil
		}
		cancel()
		select {
		case <-s.done:
			log, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("postgres exited (%v): %s", cmd.ProcessState, log)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.cmd.Process.Kill()
			<-s.done
			log, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("postgres did not accept connections in %v (%v): %s", startTimeout, err, log)
		}
	}
}

// findBinDir returns the directory holding initdb and postgres.
func findBinDir() (string, error) {
	var dirs []string
	if d := os.Getenv("PGTEST_BINDIR"); d != "" {
		dirs = append(dirs, d)
	}
	versions, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(versions, func(a, b string) int { // newest first: 15 before 9.6
		va, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(a)), 64)
		vb, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(b)), 64)
		return cmp.Compare(vb, va)
	})
	dirs = append(dirs, versions...)
	if p, err := exec.LookPath("initdb"); err == nil {
		dirs = append(dirs, filepath.Dir(p))
	}
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", notInstalledError{"PostgreSQL server binaries (initdb, postgres) not found in $PGTEST_BINDIR, " +
		"/usr/lib/postgresql/*/bin or $PATH"}
}

// isExec reports whether path is an executable regular file.
func isExec(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// credential returns the identity to run PostgreSQL as: nil (ourselves)
// unless we are root, then the "postgres" OS user.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, and PostgreSQL refuses to: need a \"postgres\" OS user to run it as: %w", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, err
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
}

// traverseHint explains a likely cause of initdb failing as another user:
// a parent directory of dir it may not enter.
func traverseHint(dir string, cred *syscall.Credential) string {
	if cred == nil {
		return ""
	}
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		if fi, err := os.Stat(d); err == nil && fi.Mode().Perm()&0o001 == 0 {
			return fmt.Sprintf("(hint: user postgres may not be able to enter %s; set PGTEST_TMPDIR to a directory it can reach)", d)
		}
		if d == filepath.Dir(d) {
			return ""
		}
	}
}

// tempParent returns the directory to make server directories in:
// $PGTEST_TMPDIR if set, else /dev/shm if it is a world-writable directory
// (a tmpfs: creating a database there takes a tenth of the time it takes on
// disk, fsync=off or not), else os.TempDir().
func tempParent() string {
	if d := os.Getenv("PGTEST_TMPDIR"); d != "" {
		return d
	}
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() && fi.Mode().Perm()&0o003 == 0o003 {
		return "/dev/shm"
	}
	return os.TempDir()
}

// environ returns our environment without PG* variables, which would
// change how initdb and postgres behave, and with the C locale.
func environ() []string {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "LC_") || strings.HasPrefix(kv, "LANG=")
	})
	return append(env, "LC_ALL=C")
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// removeStale removes the server directories in parent whose test process
// has exited and whose server is not running.
func removeStale(parent string) {
	dirs, _ := filepath.Glob(filepath.Join(parent, dirPrefix+"*"))
	for _, dir := range dirs {
		if alive(pidIn(filepath.Join(dir, "owner"))) || alive(pidIn(filepath.Join(dir, "data", "postmaster.pid"))) {
			continue
		}
		os.RemoveAll(dir)
	}
}

// pidIn returns the number on the first line of file, or 0.
func pidIn(file string) int {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(line))
	return pid
}

// alive reports whether process pid exists.
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
