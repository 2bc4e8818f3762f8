package testnet

import (
	"io"
	"net/http"
	"sync"
	"testing"
)

// BenchmarkCachedRead4KiB reads one cached 4 KiB blob from a node over
// HTTP/3 with 64 concurrent clients, all in one process (for profiling the
// node's read path; the load suite in bench/ gives the comparable figure).
func BenchmarkCachedRead4KiB(b *testing.B) {
	n := Start(b, Options{Regions: []string{"r1"}, NodesPerRegion: 1, Replicas: 1})
	data := blob(1, 4096)
	id := n.Upload(b, data).CID
	url := n.Nodes[0].URL() + "/ipfs/" + id
	c := n.HTTP3Client()
	get := func() {
		resp, err := c.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatal(resp.Status)
		}
	}
	get()
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
