package testnet

import (
	"bytes"
	"crypto/rand"
	"io"
	"net/http"
	"testing"
	"time"

	"dstor/shared/registry"
)

// TestPlacementPulls uploads with R=16 on 20 nodes in 4 regions: the
// gateway writes W=3 copies itself and orders 13 pulls, the pin reaches
// "pinned" with 16 distinct verified holders in every region, and the
// gateway sent W copies of the bytes, not R.
func TestPlacementPulls(t *testing.T) {
	n := Start(t, Options{
		Regions:        []string{"r1", "r2", "r3", "r4"},
		NodesPerRegion: 5,
		Writes:         3,
		Replicas:       16,
		CacheBytes:     -1,
	})
	data := make([]byte, 3<<20+17)
	rand.Read(data)
	br := n.Upload(t, data)
	if br.Replicas != 3 || br.Status != registry.StatusQueued && br.Status != registry.StatusPinning {
		t.Fatalf("upload answered %+v, want 3 replicas written and the pin queued for pulls", br)
	}
	pr := n.WaitPin(t, br.CID, time.Minute, registry.StatusPinned, registry.StatusFailed)
	if pr.Status != registry.StatusPinned || pr.Replicas != 16 || pr.Pinned != 16 {
		t.Fatalf("pin %+v, want pinned with 16 of 16", pr)
	}
	holders, _ := n.Holders(t, br.CID)
	regions := map[string]int{}
	for _, h := range holders {
		regions[h.Region]++
		if !h.HasOnDisk(MustParse(t, br.CID)) {
			t.Errorf("holder %s has no copy on disk", h.Name)
		}
	}
	if len(holders) != 16 || len(regions) != 4 {
		t.Fatalf("%d holders over regions %v, want 16 over all 4", len(holders), regions)
	}
	for r, k := range regions {
		if k != 4 {
			t.Errorf("region %s has %d copies, want 4 (spread evenly)", r, k)
		}
	}
	sent := n.Metric(t, "dstor_gateway_replica_bytes_sent_total")
	if sent > float64(4*len(data)) {
		t.Errorf("gateway sent %.0f bytes for a %d-byte blob: more than W+1 copies", sent, len(data))
	}
	if got := n.Metric(t, "dstor_gateway_pulls_ok_total"); got != 13 {
		t.Errorf("%v pulls succeeded, want 13", got)
	}
	// Every holder serves the blob.
	c := n.HTTPClient()
	for _, h := range holders {
		resp, err := c.Get(h.URL() + "/ipfs/" + br.CID)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.Equal(got, data) {
			t.Errorf("holder %s: %s, %d bytes", h.Name, resp.Status, len(got))
		}
	}
}
