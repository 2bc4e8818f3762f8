package cluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"dstor/shared/api"
	"dstor/shared/latency"
)

// reflection is a process cluster and a client that reads redirects
// without following them.
type reflection struct {
	*e2e
	noFollow *http.Client
}

func startReflection(t *testing.T, cfg Config) *reflection {
	t.Helper()
	cfg.Bin = buildBinaries(t)
	cfg.Dir = t.TempDir()
	cfg.Gateway = "127.0.0.1:" + strconv.Itoa(freePort(t))
	cfg.Logs = testLog{t}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	hc, err := c.HTTPClient()
	if err != nil {
		t.Fatal(err)
	}
	nf, err := c.HTTPClient()
	if err != nil {
		t.Fatal(err)
	}
	nf.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &reflection{e2e: &e2e{t: t, c: c, hc: hc}, noFollow: nf}
}

// put uploads size random bytes and returns the CID.
func (r *reflection) put(size int) (string, []byte) {
	r.t.Helper()
	data := make([]byte, size)
	rand.Read(data)
	resp, br := r.upload(bytes.NewReader(data), r.c.Env.APIKey)
	if resp.StatusCode != http.StatusCreated {
		r.t.Fatalf("upload: %s", resp.Status)
	}
	return br.CID, data
}

// choice asks the gateway where to read cid: the node id and region.
func (r *reflection) choice(cid string) (node, region string) {
	r.t.Helper()
	resp, err := r.noFollow.Get(r.c.Env.Gateway + "/ipfs/" + cid)
	if err != nil {
		r.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect {
		r.t.Fatalf("GET /ipfs/%s: %s, want 307", cid, resp.Status)
	}
	return resp.Header.Get("X-Dstor-Node"), resp.Header.Get("X-Dstor-Region")
}

func (r *reflection) pin(cid string) api.PinResponse {
	r.t.Helper()
	resp, body := r.get("/v1/pins/"+cid, nil)
	if resp.StatusCode != http.StatusOK {
		r.t.Fatalf("GET /v1/pins/%s: %s %s", cid, resp.Status, body)
	}
	var pr api.PinResponse
	if err := json.Unmarshal(body, &pr); err != nil {
		r.t.Fatal(err)
	}
	return pr
}

func (r *reflection) metric(name string) float64 {
	r.t.Helper()
	_, body := r.get("/metrics", nil)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				r.t.Fatal(err)
			}
			return f
		}
	}
	r.t.Fatalf("no metric %s", name)
	return 0
}

// nodeIDs maps the cluster's node processes to their ids.
func (r *reflection) nodeIDs() map[string]*Proc {
	r.t.Helper()
	out := map[string]*Proc{}
	for _, p := range r.c.Nodes {
		id, err := p.ID()
		if err != nil {
			r.t.Fatal(err)
		}
		out[id] = p
	}
	return out
}

// TestReflectionNearestRegion puts three regions 5, 40 and 120 ms from the
// client (and from the gateway, which stands where its clients are, in a
// region of its own with no nodes): reads go to the 5 ms region's best
// node, and to the 40 ms region once the 5 ms region's nodes are stopped.
func TestReflectionNearestRegion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the daemons")
	}
	const ms = time.Millisecond
	r := startReflection(t, Config{
		Regions:        []string{"near", "mid", "far"},
		NodesPerRegion: 2,
		ProbeInterval:  time.Second,
		GatewayArgs:    []string{"-region", "edge", "-replicas", "3"},
		Latency: &latency.World{Outside: map[string]latency.Profile{
			"near": {Delay: 5 * ms, Jitter: 1 * ms},
			"mid":  {Delay: 40 * ms, Jitter: 4 * ms},
			"far":  {Delay: 120 * ms, Jitter: 10 * ms},
		}},
	})
	ids := r.nodeIDs()
	cid, data := r.put(64 << 10)
	// Let the smoothed RTTs settle over a few probes.
	time.Sleep(3 * time.Second)

	const reads = 1000
	perNode := map[string]int{}
	for range reads {
		node, region := r.choice(cid)
		if p := ids[node]; p == nil || p.Region != region {
			t.Fatalf("redirect to unknown node %q in %q", node, region)
		}
		perNode[node]++
	}
	best, bestN := "", 0
	for id, k := range perNode {
		if k > bestN {
			best, bestN = id, k
		}
	}
	t.Logf("1000 reads: %v (best %s in %s)", perNode, best, ids[best].Region)
	if ids[best].Region != "near" || bestN < reads*95/100 {
		t.Errorf("the near region's best node got %d of %d reads (%s in %s), want >= 95 %%", bestN, reads, best, ids[best].Region)
	}
	if resp, got := r.get("/ipfs/"+cid, nil); resp.StatusCode != http.StatusOK || !bytes.Equal(got, data) {
		t.Fatalf("read through the chosen node: %s, %d bytes", resp.Status, len(got))
	}

	// Stop the near region: reads move to the next nearest, mid.
	for i, p := range r.c.Nodes {
		if p.Region == "near" {
			if err := r.c.Pause(i); err != nil {
				t.Fatal(err)
			}
		}
	}
	time.Sleep(2 * time.Second) // two probe intervals
	regions := map[string]int{}
	for range 100 {
		_, region := r.choice(cid)
		regions[region]++
	}
	if regions["mid"] != 100 {
		t.Errorf("with the near region stopped, reads went to %v, want all to mid", regions)
	}
	if resp, got := r.get("/ipfs/"+cid, nil); resp.StatusCode != http.StatusOK || !bytes.Equal(got, data) {
		t.Fatalf("read with the near region stopped: %s, %d bytes", resp.Status, len(got))
	}
}

// TestReflectionStoppedNode stops (SIGSTOP) the node being chosen: within
// two probe intervals no read goes to it; after SIGCONT it is re-admitted
// and serves again.
func TestReflectionStoppedNode(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the daemons")
	}
	const interval = time.Second
	r := startReflection(t, Config{
		Regions:        []string{"r1", "r2"},
		NodesPerRegion: 2,
		ProbeInterval:  interval,
		GatewayArgs:    []string{"-replicas", "4"},
	})
	ids := r.nodeIDs()
	cid, data := r.put(32 << 10)
	chosen, _ := r.choice(cid)
	victim := ids[chosen]
	vi := -1
	for i, p := range r.c.Nodes {
		if p == victim {
			vi = i
		}
	}
	if err := r.c.Pause(vi); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	late := 0
	for time.Since(stopped) < 4*interval {
		node, _ := r.choice(cid)
		if node == chosen && time.Since(stopped) > 2*interval {
			late++
		}
		time.Sleep(10 * time.Millisecond)
	}
	if late > 0 {
		t.Errorf("%d reads sent to the stopped node more than two probe intervals after SIGSTOP", late)
	}
	if resp, got := r.get("/ipfs/"+cid, nil); resp.StatusCode != http.StatusOK || !bytes.Equal(got, data) {
		t.Fatalf("read while the node is stopped: %s, %d bytes", resp.Status, len(got))
	}

	if err := r.c.Resume(vi); err != nil {
		t.Fatal(err)
	}
	resumed := time.Now()
	// Re-admitted gradually: up again with its availability climbing
	// from low, not at full rank at once.
	var first float64 = -1
	for {
		nodes, err := r.c.NodesView()
		if err != nil {
			t.Fatal(err)
		}
		var me api.Node
		for _, n := range nodes {
			if n.ID == chosen {
				me = n
			}
		}
		if me.State == "up" && first < 0 {
			first = me.Availability
		}
		if me.State == "up" && me.Availability >= 0.9 {
			break
		}
		if time.Since(resumed) > 60*interval {
			t.Fatalf("the resumed node is not usable again: %+v", me)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("up again with availability %.2f, at 0.9 after %v", first, time.Since(resumed).Round(100*time.Millisecond))
	if first >= 0.9 {
		t.Errorf("the resumed node came back at availability %.2f: at once, not gradually", first)
	}
	// It serves again: with the other node of its region stopped, reads
	// go to it.
	for i, p := range r.c.Nodes {
		if p.Region == victim.Region && p != victim {
			if err := r.c.Pause(i); err != nil {
				t.Fatal(err)
			}
			defer r.c.Resume(i)
		}
	}
	deadline := time.Now().Add(10 * interval)
	for {
		if node, _ := r.choice(cid); node == chosen {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the resumed node is not chosen even with its region's other node stopped")
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp, got := r.get("/ipfs/"+cid, nil)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, data) {
		t.Fatalf("read from the resumed node: %s, %d bytes", resp.Status, len(got))
	}
}

// TestReflectionPlacement uploads with R=16 on 20 nodes in 4 regions: the
// pin reaches "pinned" with 16 distinct holders spread over every region,
// and the gateway sent at most W+1 copies of the bytes.
func TestReflectionPlacement(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the daemons")
	}
	r := startReflection(t, Config{
		Regions:        []string{"r1", "r2", "r3", "r4"},
		NodesPerRegion: 5,
		ProbeInterval:  time.Second,
		GatewayArgs:    []string{"-writes", "3", "-replicas", "16"},
		NodeArgs:       []string{"-cache-bytes", "-1"},
	})
	ids := r.nodeIDs()
	before := r.metric("dstor_gateway_replica_bytes_sent_total")
	const size = 8 << 20
	cid, data := r.put(size)
	deadline := time.Now().Add(2 * time.Minute)
	var pr api.PinResponse
	for {
		pr = r.pin(cid)
		if pr.Status == "pinned" || pr.Status == "failed" || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if pr.Status != "pinned" || pr.Replicas != 16 || pr.Pinned != 16 {
		t.Fatalf("pin %s: %+v; want pinned with 16 of 16", cid, pr)
	}
	regions := map[string]int{}
	for _, h := range pr.Holders {
		if h.Status == "pinned" {
			regions[h.Region]++
			if ids[h.ID] == nil {
				t.Errorf("holder %s is not a node of the cluster", h.ID)
			}
		}
	}
	if len(regions) != 4 {
		t.Errorf("holders by region %v, want every region", regions)
	}
	sent := r.metric("dstor_gateway_replica_bytes_sent_total") - before
	t.Logf("gateway sent %.2f copies; holders by region %v", sent/size, regions)
	if sent > 4*size {
		t.Errorf("gateway sent %.0f bytes (%.2f copies), want at most W+1 = 4", sent, sent/size)
	}
	// Every holder serves it, verified.
	for _, h := range pr.Holders {
		resp, err := r.hc.Get(h.URL + "/ipfs/" + cid)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.Equal(got, data) {
			t.Errorf("holder %s (%s): %s, %d bytes", h.ID, h.Region, resp.Status, len(got))
		}
	}
}
