// Package serve runs a dStor daemon's front: one port number serving
// HTTP/3 and the dstor/1 protocol on UDP (told apart by ALPN, dstor/1 with
// mutual TLS) and HTTPS (HTTP/1.1 and HTTP/2) on TCP, whose answers carry
// Alt-Svc so clients can move to HTTP/3.
package serve

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"dstor/shared/identity"
	"dstor/shared/wire"
)

// Server serves HTTP and dstor/1 on one port number.
type Server struct {
	// Handler answers HTTP requests over both HTTP/3 and HTTPS.
	Handler http.Handler
	// Wire answers dstor/1 requests; nil refuses the protocol.
	Wire wire.Mux
	// Cert is the daemon's certificate; Pool holds the CA that peers'
	// client certificates must chain to.
	Cert tls.Certificate
	Pool *x509.CertPool
	// ResetKey, when set, lets the server answer packets of connections it
	// no longer knows (after a restart) with a stateless reset, so peers
	// drop stale connections at once instead of at their idle timeout. It
	// must be stable across restarts and secret; see ResetKeyFrom.
	ResetKey *quic.StatelessResetKey
	// Logger is optional.
	Logger *slog.Logger

	udp  *net.UDPConn
	tcp  net.Listener
	ql   *quic.Listener
	h3   *http3.Server
	h1   *http.Server
	port int
	wg   sync.WaitGroup

	mu        sync.Mutex
	wireConns map[*quic.Conn]struct{}
}

// Listen binds UDP and TCP on addr; with port 0 it picks a port free on
// both.
func (s *Server) Listen(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	for range 20 {
		udp, err := wire.ListenUDP(net.JoinHostPort(host, port))
		if err != nil {
			return err
		}
		p := udp.LocalAddr().(*net.UDPAddr).Port
		tcp, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
		if err != nil {
			udp.Close()
			if port == "0" {
				continue // the TCP side of a random UDP port was taken: try another
			}
			return err
		}
		s.udp, s.tcp, s.port = udp, tcp, p
		return nil
	}
	return fmt.Errorf("serve: no port free on both UDP and TCP on %s", host)
}

// Port is the bound port number.
func (s *Server) Port() int { return s.port }

// Serve serves until ctx ends, then shuts down gracefully (up to 5 s).
func (s *Server) Serve(ctx context.Context) error {
	if s.udp == nil {
		return errors.New("serve: Listen first")
	}
	log := s.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	mtls := []string{}
	if s.Wire != nil {
		mtls = []string{wire.ALPN}
	}
	qtls := identity.ServerConfig(s.Cert, s.Pool, []string{http3.NextProtoH3}, mtls)
	ttls := identity.ServerConfig(s.Cert, s.Pool, []string{"h2", "http/1.1"}, nil)
	tr := &quic.Transport{Conn: s.udp, StatelessResetKey: s.ResetKey}
	ql, err := tr.Listen(qtls, wire.QUICConfig())
	if err != nil {
		return err
	}
	s.ql = ql
	s.h3 = &http3.Server{Handler: recoverTo(log, s.Handler), Port: s.port, IdleTimeout: 30 * time.Second}
	if log.Enabled(context.Background(), slog.LevelDebug) {
		// quic-go's server logs every request at debug level, boxing its
		// arguments even when the level is off: give it a logger only
		// when it is on.
		s.h3.Logger = log
	}
	altSvc := fmt.Sprintf(`h3=":%d"; ma=86400`, s.port)
	s.h1 = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Alt-Svc", altSvc)
			s.Handler.ServeHTTP(w, r)
		}),
		TLSConfig: ttls,
		// Go's default HTTP/2 receive windows (1 MiB) throttle uploads
		// from clients like curl to a crawl; give bulk bodies room.
		HTTP2: &http.HTTP2Config{
			MaxReceiveBufferPerStream:     8 << 20,
			MaxReceiveBufferPerConnection: 16 << 20,
		},
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	connCtx, stopConns := context.WithCancel(context.Background())
	defer stopConns()
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		s.acceptQUIC(connCtx, log)
	}()
	go func() {
		defer s.wg.Done()
		if err := s.h1.ServeTLS(s.tcp, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("https server stopped", "err", err)
		}
	}()
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.h1.Shutdown(sctx)
	s.h3.Shutdown(sctx)
	s.closeWireConns()
	stopConns()
	ql.Close()
	tr.Close()
	s.wg.Wait()
	return s.Close()
}

// Close releases the sockets. Serve calls it when it returns; a daemon
// whose start fails between Listen and Serve calls it itself.
func (s *Server) Close() error {
	var errs []error
	if s.tcp != nil {
		if err := s.tcp.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	if s.udp != nil {
		if err := s.udp.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// closeWireConns tells every dstor/1 peer that we are going away, so their
// pooled connections fail now rather than at their idle timeout.
func (s *Server) closeWireConns() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.wireConns {
		c.CloseWithError(0, "shutting down")
	}
	s.wireConns = nil
}

func (s *Server) serveWire(ctx context.Context, conn *quic.Conn, log *slog.Logger) {
	s.mu.Lock()
	if s.wireConns == nil {
		s.wireConns = make(map[*quic.Conn]struct{})
	}
	s.wireConns[conn] = struct{}{}
	s.mu.Unlock()
	wire.ServeConn(ctx, conn, s.Wire, log)
	s.mu.Lock()
	delete(s.wireConns, conn)
	s.mu.Unlock()
}

// ResetKeyFrom derives a stateless reset key from a daemon's secret seed.
func ResetKeyFrom(seed []byte) *quic.StatelessResetKey {
	k := quic.StatelessResetKey(sha256.Sum256(append([]byte("dstor stateless reset key\x00"), seed...)))
	return &k
}

func (s *Server) acceptQUIC(ctx context.Context, log *slog.Logger) {
	for {
		conn, err := s.ql.Accept(ctx)
		if err != nil {
			return
		}
		switch conn.ConnectionState().TLS.NegotiatedProtocol {
		case http3.NextProtoH3:
			go s.h3.ServeQUICConn(conn)
		case wire.ALPN:
			go s.serveWire(ctx, conn, log)
		default:
			conn.CloseWithError(0x10, "no application protocol")
		}
	}
}

// recoverTo logs a handler's panic to log and aborts its response, as
// quic-go's server does with its own logger (which it is not given unless
// debugging).
func recoverTo(log *slog.Logger, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p != http.ErrAbortHandler {
					log.Error("http3: panic serving", "method", r.Method, "uri", r.RequestURI, "panic", p, "trace", string(debug.Stack()))
				}
				panic(http.ErrAbortHandler)
			}
		}()
		h.ServeHTTP(w, r)
	})
}
