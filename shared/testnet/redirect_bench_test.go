package testnet

import (
	"io"
	"net/http"
	"sync"
	"testing"
)

// BenchmarkRedirect asks the gateway for one CID over HTTP/3 with 64
// concurrent clients and does not follow the 307: for profiling the
// gateway's read path (the load suite's redirect case gives the figure).
func BenchmarkRedirect(b *testing.B) {
	n := Start(b, Options{Regions: []string{"r1"}, NodesPerRegion: 2, Writes: 1})
	id := n.Upload(b, blob(3, 4096)).CID
	c := n.HTTP3Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	url := n.GatewayURL + "/ipfs/" + id
	get := func() {
		resp, err := c.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusTemporaryRedirect {
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
