package testnet

import (
	"net/http"
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
	benchReads(b, c, n.GatewayURL+"/ipfs/"+id, http.StatusTemporaryRedirect)
}
