package testnet

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"dstor/shared/api"
	"dstor/shared/httpblob"
)

// TestTrustlessGateway covers the node's read surface beyond plain GETs:
// raw block responses, conditional and HEAD requests, bad formats, the
// bafkqaaa probe, and the status a node reports to gateways.
func TestTrustlessGateway(t *testing.T) {
	n := Start(t, Options{})
	data := blob(40, 50_000)
	id := n.Upload(t, data).CID
	holders, _ := n.Holders(t, id)
	nd := holders[0]
	url := nd.URL() + "/ipfs/" + id
	for _, c := range []struct {
		name string
		c    *http.Client
	}{{"https", n.HTTPClient()}, {"http3", n.HTTP3Client()}} {
		t.Run(c.name, func(t *testing.T) {
			tests := []struct {
				name       string
				method     string
				url        string
				hdr        []string
				status     int
				ctype      string
				body       []byte
				wantHeader map[string]string
			}{
				{"plain", "GET", url, nil, 200, "application/octet-stream", data,
					map[string]string{"ETag": `"` + id + `"`, "Cache-Control": httpblob.CacheControl, "Content-Length": "50000"}},
				{"format=raw", "GET", url + "?format=raw", nil, 200, httpblob.RawType, data,
					map[string]string{"ETag": `"` + id + `.raw"`, "Content-Disposition": `attachment; filename="` + id + `.bin"`}},
				{"accept raw", "GET", url, []string{"Accept", "application/vnd.ipld.raw"}, 200, httpblob.RawType, data, nil},
				{"accept raw among others", "GET", url, []string{"Accept", "text/html;q=0.9, application/vnd.ipld.raw;q=1"}, 200, httpblob.RawType, data, nil},
				{"range raw", "GET", url + "?format=raw", []string{"Range", "bytes=10-19"}, 206, httpblob.RawType, data[10:20],
					map[string]string{"Content-Range": "bytes 10-19/50000"}},
				{"head", "HEAD", url, nil, 200, "application/octet-stream", nil, map[string]string{"Content-Length": "50000"}},
				{"if-none-match", "GET", url, []string{"If-None-Match", `"` + id + `"`}, 304, "", nil, nil},
				{"if-none-match other", "GET", url, []string{"If-None-Match", `"bafkother"`}, 200, "application/octet-stream", data, nil},
				{"format car refused", "GET", url + "?format=car", nil, 400, "application/json", nil, nil},
				{"probe", "GET", nd.URL() + "/ipfs/bafkqaaa", nil, 200, "application/octet-stream", []byte{}, map[string]string{"Content-Length": "0"}},
				{"bad cid", "GET", nd.URL() + "/ipfs/bafyfoo", nil, 400, "application/json", nil, nil},
				{"unknown path", "GET", nd.URL() + "/v1/other", nil, 404, "application/json", nil, nil},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					resp, body := do(t, c.c, tc.method, tc.url, nil, tc.hdr...)
					if resp.StatusCode != tc.status {
						t.Fatalf("%s, want %d: %.200s", resp.Status, tc.status, body)
					}
					if tc.ctype != "" && resp.Header.Get("Content-Type") != tc.ctype {
						t.Errorf("Content-Type %q, want %q", resp.Header.Get("Content-Type"), tc.ctype)
					}
					if tc.body != nil && !bytes.Equal(body, tc.body) {
						t.Errorf("body of %d bytes differs from the want of %d", len(body), len(tc.body))
					}
					if tc.ctype == "application/json" {
						var e api.Error
						if json.Unmarshal(body, &e) != nil || e.Error == "" {
							t.Errorf("error body %q is not {\"error\": ...}", body)
						}
					}
					for k, v := range tc.wantHeader {
						if got := resp.Header.Get(k); got != v {
							t.Errorf("%s: %q, want %q", k, got, v)
						}
					}
				})
			}
		})
	}

	t.Run("status", func(t *testing.T) {
		st, err := n.WireClient(t).Ping(context.Background(), nd.Target())
		if err != nil {
			t.Fatal(err)
		}
		if st.ID != nd.ID() || st.Blobs < 1 || st.Used < int64(len(data)) || st.Capacity <= 0 || st.Free <= 0 || !st.Accepting {
			t.Fatalf("status %+v", st)
		}
		// Above: two full GETs of 50,000 bytes per client, one cached read
		// after the first; the cache saw hits.
		if st.BytesServed < 4*int64(len(data)) || st.CacheHits < 1 || st.HitRatio() <= 0 {
			t.Fatalf("status %+v: served bytes or cache hits missing", st)
		}
		// The gateway shows what the next probe brings.
		var seen api.Node
		waitFor(t, "GET /v1/nodes to show the node's blobs and traffic", func() bool {
			var nr api.NodesResponse
			if err := n.getJSON("/v1/nodes", &nr); err != nil {
				t.Fatal(err)
			}
			for _, v := range nr.Nodes {
				if v.ID == nd.ID() {
					seen = v
				}
			}
			return seen.Capacity > 0 && seen.Blobs >= 1 && seen.Accepting && seen.BytesServed >= st.BytesServed && seen.CacheHitRatio > 0
		})
	})
}
