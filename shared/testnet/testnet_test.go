package testnet

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"dstor/shared/cid"
)

// blob returns size deterministic pseudo-random bytes.
func blob(seed uint64, size int) []byte {
	r := rand.New(rand.NewPCG(seed, 0xd5))
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// do sends a request and returns the answer with its body read.
func do(t *testing.T, c *http.Client, method, url string, body []byte, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return resp, b
}

func TestUploadAndRead(t *testing.T) {
	n := Start(t, Options{})
	hc := n.HTTPClient()
	h3 := n.HTTP3Client()
	for i, tc := range []struct {
		name  string
		c     *http.Client
		proto int
	}{
		{"http3", h3, 3},
		{"https", hc, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := blob(uint64(i), 300<<10+17)
			want := cid.Sum(data)
			up := func(wantStatus int) {
				t.Helper()
				resp, body := do(t, tc.c, http.MethodPost, n.GatewayURL+"/v1/blobs", data, "Authorization", "Bearer "+n.APIKey)
				if resp.StatusCode != wantStatus {
					t.Fatalf("upload: %s, want %d: %s", resp.Status, wantStatus, body)
				}
				if resp.ProtoMajor != tc.proto {
					t.Errorf("upload went over %s, want HTTP/%d", resp.Proto, tc.proto)
				}
				if !strings.Contains(string(body), `"cid":"`+want.String()+`"`) {
					t.Errorf("upload answered %s, want cid %s", body, want)
				}
			}
			up(http.StatusCreated)
			up(http.StatusOK) // the account already has it

			holders, _ := n.Holders(t, want.String())
			if len(holders) != 3 {
				t.Fatalf("%d holders, want 3", len(holders))
			}
			regions := map[string]bool{}
			for _, h := range holders {
				regions[h.Region] = true
				if !h.HasOnDisk(want) {
					t.Errorf("holder %s has no file for %s", h.Name, want)
				}
			}
			if len(regions) != 3 {
				t.Errorf("holders in regions %v, want 3 distinct", regions)
			}

			// The gateway redirects a loopback client (region eu-west,
			// the gateway's) to an eu-west node: the holder unless the
			// other node's score is more than 20 % better (RTT noise on a
			// loaded machine can make it so; shared/choose tests the rule).
			resp, body := do(t, hc, http.MethodGet, n.GatewayURL+"/ipfs/"+want.String(), nil)
			if resp.StatusCode != http.StatusTemporaryRedirect {
				t.Fatalf("gateway read: %s, want 307: %s", resp.Status, body)
			}
			loc := resp.Header.Get("Location")
			to := n.NodeByID(resp.Header.Get("X-Dstor-Node"))
			if to == nil || loc != to.URL()+"/ipfs/"+want.String() {
				t.Fatalf("redirect to %q (node %q), not a node's /ipfs/ URL", loc, resp.Header.Get("X-Dstor-Node"))
			}
			if to.Region != n.Options.Regions[0] {
				t.Errorf("redirected to %s, want a node in %s", to.Name, n.Options.Regions[0])
			}

			etag := `"` + want.String() + `"`
			resp, body = do(t, hc, http.MethodGet, loc, nil)
			if resp.StatusCode != http.StatusOK || !bytes.Equal(body, data) {
				t.Fatalf("node read: %s, %d bytes, equal %v", resp.Status, len(body), bytes.Equal(body, data))
			}
			if got := resp.Header.Get("ETag"); got != etag {
				t.Errorf("ETag %q, want %q", got, etag)
			}
			if !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
				t.Errorf("Cache-Control %q, want immutable", resp.Header.Get("Cache-Control"))
			}

			resp, body = do(t, hc, http.MethodHead, loc, nil)
			if resp.StatusCode != http.StatusOK || len(body) != 0 {
				t.Errorf("HEAD: %s with %d body bytes", resp.Status, len(body))
			}
			if resp.ContentLength != int64(len(data)) || resp.Header.Get("ETag") != etag {
				t.Errorf("HEAD: Content-Length %d, ETag %q; want %d, %q", resp.ContentLength, resp.Header.Get("ETag"), len(data), etag)
			}

			resp, body = do(t, hc, http.MethodGet, loc, nil, "If-None-Match", etag)
			if resp.StatusCode != http.StatusNotModified || len(body) != 0 {
				t.Errorf("If-None-Match: %s with %d body bytes, want 304 and none", resp.Status, len(body))
			}

			resp, body = do(t, hc, http.MethodGet, loc, nil, "Range", "bytes=100-199")
			if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, data[100:200]) {
				t.Errorf("Range: %s, %d bytes, equal %v", resp.Status, len(body), bytes.Equal(body, data[100:200]))
			}

			// The HTTP/3 client follows the redirect to the node over HTTP/3.
			resp, body = do(t, h3, http.MethodGet, n.GatewayURL+"/ipfs/"+want.String(), nil)
			if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 3 || !bytes.Equal(body, data) {
				t.Errorf("HTTP/3 read: %s over %s, equal %v", resp.Status, resp.Proto, bytes.Equal(body, data))
			}

			resp, body = do(t, hc, http.MethodGet, n.GatewayURL+"/ipfs/"+want.String()+"?redirect=0", nil)
			if resp.StatusCode != http.StatusOK || !bytes.Equal(body, data) {
				t.Errorf("proxied read: %s, equal %v", resp.Status, bytes.Equal(body, data))
			}
		})
	}
}

func TestPeerFetch(t *testing.T) {
	n := Start(t, Options{})
	hc := n.HTTPClient()
	wc := n.WireClient(t)

	t.Run("one reader", func(t *testing.T) {
		data := blob(10, 1<<20+5)
		id := MustParse(t, n.Upload(t, data).CID)
		holders, others := n.Holders(t, id.String())
		nd := others[0]
		if nd.HasOnDisk(id) {
			t.Fatalf("non-holder %s already has the blob", nd.Name)
		}
		resp, body := do(t, hc, http.MethodGet, nd.URL()+"/ipfs/"+id.String(), nil)
		if resp.StatusCode != http.StatusOK || !bytes.Equal(body, data) {
			t.Fatalf("read from non-holder: %s, %d bytes, equal %v: %.200s", resp.Status, len(body), bytes.Equal(body, data), body)
		}
		// The reader streams verified bytes while the fetch runs; the
		// commit to disk follows the last byte.
		waitFor(t, "the fetched blob kept on disk", func() bool { return nd.HasOnDisk(id) })
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		has, err := wc.Has(ctx, nd.Target(), id)
		if err != nil || !has.Has || has.Size != int64(len(data)) {
			t.Errorf("OpHas on %s: %+v, %v; want has %d bytes", nd.Name, has, err, len(data))
		}
		// A peer fetch keeps a copy but does not make the node a holder.
		after, _ := n.Holders(t, id.String())
		if len(after) != len(holders) {
			t.Errorf("holders changed from %d to %d after a peer fetch", len(holders), len(after))
		}
		for _, h := range after {
			if h == nd {
				t.Errorf("the registry lists %s as a holder after a peer fetch", nd.Name)
			}
		}
		waitFor(t, "the peer fetch to be logged", func() bool { return n.Logged(nd.Name, "fetched blob from peer", "cid", id.String()) > 0 })
		if c := n.Logged(nd.Name, "fetched blob from peer", "cid", id.String()); c != 1 {
			t.Errorf("%s logged %d peer fetches of %s, want 1", nd.Name, c, id)
		}
	})

	t.Run("16 concurrent readers", func(t *testing.T) {
		data := blob(11, 512<<10+3)
		id := MustParse(t, n.Upload(t, data).CID)
		_, others := n.Holders(t, id.String())
		nd := others[len(others)-1]
		c := n.HTTP3Client()
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Go(func() {
				cl := c
				if i%2 == 1 {
					cl = hc
				}
				req, _ := http.NewRequest(http.MethodGet, nd.URL()+"/ipfs/"+id.String(), nil)
				resp, err := cl.Do(req)
				if err != nil {
					t.Errorf("reader %d: %v", i, err)
					return
				}
				defer resp.Body.Close()
				body, err := io.ReadAll(resp.Body)
				if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(body, data) {
					t.Errorf("reader %d: %s, %d bytes, %v, equal %v", i, resp.Status, len(body), err, bytes.Equal(body, data))
				}
			})
		}
		wg.Wait()
		waitFor(t, "the peer fetch to be logged", func() bool { return n.Logged(nd.Name, "fetched blob from peer", "cid", id.String()) > 0 })
		if c := n.Logged(nd.Name, "fetched blob from peer", "cid", id.String()); c != 1 {
			t.Errorf("%s logged %d peer fetches of %s for 16 readers, want 1", nd.Name, c, id)
		}
	})

	t.Run("unknown cid", func(t *testing.T) {
		id := cid.Sum([]byte("never uploaded"))
		resp, body := do(t, hc, http.MethodGet, n.Nodes[0].URL()+"/ipfs/"+id.String(), nil)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("read of an unknown cid: %s, want 404: %s", resp.Status, body)
		}
	})
}

func TestStoppedNode(t *testing.T) {
	n := Start(t, Options{})
	hc := n.HTTPClient()
	region := n.Options.Regions[0]
	data := blob(20, 200<<10)
	id := MustParse(t, n.Upload(t, data).CID)
	holders, _ := n.Holders(t, id.String())
	var stopped, alt *Node
	for _, h := range holders {
		if h.Region == region {
			stopped = h
		}
	}
	for _, nd := range n.Nodes {
		if nd.Region == region && nd != stopped {
			alt = nd
		}
	}
	if stopped == nil || alt == nil {
		t.Fatalf("no holder (%v) or other node (%v) in %s", stopped, alt, region)
	}

	start := time.Now()
	stopped.Stop()
	n.WaitFor(t, stopped.Name+" down", func(s map[string]string) bool { return s[stopped.ID()] == "down" })
	took, limit := time.Since(start), 15*n.Options.ProbeInterval
	t.Logf("%s reported down %v after Stop", stopped.Name, took)
	if took > limit {
		t.Errorf("%s reported down after %v, want within %v (probe interval %v)", stopped.Name, took, limit, n.Options.ProbeInterval)
	}
	n.WaitLive(t, len(n.Nodes)-1)

	for range 10 {
		resp, body := do(t, hc, http.MethodGet, n.GatewayURL+"/ipfs/"+id.String(), nil)
		if resp.StatusCode != http.StatusTemporaryRedirect {
			t.Fatalf("gateway read: %s: %s", resp.Status, body)
		}
		if got := resp.Header.Get("X-Dstor-Node"); got != alt.ID() {
			t.Fatalf("redirected to %s, want %s (%s, the live node in %s)", got, alt.ID(), alt.Name, region)
		}
	}
	resp, body := do(t, hc, http.MethodGet, alt.URL()+"/ipfs/"+id.String(), nil)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, data) {
		t.Errorf("read with the region's holder stopped: %s, equal %v: %.200s", resp.Status, bytes.Equal(body, data), body)
	}
	resp, body = do(t, hc, http.MethodGet, n.GatewayURL+"/ipfs/"+id.String()+"?redirect=0", nil)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, data) || resp.Header.Get("X-Dstor-Node") == stopped.ID() {
		t.Errorf("proxied read: %s from %s, equal %v", resp.Status, resp.Header.Get("X-Dstor-Node"), bytes.Equal(body, data))
	}

	// New uploads go to the live nodes only.
	id2 := MustParse(t, n.Upload(t, blob(21, 1000)).CID)
	holders2, _ := n.Holders(t, id2.String())
	for _, h := range holders2 {
		if h == stopped {
			t.Errorf("upload placed a replica on the stopped node %s", h.Name)
		}
	}
	if len(holders2) != 3 {
		t.Errorf("upload with one node down has %d holders, want 3", len(holders2))
	}
}

// corrupt flips one byte in the middle of nd's copy of id.
func corrupt(t *testing.T, nd *Node, id cid.CID) {
	t.Helper()
	p := nd.BlobPath(id)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptPeer(t *testing.T) {
	// Four regions of one node, two replicas: every blob has two holders
	// and two non-holders, so corrupting holders needs no stopped node.
	n := Start(t, Options{Regions: []string{"r1", "r2", "r3", "r4"}, NodesPerRegion: 1, Writes: 2})
	hc := n.HTTPClient()
	const size = 5*16<<10 + 100 // several Bao chunk groups

	t.Run("one corrupt holder is skipped", func(t *testing.T) {
		data := blob(30, size)
		id := MustParse(t, n.Upload(t, data).CID)
		holders, others := n.Holders(t, id.String())
		bad, good := holders[0], holders[1]
		corrupt(t, bad, id)
		nd := others[0]
		resp, body := do(t, hc, http.MethodGet, nd.URL()+"/ipfs/"+id.String(), nil)
		if resp.StatusCode != http.StatusOK || !bytes.Equal(body, data) {
			t.Fatalf("read from non-holder: %s, equal %v: %.200s", resp.Status, bytes.Equal(body, data), body)
		}
		waitFor(t, "the fetch from the good holder to complete", func() bool {
			return n.Logged(nd.Name, "fetched blob from peer", "cid", id.String(), "peer", good.ID()) == 1
		})
	})

	t.Run("only corrupt copies", func(t *testing.T) {
		data := blob(31, size)
		id := MustParse(t, n.Upload(t, data).CID)
		holders, others := n.Holders(t, id.String())
		for _, h := range holders {
			corrupt(t, h, id)
		}
		for _, nd := range others {
			for range 2 {
				resp, body := do(t, hc, http.MethodGet, nd.URL()+"/ipfs/"+id.String(), nil)
				if resp.StatusCode == http.StatusOK {
					t.Fatalf("%s served %d bytes (equal %v) although every copy is corrupt", nd.Name, len(body), bytes.Equal(body, data))
				}
				if resp.StatusCode != http.StatusBadGateway && resp.StatusCode != http.StatusNotFound {
					t.Errorf("%s answered %s, want 502 or 404: %s", nd.Name, resp.Status, body)
				}
			}
			if nd.HasOnDisk(id) {
				t.Errorf("%s kept a copy that fails verification", nd.Name)
			}
			if c := n.Logged(nd.Name, "peer fetch failed", "cid", id.String()); c < len(holders) {
				t.Errorf("%s logged %d failed peer fetches, want at least %d", nd.Name, c, len(holders))
			}
		}
	})
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: gave up after 10 s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
