package testnet

import (
	"io"
	"net/http"
	"testing"
	"time"
)

// BenchmarkPeerFetch64MiB reads a new 64 MiB blob from a node that does
// not hold it, so each read is a peer fetch streamed to the client as it
// is verified: MB/s end to end and the time to first byte, over a warm
// client connection. Holder, fetching node and client share the process
// and the CPU (for profiling the peer-fetch path; the load suite in
// bench/ gives the comparable figure). ns/op also holds the end of each
// fetch's commit, which the next read waits behind on two cores.
func BenchmarkPeerFetch64MiB(b *testing.B) {
	const size = 64 << 20
	n := Start(b, Options{})
	c := n.HTTP3Client()
	buf := make([]byte, 256<<10)
	var ttfb, total time.Duration
	for i := range b.N {
		b.StopTimer()
		id := n.Upload(b, blob(uint64(1000+i), size)).CID
		_, others := n.Holders(b, id)
		url := others[i%len(others)].URL()
		warm, err := c.Get(url + "/healthz")
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, warm.Body)
		warm.Body.Close()
		b.StartTimer()

		start := time.Now()
		resp, err := c.Get(url + "/ipfs/" + id)
		if err != nil {
			b.Fatal(err)
		}
		k, err := resp.Body.Read(buf)
		first := time.Since(start)
		got := int64(k)
		for err == nil {
			k, err = resp.Body.Read(buf)
			got += int64(k)
		}
		resp.Body.Close()
		if err != io.EOF || resp.StatusCode != http.StatusOK || got != size {
			b.Fatalf("read %d of %d bytes, status %s: %v", got, size, resp.Status, err)
		}
		ttfb += first
		total += time.Since(start)
	}
	b.ReportMetric(float64(ttfb.Microseconds())/1000/float64(b.N), "ms-ttfb")
	b.ReportMetric(float64(size)*float64(b.N)/total.Seconds()/1e6, "MB/s-e2e")
}
