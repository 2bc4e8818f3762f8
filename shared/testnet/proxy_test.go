package testnet

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

// TestProxiedReadSurvivesItsHolder: a holder that stops part-way through
// a read the gateway proxies (?redirect=0) does not fail the read: the
// rest of the range comes from the next holder, and the reader gets the
// whole blob, byte for byte.
func TestProxiedReadSurvivesItsHolder(t *testing.T) {
	n := Start(t, Options{Regions: []string{"r1", "r2", "r3"}, NodesPerRegion: 1, Writes: 3, CacheBytes: -1})
	data := blob(701, 48<<20)
	id := n.Upload(t, data).CID
	resp, err := n.HTTPClient().Get(n.GatewayURL + "/ipfs/" + id + "?redirect=0")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first := n.NodeByID(resp.Header.Get("X-Dstor-Node"))
	if resp.StatusCode != http.StatusOK || first == nil {
		t.Fatalf("GET ?redirect=0: %s from node %q", resp.Status, resp.Header.Get("X-Dstor-Node"))
	}
	got := make([]byte, 1<<20)
	if _, err := io.ReadFull(resp.Body, got); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan struct{})
	go func() { first.Stop(); close(stopped) }()
	rest, err := io.ReadAll(resp.Body)
	<-stopped
	if err != nil {
		t.Fatalf("read cut after %d bytes: %v", len(got)+len(rest), err)
	}
	if got = append(got, rest...); !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, not the blob's %d", len(got), len(data))
	}
	if k := n.Logged("gateway", "holder failed part-way through a proxied read; the rest comes from the next"); k != 1 {
		t.Errorf("the gateway resumed %d times, want once (did the holder stop before the read ended?)", k)
	}
}
