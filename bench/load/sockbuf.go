package load

import (
	"errors"
	"fmt"
	"net"
	"os/exec"
	"regexp"
	"strconv"

	"golang.org/x/sys/unix"
)

// udpBufferSize is what quic-go asks for. quic-go checks the size the
// kernel reports, which Linux doubles, so with rmem_max below 7 MiB it
// settles for half of that; the bench forces the full size on its own
// sockets (SO_RCVBUFFORCE needs CAP_NET_ADMIN) and reports what the
// servers got.
const udpBufferSize = 7 << 20

// setUDPBuffers gives a socket udpBufferSize of receive and send buffer,
// forcing past the sysctl limits when allowed.
func setUDPBuffers(c *net.UDPConn) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = raw.Control(func(fd uintptr) {
		for _, o := range [][2]int{{unix.SO_RCVBUFFORCE, unix.SO_RCVBUF}, {unix.SO_SNDBUFFORCE, unix.SO_SNDBUF}} {
			if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, o[0], udpBufferSize) != nil {
				serr = errors.Join(serr, unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, o[1], udpBufferSize))
			}
		}
	})
	return errors.Join(err, serr)
}

// listenUDP opens a loopback UDP socket on port (0: any) with
// udpBufferSize buffers.
func listenUDP(port int) (*net.UDPConn, error) {
	return listenUDPAt(net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
}

// listenUDPAt listens on the UDP host:port addr with udpBufferSize buffers.
func listenUDPAt(addr string) (*net.UDPConn, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	c, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, err
	}
	if err := setUDPBuffers(c); err != nil {
		c.Close()
		return nil, fmt.Errorf("socket buffers: %w", err)
	}
	return c, nil
}

// udpBuffers reports the kernel's receive and send buffer sizes of a
// socket (twice what was asked for, as Linux reports them).
func udpBuffers(c *net.UDPConn) (rcv, snd int, err error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, 0, err
	}
	var serr error
	err = raw.Control(func(fd uintptr) {
		rcv, serr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
		if serr == nil {
			snd, serr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF)
		}
	})
	return rcv, snd, errors.Join(err, serr)
}

var skmem = regexp.MustCompile(`skmem:\(r\d+,rb(\d+),t\d+,tb(\d+)`)

// serverUDPBuffers reports the buffer sizes of another process's UDP
// socket on a loopback port, as `ss` shows them.
func serverUDPBuffers(port int) string {
	out, err := exec.Command("ss", "-uamnH", "sport", "=", ":"+strconv.Itoa(port)).Output()
	if err != nil {
		return "unknown (ss: " + err.Error() + ")"
	}
	m := skmem.FindSubmatch(out)
	if m == nil {
		return "unknown"
	}
	rb, _ := strconv.Atoi(string(m[1]))
	tb, _ := strconv.Atoi(string(m[2]))
	return fmt.Sprintf("rcv %s/snd %s", mibs(rb), mibs(tb))
}

func mibs(n int) string { return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB" }
