package latency

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"
)

const ms = time.Millisecond

func TestQUICRTT(t *testing.T) {
	server := quicServer(t, echo)
	for _, tc := range []struct {
		name string
		prof Profile
	}{
		{"no delay", Profile{}},
		{"20ms", Profile{Delay: 20 * ms}},
		{"80ms", Profile{Delay: 80 * ms}},
		{"40ms jitter 10ms", Profile{Delay: 40 * ms, Jitter: 10 * ms}},
		{"30ms 5% loss", Profile{Delay: 30 * ms, Loss: 0.05}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := listen(t, Config{Target: server, Default: tc.prof})
			conn, err := dial(t, "127.0.0.1", p.Addr().String(), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			pingPong(t, conn, 5)
			got := conn.ConnectionStats().SmoothedRTT
			want := tc.prof.Delay
			if tc.prof.Jitter > 0 {
				// The lower bound allows for the jitter's spread.
				lo := want - tc.prof.Jitter
				if got < lo*9/10 || got > want+tc.prof.Jitter+50*ms {
					t.Errorf("RTT %v, want %v ± %v", got, want, tc.prof.Jitter)
				}
				return
			}
			checkRTT(t, tc.name, got, want)
		})
	}
}

func TestTotalLossFailsHandshake(t *testing.T) {
	server := quicServer(t, echo)
	p := listen(t, Config{Target: server, Default: Profile{Loss: 1}})
	if _, err := dial(t, "127.0.0.1", p.Addr().String(), 300*ms); err == nil {
		t.Fatal("handshake through a proxy that drops everything succeeded")
	}
	if st := p.Stats(); st.Dropped == 0 || st.Forwarded != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestRouteBySource(t *testing.T) {
	server := quicServer(t, echo)
	far := netip.MustParseAddr("127.0.0.2")
	p := listen(t, Config{
		Target:  server,
		Default: Profile{Delay: 10 * ms},
		Route:   ByAddr(map[netip.Addr]Profile{far: {Delay: 90 * ms}}),
	})
	near, err := dial(t, "127.0.0.1", p.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	away, err := dial(t, far.String(), p.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	pingPong(t, near, 5)
	pingPong(t, away, 5)
	checkRTT(t, "default", near.ConnectionStats().SmoothedRTT, 10*ms)
	checkRTT(t, "routed", away.ConnectionStats().SmoothedRTT, 90*ms)
	if st := p.Stats(); st.Clients != 2 {
		t.Fatalf("%d upstream sockets, want one per client", st.Clients)
	}
}

func TestRuntimeChange(t *testing.T) {
	server := quicServer(t, echo)
	p := listen(t, Config{Target: server, Default: Profile{Delay: 10 * ms}})
	conn, err := dial(t, "127.0.0.1", p.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	checkRTT(t, "before", pingPong(t, conn, 3), 10*ms)
	if err := p.SetDefault(Profile{Delay: 70 * ms}); err != nil {
		t.Fatal(err)
	}
	checkRTT(t, "new default", pingPong(t, conn, 3), 70*ms)
	p.SetRoute(func(netip.AddrPort) (Profile, bool) { return Profile{Delay: 30 * ms}, true })
	checkRTT(t, "new route", pingPong(t, conn, 3), 30*ms)
	p.SetRoute(nil)
	checkRTT(t, "route removed", pingPong(t, conn, 3), 70*ms)
	if err := p.SetDefault(Profile{Loss: 2}); err == nil {
		t.Fatal("loss 2 accepted")
	}
}

// udpEcho answers every datagram on 127.0.0.1 with itself.
func udpEcho(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	setBuffers(c)
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, maxDatagram)
		for {
			n, a, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			c.WriteToUDPAddrPort(buf[:n], a)
		}
	}()
	return c
}

// exchange sends n numbered datagrams of size bytes through p and
// returns the numbers echoed back, in arrival order.
func exchange(t *testing.T, p *Proxy, n, size int, wait time.Duration) []int {
	t.Helper()
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(p.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	setBuffers(c)
	msg := make([]byte, size)
	for i := range n {
		copy(msg, strconv.Itoa(i)+" ")
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		if i%32 == 31 {
			time.Sleep(time.Millisecond) // stay within socket buffers
		}
	}
	var got []int
	buf := make([]byte, maxDatagram)
	for {
		c.SetReadDeadline(time.Now().Add(wait))
		m, err := c.Read(buf)
		if err != nil {
			return got
		}
		if m != size {
			t.Fatalf("datagram of %d bytes, sent %d", m, size)
		}
		var i int
		fmt.Sscan(string(buf[:m]), &i)
		got = append(got, i)
	}
}

func TestLossRate(t *testing.T) {
	udpEcho(t)
	echoSrv := udpEcho(t)
	p := listen(t, Config{Target: echoSrv.LocalAddr().String(), Default: Profile{Loss: 0.3}})
	const n = 2000
	got := len(exchange(t, p, n, 100, 200*ms))
	// Both directions lose 30 %: 49 % arrive. 2000 draws: σ ≈ 22.
	if got < n*40/100 || got > n*58/100 {
		t.Fatalf("%d of %d came back, want about 49 %%", got, n)
	}
	if st := p.Stats(); st.Dropped == 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestOrder(t *testing.T) {
	echoSrv := udpEcho(t)
	for _, tc := range []struct {
		name      string
		prof      Profile
		keepOrder bool
		inOrder   bool // must arrive in order
	}{
		{"no delay", Profile{}, false, true},
		{"fixed delay", Profile{Delay: 20 * ms}, false, true},
		{"jitter kept in order", Profile{Delay: 20 * ms, Jitter: 20 * ms}, true, true},
		{"jitter reorders", Profile{Delay: 20 * ms, Jitter: 20 * ms}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := listen(t, Config{Target: echoSrv.LocalAddr().String(), Default: tc.prof, KeepOrder: tc.keepOrder})
			got := exchange(t, p, 500, 1200, 300*ms)
			if len(got) != 500 {
				t.Fatalf("%d of 500 came back", len(got))
			}
			reordered := 0
			for i := 1; i < len(got); i++ {
				if got[i] < got[i-1] {
					reordered++
				}
			}
			if tc.inOrder && reordered > 0 {
				t.Fatalf("%d packets out of order", reordered)
			}
			if !tc.inOrder && reordered == 0 {
				t.Fatal("jitter of the delay's size reordered nothing")
			}
		})
	}
}

func TestLargeDatagram(t *testing.T) {
	echoSrv := udpEcho(t)
	for _, prof := range []Profile{{}, {Delay: 10 * ms}} {
		p := listen(t, Config{Target: echoSrv.LocalAddr().String(), Default: prof})
		if got := exchange(t, p, 3, 60000, 200*ms); len(got) != 3 {
			t.Fatalf("%v: %d of 3 came back", prof, len(got))
		}
	}
}

func TestTargetOwnPort(t *testing.T) {
	// A target with port 0 is the proxy's port on the target's IP.
	p := listen(t, Config{Listen: "127.0.0.1:0", Target: "127.0.0.3:0"})
	if want := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.3"), p.Addr().Port()); p.Target() != want {
		t.Fatalf("target %v, want %v", p.Target(), want)
	}
}

func TestTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				io.Copy(c, c)
				c.Close()
			}()
		}
	}()
	p := listen(t, Config{Target: ln.Addr().String(), TCP: true, Default: Profile{Delay: 40 * ms, Jitter: 10 * ms, Loss: 0.5}})
	c, err := net.Dial("tcp", p.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	best := time.Hour
	buf := make([]byte, 4)
	for range 3 {
		start := time.Now()
		c.Write(buf)
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatal(err)
		}
		best = min(best, time.Since(start))
	}
	if best < 27*ms { // 40 ms less the jitter, less 10 %
		t.Errorf("TCP round trip %v, want about 40ms", best)
	}
	// A bulk transfer arrives whole and in order, and half-close passes.
	data := make([]byte, 4<<20)
	rand.NewChaCha8([32]byte{1}).Read(data)
	go func() {
		c.Write(data)
		c.(*net.TCPConn).CloseWrite()
	}()
	back, err := io.ReadAll(c)
	if err != nil || !bytes.Equal(back, data) {
		t.Fatalf("echoed %d of %d bytes, equal %v, err %v", len(back), len(data), bytes.Equal(back, data), err)
	}
}

func TestIdleClientsReaped(t *testing.T) {
	echoSrv := udpEcho(t)
	p := listen(t, Config{Target: echoSrv.LocalAddr().String(), IdleTimeout: 100 * ms})
	exchange(t, p, 1, 10, 50*ms)
	deadline := time.Now().Add(5 * time.Second)
	for p.Stats().Clients != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("idle client kept: %+v", p.Stats())
		}
		time.Sleep(20 * ms)
	}
	// A client coming back gets a new upstream socket.
	if got := exchange(t, p, 1, 10, 200*ms); len(got) != 1 {
		t.Fatal("no answer after the reap")
	}
}

func TestCloseLeaksNothing(t *testing.T) {
	noLeak(t)
	echoSrv := udpEcho(t)
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tl.Close()
	go func() {
		c, err := tl.Accept()
		if err == nil {
			io.Copy(io.Discard, c)
			c.Close()
		}
	}()
	slow := Profile{Delay: 200 * ms}
	udp, err := Listen(Config{Listen: "127.0.0.1:0", Target: echoSrv.LocalAddr().String(), Default: slow})
	if err != nil {
		t.Fatal(err)
	}
	tcp, err := Listen(Config{Listen: "127.0.0.1:0", Target: tl.Addr().String(), TCP: true, Default: slow})
	if err != nil {
		t.Fatal(err)
	}
	// Packets and a TCP connection still in flight when Close comes.
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(udp.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 100 {
		c.Write([]byte("in flight"))
	}
	tc, err := net.Dial("tcp", tcp.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	tc.Write([]byte("in flight"))
	time.Sleep(20 * ms)
	for _, p := range []*Proxy{udp, tcp} {
		if st := p.Stats(); st.Clients != 1 && p == udp {
			t.Errorf("stats %+v", st)
		}
		p.Close()
		p.Close() // twice is fine
	}
}
