package wire

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// SocketBuffer is the UDP buffer size quic-go wants for full speed.
const SocketBuffer = 7 << 20

// ListenUDP opens a UDP socket for QUIC with SocketBuffer-sized receive
// and send buffers. Linux caps what an unprivileged process may ask for at
// net.core.[rw]mem_max (often far less); a process with CAP_NET_ADMIN
// (root) forces the full size past that cap. Without it the socket keeps
// what the cap allows, and quic-go logs that it wanted more.
func ListenUDP(addr string) (*net.UDPConn, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	c, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, err
	}
	if rc, err := c.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) {
			for _, opt := range []int{unix.SO_RCVBUFFORCE, unix.SO_SNDBUFFORCE} {
				syscall.SetsockoptInt(int(fd), unix.SOL_SOCKET, opt, SocketBuffer)
			}
		})
	}
	return c, nil
}
