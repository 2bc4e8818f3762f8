package load

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/quic-go/quic-go"
)

const q1ALPN = "dstor-bench-q1"

// measureQ1 is the bare QUIC baseline, Q1: one quic-go stream on loopback
// carrying Q1Bytes from server to client (the direction of a read) as fast
// as the client drains it. It is measured twice, one after the other:
//
//   - between two processes (the bench client and the bare server
//     process's Q1 listener): this is Q1, the baseline of the ratio
//     targets, because every server the suite measures is its own process
//     and so pays what crossing between processes costs (the scheduler
//     switching between two runtimes, each waking from idle), as a stream
//     between a client and a server does anywhere;
//   - in this process, both ends sharing one Go runtime: shown for
//     context. It runs 25-40 % faster on this machine than the same
//     stream between processes, so a ratio against it is shown too.
func measureQ1(ctx context.Context, s *suite) error {
	b, err := s.bareServer(ctx)
	if err != nil {
		return err
	}
	s.quiet(ctx)
	cpu := startCPU(b.proc.pid())
	n, elapsed, err := q1Read(ctx, b.q1Addr, b.cert, s.cfg.Q1Bytes)
	if err != nil {
		return fmt.Errorf("q1 between processes: %w", err)
	}
	s.add(Figure{
		Key: keyQ1, Name: fmt.Sprintf("Q1 quic-go stream, %s", sizeName(n)), Unit: MBps,
		Value: megabytesPerSec(n, elapsed),
		Note:  "between processes; " + cpu.note(elapsed) + "; issue: about 350-400 MB/s",
	})
	return measureQ1InProcess(ctx, s)
}

// measureQ1InProcess is Q1 with its server in this process.
func measureQ1InProcess(ctx context.Context, s *suite) error {
	cert, err := newThrowaway()
	if err != nil {
		return err
	}
	sconn, err := listenUDP(0)
	if err != nil {
		return err
	}
	defer sconn.Close()
	ln, err := q1Listen(sconn, cert.cert)
	if err != nil {
		return err
	}
	defer ln.Close()
	go q1Serve(ctx, ln)
	s.quiet(ctx)
	cpu := startCPU()
	n, elapsed, err := q1Read(ctx, sconn.LocalAddr().(*net.UDPAddr), cert, s.cfg.Q1Bytes)
	if err != nil {
		return fmt.Errorf("q1 in process: %w", err)
	}
	s.add(Figure{
		Key: keyQ1InProcess, Name: fmt.Sprintf("Q1 in one process, %s", sizeName(n)), Unit: MBps,
		Value: megabytesPerSec(n, elapsed),
		Note:  "both ends in the bench process; " + cpu.note(elapsed),
	})
	return nil
}

// q1Listen listens for Q1 clients on conn.
func q1Listen(conn net.PacketConn, cert tls.Certificate) (*quic.Listener, error) {
	t := &quic.Transport{Conn: conn}
	ln, err := t.Listen(&tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{q1ALPN}}, quicConfig())
	if err != nil {
		t.Close()
		return nil, err
	}
	return ln, nil
}

// q1Read dials the Q1 server at addr, asks for size bytes on one stream
// and reads them through a readBufSize buffer, timing from the request
// to the last byte (the handshake is not timed).
func q1Read(ctx context.Context, addr *net.UDPAddr, cert *throwaway, size int64) (int64, time.Duration, error) {
	cconn, err := listenUDP(0)
	if err != nil {
		return 0, 0, err
	}
	defer cconn.Close()
	ct := &quic.Transport{Conn: cconn}
	defer ct.Close()
	tc := &tls.Config{RootCAs: cert.pool, ServerName: "127.0.0.1", NextProtos: []string{q1ALPN}}
	conn, err := ct.Dial(ctx, addr, tc, quicConfig())
	if err != nil {
		return 0, 0, err
	}
	defer conn.CloseWithError(0, "")
	str, err := conn.OpenStreamSync(ctx)
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	if _, err := str.Write(binary.BigEndian.AppendUint64(nil, uint64(size))); err != nil {
		return 0, 0, err
	}
	str.Close()
	n, err := drain(str, make([]byte, readBufSize))
	elapsed := time.Since(start)
	if err != nil {
		return n, elapsed, err
	}
	if n != size {
		return n, elapsed, fmt.Errorf("read %d bytes, want %d", n, size)
	}
	return n, elapsed, nil
}

// q1Serve answers every stream of every connection ln accepts with the
// number of bytes the stream asks for (8 bytes, big-endian), until ln
// closes.
func q1Serve(ctx context.Context, ln *quic.Listener) {
	for {
		conn, err := ln.Accept(ctx)
		if err != nil {
			return
		}
		go func() {
			for {
				str, err := conn.AcceptStream(ctx)
				if err != nil {
					return
				}
				go q1Answer(str)
			}
		}()
	}
}

func q1Answer(str *quic.Stream) {
	var req [8]byte
	if _, err := io.ReadFull(str, req[:]); err != nil {
		str.CancelWrite(1)
		return
	}
	chunk := make([]byte, readBufSize)
	for left := int64(binary.BigEndian.Uint64(req[:])); left > 0; {
		n, err := str.Write(chunk[:min(left, int64(len(chunk)))])
		if err != nil {
			return
		}
		left -= int64(n)
	}
	str.Close()
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
