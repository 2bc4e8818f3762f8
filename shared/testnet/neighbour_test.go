package testnet

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"testing"

	"dstor/shared/wire"
)

// TestNeighbourFetch: a node that lacks a blob asks the nearest peers it
// has measured beside the gateway, so it serves the blob from a neighbour
// that has it even with the gateway gone; a blob no neighbour has then
// gets a clear error.
func TestNeighbourFetch(t *testing.T) {
	n := Start(t, Options{Regions: []string{"r1"}, NodesPerRegion: 2, Writes: 1})
	data := blob(40, 3*16<<10+7)
	id := MustParse(t, n.Upload(t, data).CID)
	holders, others := n.Holders(t, id.String())
	if len(holders) != 1 || len(others) != 1 {
		t.Fatalf("%d holders and %d others, want 1 and 1", len(holders), len(others))
	}
	a, b := holders[0], others[0]
	// The gateway's probes have b measure its peers; it reports them.
	wc := n.WireClient(t)
	waitFor(t, b.Name+" to have measured "+a.Name, func() bool {
		st, err := wc.Ping(context.Background(), b.Target())
		return err == nil && slices.ContainsFunc(st.Peers, func(p wire.PeerRTT) bool { return p.ID == a.ID() })
	})
	n.StopGateway()

	hc := n.HTTPClient()
	resp, body := do(t, hc, http.MethodGet, b.URL()+"/ipfs/"+id.String(), nil)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, data) {
		t.Fatalf("read from a non-holder with the gateway gone: %s, equal %v: %.200s", resp.Status, bytes.Equal(body, data), body)
	}
	waitFor(t, "the fetch to be logged", func() bool {
		return n.Logged(b.Name, "fetched blob from peer", "cid", id.String(), "peer", a.ID(), "neighbour", "true") == 1
	})
	waitFor(t, "the fetched blob kept on disk", func() bool { return b.HasOnDisk(id) })

	// Neither node has this one, and no gateway answers.
	missing := MustParse(t, "bafkr4ihkr4ld3m4gqkjf4reryxsy2s5tkbxprqkow6fin2iiyvreuzzab4")
	resp, body = do(t, hc, http.MethodGet, b.URL()+"/ipfs/"+missing.String(), nil)
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("a blob no one has, with the gateway gone: %s, want 502: %s", resp.Status, body)
	}
}
