package testnet

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/quic-go/quic-go/http3"

	"dstor/shared/identity"
)

// BenchmarkCachedRead4KiB reads one cached 4 KiB blob from a node over
// HTTP/3 with 64 concurrent clients, all in one process (for profiling the
// node's read path; the load suite in bench/ gives the comparable figure).
// BenchmarkBareRead4KiB is its baseline: the same client and load against
// a bare quic-go http3 handler writing 4 KiB from memory. Client and
// server share the CPU here as in the load suite, so the ratio of their
// ns/op is close to the suite's ratio of request rates.
func BenchmarkCachedRead4KiB(b *testing.B) {
	n := Start(b, Options{Regions: []string{"r1"}, NodesPerRegion: 1, Writes: 1})
	id := n.Upload(b, blob(1, 4096)).CID
	benchReads(b, n.HTTP3Client(), n.Nodes[0].URL()+"/ipfs/"+id, http.StatusOK)
}

func BenchmarkBareRead4KiB(b *testing.B) {
	n := Start(b, Options{Regions: []string{"r1"}, NodesPerRegion: 1, Writes: 1})
	ca, err := identity.LoadOrCreateCA(filepath.Join(n.GatewayDir, "ca"))
	if err != nil {
		b.Fatal(err)
	}
	cert, _, err := ca.NewIdentity(identity.RoleNode, []string{"127.0.0.1"})
	if err != nil {
		b.Fatal(err)
	}
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	data := blob(1, 4096)
	srv := &http3.Server{
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Length", strconv.Itoa(len(data)))
			w.Write(data)
		}),
	}
	go srv.Serve(udp)
	b.Cleanup(func() { srv.Close(); udp.Close() })
	benchReads(b, n.HTTP3Client(), "https://"+udp.LocalAddr().String()+"/small", http.StatusOK)
}

// benchReads GETs url b.N times from 64 concurrent clients through c;
// every answer must have status want.
func benchReads(b *testing.B, c *http.Client, url string, want int) {
	get := func() {
		resp, err := c.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			b.Fatal(resp.Status)
		}
	}
	get()
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	work := make(chan struct{}, 64)
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range work {
				get()
			}
		}()
	}
	for range b.N {
		work <- struct{}{}
	}
	close(work)
	wg.Wait()
}
