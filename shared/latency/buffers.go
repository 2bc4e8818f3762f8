package latency

import (
	"net"
	"sync"
	"syscall"
)

// maxDatagram is the largest UDP payload.
const maxDatagram = 64 << 10

// socketBuffer is the UDP buffer size quic-go wants for full speed.
const socketBuffer = 7 << 20

// smallBuf holds any QUIC packet (at most ~1500 bytes): a full-size
// buffer per queued packet would waste 30x the memory.
const smallBuf = 2048

// bufPool recycles the buffers of packets waiting in a queue.
type bufPool struct {
	small, large sync.Pool
}

// copyOf returns a pooled copy of b; give it back with put.
func (p *bufPool) copyOf(b []byte) *[]byte {
	pool, size := &p.small, smallBuf
	if len(b) > smallBuf {
		pool, size = &p.large, maxDatagram
	}
	bp, _ := pool.Get().(*[]byte)
	if bp == nil {
		s := make([]byte, size)
		bp = &s
	}
	*bp = (*bp)[:copy((*bp)[:cap(*bp)], b)]
	return bp
}

// full returns a pooled buffer of maxDatagram bytes.
func (p *bufPool) full() *[]byte {
	bp, _ := p.large.Get().(*[]byte)
	if bp == nil {
		b := make([]byte, maxDatagram)
		return &b
	}
	*bp = (*bp)[:cap(*bp)]
	return bp
}

func (p *bufPool) put(bp *[]byte) {
	if cap(*bp) > smallBuf {
		p.large.Put(bp)
	} else {
		p.small.Put(bp)
	}
}

// setBuffers asks for socketBuffer-sized receive and send buffers, past
// net.core.[rw]mem_max when the process may (CAP_NET_ADMIN), else as much
// as the cap allows.
func setBuffers(c *net.UDPConn) {
	c.SetReadBuffer(socketBuffer)
	c.SetWriteBuffer(socketBuffer)
	if rc, err := c.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) {
			syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, socketBuffer)
			syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUFFORCE, socketBuffer)
		})
	}
}
