package latency

import (
	"errors"
	"net"
	"net/netip"
	"time"
)

// tcpChunks bounds the chunks in flight per direction of a TCP
// connection: up to tcpChunks x maxDatagram bytes wait in the proxy, which
// caps a delayed connection's throughput near that over the one-way delay.
const tcpChunks = 256

// acceptTCP forwards each TCP connection to the target's TCP port.
func (p *Proxy) acceptTCP() {
	for {
		c, err := p.tcp.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond) // out of file descriptors: back off
			continue
		}
		p.goFunc(func() { p.relayTCP(c) })
	}
}

// relayTCP dials the target for one client connection and pipes both
// ways until both are done.
func (p *Proxy) relayTCP(c *net.TCPConn) {
	client := c.RemoteAddr().(*net.TCPAddr).AddrPort()
	client = netip.AddrPortFrom(client.Addr().Unmap(), client.Port())
	var local *net.TCPAddr
	if p.local != nil {
		local = &net.TCPAddr{IP: p.local.IP}
	}
	d := net.Dialer{LocalAddr: local, Timeout: 5 * time.Second}
	uc, err := d.Dial("tcp", p.target.String())
	if err != nil {
		c.Close()
		return
	}
	up := uc.(*net.TCPConn)
	if !p.track(c, up) {
		return
	}
	defer p.untrack(c, up)
	done := make(chan struct{})
	go func() {
		p.pipe(up, c, client)
		close(done)
	}()
	p.pipe(c, up, client)
	<-done
}

// track registers a connection pair so Close can end it; false (and both
// closed) when the proxy is closing.
func (p *Proxy) track(a, b net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		a.Close()
		b.Close()
		return false
	}
	p.tcpConns[a] = struct{}{}
	p.tcpConns[b] = struct{}{}
	return true
}

func (p *Proxy) untrack(a, b net.Conn) {
	p.mu.Lock()
	delete(p.tcpConns, a)
	delete(p.tcpConns, b)
	p.mu.Unlock()
	a.Close()
	b.Close()
}

type chunk struct {
	due int64
	buf *[]byte
}

// pipe copies src to dst, each chunk delayed by the client's profile, in
// order. A reading goroutine stamps chunks; this one writes them when due.
func (p *Proxy) pipe(dst, src *net.TCPConn, client netip.AddrPort) {
	ch := make(chan chunk, tcpChunks)
	go func() {
		defer close(ch)
		var last int64
		for {
			buf := p.bufs.full()
			n, err := src.Read(*buf)
			if n > 0 {
				*buf = (*buf)[:n]
				due := max(p.now()+int64(p.profile(client).oneWay()), last)
				last = due
				ch <- chunk{due, buf}
			} else {
				p.bufs.put(buf)
			}
			if err != nil {
				return
			}
		}
	}()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	failed := false
	for c := range ch {
		if wait := time.Duration(c.due - p.now()); wait > 0 && !failed {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-p.done:
				failed = true
			}
		}
		if !failed {
			if _, err := dst.Write(*c.buf); err != nil {
				failed = true
				src.Close() // unblock the reader; the chunks left are dropped
			}
		}
		p.bufs.put(c.buf)
	}
	if failed {
		dst.Close()
	} else {
		dst.CloseWrite()
	}
}
