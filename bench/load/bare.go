package load

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/quic-go/quic-go/http3"
)

// BareServerCommand is the bench binary's first argument that makes it
// the bare http3 server (ServeBare) instead of the suite.
const BareServerCommand = "bare-http3-server"

// ServeBare is the baseline server, run as its own process like dStor's
// node and Caddy: a quic-go http3.Server with quic-go's default QUIC
// configuration, on a socket with udpBufferSize buffers, whose handler
// answers GET /small and GET /big with bytes held in memory; and, on a
// second socket, Q1's bare stream server (q1Serve). It serves until
// SIGTERM or SIGINT.
func ServeBare(args []string) error {
	fs := flag.NewFlagSet(BareServerCommand, flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "UDP host:port")
	q1Addr := fs.String("q1-listen", "127.0.0.1:0", "UDP host:port of the Q1 stream server")
	certFile := fs.String("cert", "", "certificate PEM")
	keyFile := fs.String("key", "", "key PEM")
	small := fs.Int("small", 4<<10, "size of /small")
	big := fs.Int64("big", 256<<20, "size of /big")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		return err
	}
	udp, err := listenUDPAt(*listen)
	if err != nil {
		return err
	}
	q1udp, err := listenUDPAt(*q1Addr)
	if err != nil {
		return err
	}
	q1, err := q1Listen(q1udp, cert)
	if err != nil {
		return err
	}
	srv := &http3.Server{
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
		Handler:   bareHandler(randomBytes(int64(*small)), randomBytes(*big)),
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		srv.Close()
		q1.Close()
	}()
	go q1Serve(ctx, q1)
	err = srv.Serve(udp)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func bareHandler(small, big []byte) http.Handler {
	serve := func(b []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
			w.Write(b)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /small", serve(small))
	mux.Handle("GET /big", serve(big))
	mux.Handle("GET /ipfs/{cid}", bareRedirect()) // issue 4's redirect baseline
	return mux
}

// bareServer is ServeBare running as a child process.
type bareServer struct {
	proc   *process
	url    string
	port   int
	q1Addr *net.UDPAddr // of its Q1 stream server
	cert   *throwaway
}

func startBare(ctx context.Context, s *suite) (*bareServer, error) {
	dir := filepath.Join(s.dir, "bare")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	cert, err := newThrowaway()
	if err != nil {
		return nil, err
	}
	certFile, keyFile, err := cert.writePEM(dir)
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	q1Port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	q1Addr := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: q1Port}
	cmd := exec.Command(self, BareServerCommand, "-listen", addr, "-q1-listen", q1Addr.String(), "-cert", certFile, "-key", keyFile,
		"-small", strconv.Itoa(s.cfg.SmallSize), "-big", strconv.FormatInt(s.cfg.BigSize, 10))
	p, err := startProcess("bare http3 server", filepath.Join(dir, "server.log"), cmd)
	if err != nil {
		return nil, err
	}
	b := &bareServer{proc: p, url: "https://" + addr, port: port, q1Addr: q1Addr, cert: cert}
	cl, err := newClient(cert.pool, 1)
	if err != nil {
		p.stop()
		return nil, err
	}
	defer cl.Close()
	err = waitFor(ctx, p, 20*time.Second, func() error {
		return warmConn(ctx, cl.HTTP(0), b.url+"/small")
	})
	if err != nil {
		p.stop()
		return nil, fmt.Errorf("bare http3 server: %w", err)
	}
	return b, nil
}

// bareServer returns the bare server process, started on first use.
func (s *suite) bareServer(ctx context.Context) (*bareServer, error) {
	if s.bare == nil {
		b, err := startBare(ctx, s)
		if err != nil {
			return nil, err
		}
		s.bare = b
		s.setup("bare http3 server: " + serverUDPBuffers(b.port) + " UDP buffers")
	}
	return s.bare, nil
}

// measureBare is the bare http3 baseline: the small body's request rate
// and latency under Concurrency clients, and the large body's throughput.
func measureBare(ctx context.Context, s *suite) error {
	b, err := s.bareServer(ctx)
	if err != nil {
		return err
	}
	return s.serverFigures(ctx, serverUnderTest{
		name: "bare http3", pool: b.cert.pool, pid: b.proc.pid(),
		small: b.url + "/small", big: b.url + "/big",
		keys: figureKeys{smallRPS: keyBareSmallRPS, smallP50: keyBareSmallP50, smallP99: keyBareSmallP99, big: keyBareBig, bigTTFB: keyBareBigTTFB},
	})
}
