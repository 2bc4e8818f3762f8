package load

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/quic-go/quic-go"
)

const q1ALPN = "dstor-bench-q1"

// measureQ1 is the bare QUIC baseline: one quic-go stream on loopback, in
// this process, carrying Q1Bytes from server to client (the direction of
// a read) as fast as the client drains it.
func measureQ1(ctx context.Context, s *suite) error {
	cert, err := newThrowaway()
	if err != nil {
		return err
	}
	sconn, err := listenUDP(0)
	if err != nil {
		return err
	}
	defer sconn.Close()
	st := &quic.Transport{Conn: sconn}
	defer st.Close()
	ln, err := st.Listen(&tls.Config{Certificates: []tls.Certificate{cert.cert}, NextProtos: []string{q1ALPN}}, quicConfig())
	if err != nil {
		return err
	}
	defer ln.Close()
	served := make(chan error, 1)
	go func() { served <- q1Serve(ctx, ln, s.cfg.Q1Bytes) }()

	cconn, err := listenUDP(0)
	if err != nil {
		return err
	}
	defer cconn.Close()
	ct := &quic.Transport{Conn: cconn}
	defer ct.Close()
	tc := &tls.Config{RootCAs: cert.pool, ServerName: "127.0.0.1", NextProtos: []string{q1ALPN}}
	conn, err := ct.Dial(ctx, sconn.LocalAddr(), tc, quicConfig())
	if err != nil {
		return err
	}
	defer conn.CloseWithError(0, "")
	str, err := conn.OpenStreamSync(ctx)
	if err != nil {
		return err
	}
	s.quiet(ctx)
	cpu := startCPU()
	start := time.Now()
	if _, err := str.Write([]byte{1}); err != nil {
		return err
	}
	str.Close()
	n, err := drain(str, make([]byte, readBufSize))
	elapsed := time.Since(start)
	if err != nil {
		return err
	}
	if err := <-served; err != nil {
		return err
	}
	if n != s.cfg.Q1Bytes {
		return fmt.Errorf("q1: client read %d bytes, want %d", n, s.cfg.Q1Bytes)
	}
	s.add(Figure{
		Key: keyQ1, Name: fmt.Sprintf("Q1 quic-go stream, %s", sizeName(n)), Unit: MBps,
		Value: megabytesPerSec(n, elapsed),
		Note:  "in process; " + cpu.note(elapsed) + "; issue: about 350-400 MB/s",
	})
	return nil
}

// q1Serve answers the first stream of the first connection with size
// bytes.
func q1Serve(ctx context.Context, ln *quic.Listener, size int64) error {
	conn, err := ln.Accept(ctx)
	if err != nil {
		return err
	}
	str, err := conn.AcceptStream(ctx)
	if err != nil {
		return err
	}
	if _, err := str.Read(make([]byte, 1)); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	chunk := make([]byte, readBufSize)
	for left := size; left > 0; {
		n, err := str.Write(chunk[:min(left, int64(len(chunk)))])
		if err != nil {
			return err
		}
		left -= int64(n)
	}
	return str.Close()
}

// drain reads r to its end through buf and returns the byte count.
func drain(r io.Reader, buf []byte) (int64, error) {
	var n int64
	for {
		m, err := r.Read(buf)
		n += int64(m)
		if errors.Is(err, io.EOF) {
			return n, nil
		} else if err != nil {
			return n, err
		}
	}
}
