package load

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// quicConfig is the QUIC configuration of every bench endpoint that the
// bench configures (Q1's both ends, every HTTP/3 client): flow-control
// windows as large as the dStor daemons', so the receiver never limits a
// bulk transfer, and no 0-RTT.
func quicConfig() *quic.Config {
	return &quic.Config{
		MaxIdleTimeout:             30 * time.Second,
		HandshakeIdleTimeout:       5 * time.Second,
		InitialStreamReceiveWindow: 1 << 20,
		MaxStreamReceiveWindow:     16 << 20,
		MaxConnectionReceiveWindow: 64 << 20,
	}
}

// Client is the HTTP/3 client of every measurement, the same for the
// baselines and dStor: Conns QUIC connections to each server, each an
// http3.Transport with its own UDP socket (with udpBufferSize buffers).
// Load is spread over them round-robin; redirects are not followed.
type Client struct {
	conns []clientConn
}

type clientConn struct {
	udp *net.UDPConn
	qt  *quic.Transport
	h3  *http3.Transport
	hc  *http.Client
}

// newClient returns a client of conns connections trusting pool.
func newClient(pool *x509.CertPool, conns int) (*Client, error) {
	c := &Client{}
	for range conns {
		udp, err := listenUDP(0)
		if err != nil {
			c.Close()
			return nil, err
		}
		qt := &quic.Transport{Conn: udp}
		h3 := &http3.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13},
			QUICConfig:      quicConfig(),
			Dial: func(ctx context.Context, addr string, tc *tls.Config, qc *quic.Config) (*quic.Conn, error) {
				ua, err := net.ResolveUDPAddr("udp", addr)
				if err != nil {
					return nil, err
				}
				return qt.Dial(ctx, ua, tc, qc)
			},
		}
		hc := &http.Client{
			Transport: h3,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
		c.conns = append(c.conns, clientConn{udp: udp, qt: qt, h3: h3, hc: hc})
	}
	return c, nil
}

// HTTP returns the client of connection i mod Conns.
func (c *Client) HTTP(i int) *http.Client { return c.conns[i%len(c.conns)].hc }

// Close closes every connection and socket.
func (c *Client) Close() {
	for _, cc := range c.conns {
		cc.h3.Close()
		cc.qt.Close()
		cc.udp.Close()
	}
}

// bufferNote describes the client's socket buffers.
func (c *Client) bufferNote() string {
	rcv, snd, err := udpBuffers(c.conns[0].udp)
	if err != nil {
		return "client UDP buffers: " + err.Error()
	}
	return fmt.Sprintf("client UDP buffers rcv %s/snd %s", mibs(rcv), mibs(snd))
}
