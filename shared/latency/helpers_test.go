package latency

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"io"
	"math/big"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
)

const alpn = "latency-test"

// serverTLS is a throwaway self-signed certificate for 127.0.0.1.
func serverTLS(t testing.TB) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		NextProtos:   []string{alpn},
	}
}

// quicServer accepts connections on 127.0.0.1 and hands each stream to
// handle; it stops with the test.
func quicServer(t testing.TB, handle func(*quic.Stream)) string {
	t.Helper()
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	setBuffers(udp)
	tr := &quic.Transport{Conn: udp}
	ln, err := tr.Listen(serverTLS(t), &quic.Config{MaxIdleTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ln.Close()
		tr.Close()
		udp.Close()
	})
	go func() {
		for {
			conn, err := ln.Accept(context.Background())
			if err != nil {
				return
			}
			go func() {
				for {
					s, err := conn.AcceptStream(context.Background())
					if err != nil {
						return
					}
					go handle(s)
				}
			}()
		}
	}()
	return udp.LocalAddr().String()
}

// echo copies a stream back to its sender.
func echo(s *quic.Stream) {
	io.Copy(s, s)
	s.Close()
}

// dial connects from a socket on localIP to addr.
func dial(t testing.TB, localIP, addr string, handshake time.Duration) (*quic.Conn, error) {
	t.Helper()
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(localIP)})
	if err != nil {
		t.Fatal(err)
	}
	setBuffers(udp)
	tr := &quic.Transport{Conn: udp}
	t.Cleanup(func() {
		tr.Close()
		udp.Close()
	})
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := tr.Dial(ctx, ua,
		&tls.Config{InsecureSkipVerify: true, NextProtos: []string{alpn}},
		&quic.Config{HandshakeIdleTimeout: handshake, MaxIdleTimeout: 5 * time.Second})
	if err == nil {
		t.Cleanup(func() { conn.CloseWithError(0, "") })
	}
	return conn, err
}

// pingPong makes n round trips on one stream and returns the fastest.
func pingPong(t testing.TB, conn *quic.Conn, n int) time.Duration {
	t.Helper()
	s, err := conn.OpenStreamSync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.SetDeadline(time.Now().Add(10 * time.Second))
	best := time.Duration(1 << 62)
	buf := make([]byte, 8)
	for range n {
		start := time.Now()
		if _, err := s.Write(buf); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(s, buf); err != nil {
			t.Fatal(err)
		}
		best = min(best, time.Since(start))
	}
	return best
}

func listen(t testing.TB, cfg Config) *Proxy {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	p, err := Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// checkRTT asserts a loose band: timings are not unit-test material, but
// a proxy that adds too little (or far too much) delay is broken.
func checkRTT(t testing.TB, what string, got, want time.Duration) {
	t.Helper()
	lo, hi := want*9/10, want+50*time.Millisecond
	if got < lo || got > hi {
		t.Errorf("%s: RTT %v, want %v (in [%v, %v])", what, got, want, lo, hi)
	} else {
		t.Logf("%s: RTT %v, want %v", what, got, want)
	}
}

// noLeak fails if goroutines started during the test are still running
// (they get a moment to finish).
func noLeak(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("%d goroutines before, %d after:\n%s", before, n, buf)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}
