package testnet

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"dstor/gatewayd/gateway"
	"dstor/gatewayd/gateway/locate"
	"dstor/shared/api"
	"dstor/shared/registry"
	"dstor/shared/registry/pgtest"
)

// TestTwoGateways runs two gateways on one registry, as an anycast
// deployment runs one per region: a blob uploaded through either is
// pinned, placed and readable through both, and both send a client of a
// region to a node there.
func TestTwoGateways(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			opt := Options{
				Regions: []string{"r1", "r2"}, NodesPerRegion: 2, Writes: 2, Replicas: 3,
				GatewayConfig: func(cfg *gateway.Config) {
					cfg.Locate.Rules = []locate.Rule{{Prefix: netip.MustParsePrefix("127.0.0.0/8"), Region: "r1"}}
				},
			}
			if backend == "postgres" {
				opt.Registry = pgtest.Start(t)
			}
			n := Start(t, opt)
			_, url2 := n.AddGateway(t, "r2")
			gw2 := *n
			gw2.GatewayURL = url2
			gw2.WaitLive(t, len(n.Nodes))

			for i, up := range []*Net{n, &gw2} {
				data := make([]byte, 100<<10+i)
				rand.Read(data)
				br := up.Upload(t, data)
				for _, rd := range []*Net{n, &gw2} {
					pr := rd.WaitPin(t, br.CID, 30*time.Second, registry.StatusPinned, registry.StatusFailed)
					if pr.Status != registry.StatusPinned || pr.Pinned != 3 {
						t.Fatalf("uploaded through gateway %d, pin as seen by %s: %+v; want pinned on 3", i+1, rd.GatewayURL, pr)
					}
				}
				// Both send an r1 client to a node in r1. (Which node is RTT,
				// load and holders, which the choose tests pin down; RTTs on a
				// loaded loopback are scheduling noise of several ms.)
				for _, rd := range []*Net{n, &gw2} {
					if node, region := redirectOf(t, rd, br.CID); region != "r1" {
						t.Errorf("gateway %s sent an r1 client to %s in %s", rd.GatewayURL, node, region)
					}
				}
				for _, rd := range []*Net{n, &gw2} {
					resp, got := do(t, rd.HTTPClient(), http.MethodGet, rd.GatewayURL+"/ipfs/"+br.CID+"?redirect=0", nil)
					if resp.StatusCode != http.StatusOK || !bytes.Equal(got, data) {
						t.Errorf("read through %s: %s, %d bytes", rd.GatewayURL, resp.Status, len(got))
					}
				}
			}
		})
	}
}

// redirectOf asks the net's gateway for cid without following the
// redirect and returns the chosen node and region.
func redirectOf(t *testing.T, n *Net, id string) (node, region string) {
	t.Helper()
	c := n.HTTPClient()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(n.GatewayURL + "/ipfs/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect {
		var e api.Error
		json.NewDecoder(resp.Body).Decode(&e)
		t.Fatalf("GET /ipfs/%s: %s %s", id, resp.Status, e.Error)
	}
	return resp.Header.Get("X-Dstor-Node"), resp.Header.Get("X-Dstor-Region")
}
