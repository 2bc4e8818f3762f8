package load

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"dstor/shared/identity"
)

// caddyfile serves the small and the large file from a directory with
// file_server over HTTPS and HTTP/3 (Caddy's default protocols) with a
// certificate from Caddy's internal CA, on one loopback port, with no
// admin endpoint and no attempt to install the CA in the system's trust.
const caddyfile = `{
	admin off
	skip_install_trust
	auto_https disable_redirects
	http_port %[1]d
	https_port %[2]d
	log {
		level WARN
	}
}

https://127.0.0.1:%[2]d {
	bind 127.0.0.1
	tls internal
	root * %[3]s
	file_server
}
`

// caddyServer is Caddy running as a child process with its own HOME and
// XDG directories under the suite's temporary directory.
type caddyServer struct {
	proc    *process
	url     string
	port    int
	rootPEM string // the internal CA that signs its certificate
}

func startCaddy(ctx context.Context, s *suite) (*caddyServer, error) {
	bin, err := exec.LookPath("caddy")
	if err != nil {
		return nil, errors.New("caddy is not installed (make bench installs the Debian package)")
	}
	dir := filepath.Join(s.dir, "caddy")
	www := filepath.Join(dir, "www")
	if err := os.MkdirAll(www, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(www, "small"), randomBytes(int64(s.cfg.SmallSize)), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(www, "big"), randomBytes(s.cfg.BigSize), 0o600); err != nil {
		return nil, err
	}
	httpPort, err := freePort()
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(conf, fmt.Appendf(nil, caddyfile, httpPort, port, www), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "run", "--config", conf, "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(),
		"HOME="+dir,
		"XDG_DATA_HOME="+filepath.Join(dir, "data"),
		"XDG_CONFIG_HOME="+filepath.Join(dir, "config"),
	)
	p, err := startProcess("caddy", filepath.Join(dir, "caddy.log"), cmd)
	if err != nil {
		return nil, err
	}
	c := &caddyServer{
		proc:    p,
		url:     fmt.Sprintf("https://127.0.0.1:%d", port),
		port:    port,
		rootPEM: filepath.Join(dir, "data", "caddy", "pki", "authorities", "local", "root.crt"),
	}
	err = waitFor(ctx, p, 30*time.Second, func() error {
		pool, err := identity.LoadPool(c.rootPEM)
		if err != nil {
			return err
		}
		cl, err := newClient(pool, 1)
		if err != nil {
			return err
		}
		defer cl.Close()
		return warmConn(ctx, cl.HTTP(0), c.url+"/small")
	})
	if err != nil {
		p.stop()
		return nil, fmt.Errorf("caddy: %w", err)
	}
	return c, nil
}

// caddyVersion is the first word of `caddy version`.
func caddyVersion() string {
	out, err := exec.Command("caddy", "version").Output()
	if err != nil {
		return "unknown"
	}
	if f := strings.Fields(string(out)); len(f) > 0 {
		return f[0]
	}
	return "unknown"
}

// measureCaddy is the Caddy baseline, measured like the bare handler: the
// client trusts Caddy's internal CA and checks every answer is HTTP/3.
func measureCaddy(ctx context.Context, s *suite) error {
	if s.caddy == nil {
		c, err := startCaddy(ctx, s)
		if err != nil {
			return err
		}
		s.caddy = c
		s.setup(fmt.Sprintf("Caddy %s: file_server, tls internal, HTTP/3 (checked); client trusts its internal root CA; %s UDP buffers",
			caddyVersion(), serverUDPBuffers(c.port)))
	}
	c := s.caddy
	pool, err := identity.LoadPool(c.rootPEM)
	if err != nil {
		return err
	}
	return s.serverFigures(ctx, serverUnderTest{
		name: "Caddy", pool: pool, pid: c.proc.pid(),
		small: c.url + "/small", big: c.url + "/big",
		keys: figureKeys{smallRPS: keyCaddySmallRPS, smallP50: keyCaddySmallP50, smallP99: keyCaddySmallP99, big: keyCaddyBig, bigTTFB: keyCaddyBigTTFB},
	})
}
