package testnet

import (
	"bytes"
	"net/http"
	"testing"
)

// BenchmarkIngest64MiB uploads a 64 MiB blob over HTTPS to a gateway that
// writes it to W=3 nodes, all in one process: for profiling the ingest
// path (gateway fan-out, QUIC, the nodes' writes and commits). The load
// suite's ingest case gives the comparable figure over HTTP/3.
func BenchmarkIngest64MiB(b *testing.B) {
	n := Start(b, Options{Regions: []string{"r1", "r2", "r3"}, NodesPerRegion: 1, Writes: 3, CacheBytes: -1})
	c := n.HTTPClient()
	data := blob(7, 64<<20)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := range b.N {
		data[0] = byte(i) // a new blob every time
		req, _ := http.NewRequest(http.MethodPost, n.GatewayURL+"/v1/blobs", bytes.NewReader(data))
		req.Header.Set("Authorization", "Bearer "+n.APIKey)
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			b.Fatal(resp.Status)
		}
	}
}
