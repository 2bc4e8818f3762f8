package latency

import (
	"context"
	"io"
	"testing"

	"github.com/quic-go/quic-go"
)

// BenchmarkProxyThroughput streams over QUIC through a zero-delay proxy
// and, for comparison, straight to the server.
func BenchmarkProxyThroughput(b *testing.B) {
	for _, tc := range []struct {
		name  string
		proxy bool
		prof  Profile
	}{
		{"direct", false, Profile{}},
		{"proxy", true, Profile{}},
		{"proxy-1ms", true, Profile{Delay: 1e6}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			read := make(chan int64, 1)
			server := quicServer(b, func(s *quic.Stream) {
				n, _ := io.Copy(io.Discard, s)
				s.Close()
				read <- n
			})
			addr := server
			if tc.proxy {
				addr = listen(b, Config{Target: server, Default: tc.prof}).Addr().String()
			}
			conn, err := dial(b, "127.0.0.1", addr, 0)
			if err != nil {
				b.Fatal(err)
			}
			s, err := conn.OpenStreamSync(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 64<<10)
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				if _, err := s.Write(buf); err != nil {
					b.Fatal(err)
				}
			}
			s.Close()
			st := conn.ConnectionStats()
			b.ReportMetric(float64(st.PacketsLost)/float64(max(st.PacketsSent, 1))*100, "%lost")
			if n := <-read; n != int64(b.N)*int64(len(buf)) {
				b.Fatalf("server read %d bytes, sent %d", n, b.N*len(buf))
			}
		})
	}
}
