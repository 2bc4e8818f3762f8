package testnet

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go/http3"

	"dstor/shared/api"
	"dstor/shared/cid"
	"dstor/shared/identity"
	"dstor/shared/registry"
	"dstor/shared/wire"
)

// clientTimeout bounds one request of the test clients.
const clientTimeout = 30 * time.Second

func (n *Net) tlsConfig() *tls.Config {
	return &tls.Config{RootCAs: n.pool, MinVersion: tls.VersionTLS13}
}

// HTTPClient returns an HTTPS (TCP) client that trusts the network's CA
// and does not follow redirects, so tests see the gateway's 307.
func (n *Net) HTTPClient() *http.Client {
	tr := &http.Transport{TLSClientConfig: n.tlsConfig(), ForceAttemptHTTP2: true}
	n.t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{
		Transport: tr,
		Timeout:   clientTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// HTTP3Client returns an HTTP/3 client that trusts the network's CA; it
// follows redirects, so a read through the gateway lands on a node.
func (n *Net) HTTP3Client() *http.Client {
	tr := &http3.Transport{TLSClientConfig: n.tlsConfig()}
	n.t.Cleanup(func() { tr.Close() })
	return &http.Client{Transport: tr, Timeout: clientTimeout}
}

// WireClient returns a dstor/1 client with a fresh auditor identity issued
// by the network's CA, for asking nodes directly (OpHas, OpGet, ...).
func (n *Net) WireClient(t testing.TB) *wire.Client {
	t.Helper()
	return n.WireClientAs(t, identity.RoleAuditor)
}

// WireClientAs is WireClient with a fresh identity of the given role (a
// gateway's may store blobs).
func (n *Net) WireClientAs(t testing.TB, role identity.Role) *wire.Client {
	t.Helper()
	ca, err := identity.LoadOrCreateCA(filepath.Join(n.GatewayDir, "ca"))
	if err != nil {
		t.Fatal(err)
	}
	cert, _, err := ca.NewIdentity(role, []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	c := wire.NewClient(cert, ca.Pool())
	t.Cleanup(func() { c.Close() })
	return c
}

// Target is how a wire.Client reaches nd.
func (nd *Node) Target() wire.Target {
	return wire.Target{Addr: nd.URL()[len("https://"):], Peer: identity.Peer{Role: identity.RoleNode, ID: nd.ID()}}
}

// Upload stores data through the gateway over HTTPS and fails the test
// unless the gateway answers 201 or 200.
func (n *Net) Upload(t testing.TB, data []byte) api.BlobResponse {
	t.Helper()
	return n.UploadWith(t, n.https, data)
}

// UploadWith is Upload through c.
func (n *Net) UploadWith(t testing.TB, c *http.Client, data []byte) api.BlobResponse {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, n.GatewayURL+"/v1/blobs", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+n.APIKey)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		t.Fatalf("upload: %s: %s", resp.Status, body)
	}
	var br api.BlobResponse
	if err := json.Unmarshal(body, &br); err != nil {
		t.Fatalf("upload: %v in %q", err, body)
	}
	return br
}

// getJSON GETs a gateway path and decodes a 200 answer into v.
func (n *Net) getJSON(path string, v any) error { return n.getJSONAs(path, "", v) }

// getJSONAs is getJSON with API key key (none if empty).
func (n *Net) getJSONAs(path, key string, v any) error {
	req, err := http.NewRequest(http.MethodGet, n.GatewayURL+path, nil)
	if err != nil {
		return err
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := n.https.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, body)
	}
	return json.Unmarshal(body, v)
}

// NodeStates returns GET /v1/nodes as id -> state ("up" or "down").
func (n *Net) NodeStates(t testing.TB) map[string]string {
	t.Helper()
	var nr api.NodesResponse
	if err := n.getJSON("/v1/nodes", &nr); err != nil {
		t.Fatal(err)
	}
	out := make(map[string]string, len(nr.Nodes))
	for _, nd := range nr.Nodes {
		out[nd.ID] = nd.State
	}
	return out
}

// WaitLive polls GET /v1/nodes until exactly count nodes are up.
func (n *Net) WaitLive(t testing.TB, count int) {
	t.Helper()
	n.WaitFor(t, fmt.Sprintf("%d nodes up", count), func(states map[string]string) bool {
		up := 0
		for _, s := range states {
			if s == "up" {
				up++
			}
		}
		return up == count
	})
}

// WaitFor polls GET /v1/nodes until cond holds of the node states, failing
// the test after 50 probe intervals (at least 10 s).
func (n *Net) WaitFor(t testing.TB, what string, cond func(states map[string]string) bool) {
	t.Helper()
	deadline := time.Now().Add(max(50*n.Options.ProbeInterval, 10*time.Second))
	for {
		states := n.NodeStates(t)
		if cond(states) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: node states %v", what, states)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Pin returns GET /v1/pins/{cid}.
func (n *Net) Pin(t testing.TB, id string) api.PinResponse {
	t.Helper()
	var pr api.PinResponse
	if err := n.getJSON("/v1/pins/"+id, &pr); err != nil {
		t.Fatal(err)
	}
	return pr
}

// Holders returns the nodes that the registry lists as holders of id, and
// the others.
func (n *Net) Holders(t testing.TB, id string) (holders, others []*Node) {
	t.Helper()
	in := map[string]bool{}
	for _, h := range n.Pin(t, id).Holders {
		if h.Status == registry.StatusPinned {
			in[h.ID] = true
		}
	}
	for _, nd := range n.Nodes {
		if in[nd.ID()] {
			holders = append(holders, nd)
		} else {
			others = append(others, nd)
		}
	}
	if len(holders) != len(in) {
		t.Fatalf("pin %s lists holders %v that are not in the network", id, in)
	}
	return holders, others
}

// Metric returns the value of an unlabelled counter or gauge from the
// gateway's GET /metrics.
func (n *Net) Metric(t testing.TB, name string) float64 {
	t.Helper()
	resp, err := n.https.Get(n.GatewayURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric %s: %v", name, err)
			}
			return f
		}
	}
	t.Fatalf("no metric %s in:\n%s", name, body)
	return 0
}

// WaitPin polls GET /v1/pins/{cid} until its status is one of want.
func (n *Net) WaitPin(t testing.TB, id string, timeout time.Duration, want ...string) api.PinResponse {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		pr := n.Pin(t, id)
		if slices.Contains(want, pr.Status) {
			return pr
		}
		if time.Now().After(deadline) {
			t.Fatalf("pin %s: status %q after %v, want one of %v: %+v", id, pr.Status, timeout, want, pr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// MustParse parses a CID or fails the test.
func MustParse(t testing.TB, s string) cid.CID {
	t.Helper()
	id, err := cid.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
