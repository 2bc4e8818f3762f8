package cluster

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"dstor/auditd/audit"
	"dstor/shared/api"
	"dstor/shared/cid"
)

func (r *reflection) audits(node string) api.AuditsResponse {
	r.t.Helper()
	resp, body := r.get("/v1/nodes/"+node+"/audits?limit=1000", nil)
	if resp.StatusCode != http.StatusOK {
		r.t.Fatalf("GET audits of %s: %s %s", node, resp.Status, body)
	}
	var ar api.AuditsResponse
	if err := json.Unmarshal(body, &ar); err != nil {
		r.t.Fatal(err)
	}
	return ar
}

// waitPinned polls the pin until it has want pinned holders, none of them
// in skip, and returns it.
func (r *reflection) waitPinned(id string, want int, limit time.Duration, skip map[string]bool) api.PinResponse {
	r.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		pr := r.pin(id)
		n := 0
		for _, h := range pr.Holders {
			if h.Status == "pinned" && !skip[h.ID] {
				n++
			}
		}
		if n >= want {
			return pr
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("pin %s: %d of %d pinned holders after %v: %+v", id, n, want, limit, pr)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// blobFile is where node p keeps blob id (noded/store's layout).
func blobFile(p *Proc, id string) string {
	c, _ := cid.Parse(id)
	d := c.Digest()
	return filepath.Join(p.Dir, "store", "blobs", fmt.Sprintf("%02x", d[0]), fmt.Sprintf("%02x", d[1]), fmt.Sprintf("%x", d[:]))
}

// TestAuditLossyNode: a node that deletes 5 % of its blobs is detected,
// disqualified near the audit count the reputation model predicts, and
// its pins are repaired back to R on other nodes; no honest node fails.
func TestAuditLossyNode(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the daemons")
	}
	r := startReflection(t, Config{
		Regions:        []string{"r1", "r2", "r3", "r4", "r5"},
		NodesPerRegion: 2,
		ProbeInterval:  time.Second,
		GatewayArgs:    []string{"-writes", "3", "-replicas", "8"},
		NodeArgs:       []string{"-cache-bytes", "-1"},
	})
	const blobs = 100
	var cids []string
	sizes := map[string]int{}
	for i := range blobs {
		size := 4<<10 + i*1000
		id, _ := r.put(size)
		cids = append(cids, id)
		sizes[id] = size
	}
	for _, id := range cids {
		r.waitPinned(id, 8, time.Minute, nil)
	}
	// The lossy node: the one holding the most, losing 5 % of its blobs.
	ids := r.nodeIDs()
	held := map[string][]string{}
	for _, id := range cids {
		for _, h := range r.pin(id).Holders {
			held[h.ID] = append(held[h.ID], id)
		}
	}
	lossy := ""
	for node, cs := range held {
		if lossy == "" || len(cs) > len(held[lossy]) {
			lossy = node
		}
	}
	var heldBytes, lostBytes int
	for i, id := range held[lossy] {
		heldBytes += sizes[id]
		if i%20 == 0 {
			if err := os.Remove(blobFile(ids[lossy], id)); err != nil {
				t.Fatal(err)
			}
			lostBytes += sizes[id]
		}
	}
	p := float64(lostBytes) / float64(heldBytes)
	predicted := audit.Model{}.ExpectedAuditsToDisqualify(p)
	t.Logf("node %s lost %d of %d blobs (%.1f %% of its bytes); the model predicts disqualification after %d audits", lossy, (len(held[lossy])+19)/20, len(held[lossy]), 100*p, predicted)

	if _, err := r.c.StartAuditor("auditor-0", "-rate", "1500", "-parallel", "64", "-repair-threshold", "1", "-repair-interval", "2s"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(4 * time.Minute)
	var ar api.AuditsResponse
	for {
		ar = r.audits(lossy)
		if ar.Reputation.Status == "disqualified" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lossy node not disqualified: %+v", ar.Reputation)
		}
		time.Sleep(500 * time.Millisecond)
	}
	rep := ar.Reputation
	t.Logf("disqualified after %d audits (%d failed): %s", rep.Audits, rep.Fails, rep.StatusReason)
	if rep.Audits < int64(predicted)/2 || rep.Audits > int64(predicted)*2 {
		t.Errorf("disqualified after %d audits, far from the model's %d", rep.Audits, predicted)
	}
	for node := range ids {
		if node == lossy {
			continue
		}
		if rep := r.audits(node).Reputation; rep.Status != "active" || rep.Fails != 0 {
			t.Errorf("honest node %s: %+v", node, rep)
		}
	}
	// Every pin the lossy node held is back to R without it.
	for _, id := range held[lossy] {
		r.waitPinned(id, 8, 3*time.Minute, map[string]bool{lossy: true})
	}
}

// TestAuditKilledHolders: kill -9 of 4 of a blob's 16 holders; the blob
// is back to 16 verified holders within 5 minutes, and reads never fail
// meanwhile.
func TestAuditKilledHolders(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the daemons")
	}
	r := startReflection(t, Config{
		Regions:        []string{"r1", "r2", "r3", "r4"},
		NodesPerRegion: 5,
		ProbeInterval:  time.Second,
		GatewayArgs:    []string{"-writes", "3", "-replicas", "16"},
		NodeArgs:       []string{"-cache-bytes", "-1"},
		Auditors:       1,
		AuditorArgs:    []string{"-repair-threshold", "1", "-repair-interval", "2s", "-offline-grace", "5s"},
	})
	id, data := r.put(1<<20 + 3)
	pr := r.waitPinned(id, 16, time.Minute, nil)

	// Readers through the gateway, all along.
	stop := make(chan struct{})
	failures := make(chan string, 1000)
	done := make(chan int)
	go func() {
		reads := 0
		defer func() { done <- reads }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			resp, err := r.hc.Get(r.c.Env.Gateway + "/ipfs/" + id + "?redirect=0")
			if err != nil {
				failures <- err.Error()
				continue
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(got, data) {
				failures <- fmt.Sprintf("%s, %d bytes, %v", resp.Status, len(got), err)
			}
			reads++
			time.Sleep(50 * time.Millisecond)
		}
	}()

	ids := r.nodeIDs()
	killed := map[string]bool{}
	for _, h := range pr.Holders {
		if len(killed) == 4 {
			break
		}
		for i, p := range r.c.Nodes {
			if p == ids[h.ID] {
				if err := r.c.Kill(i); err != nil {
					t.Fatal(err)
				}
				killed[h.ID] = true
			}
		}
	}
	start := time.Now()
	r.waitPinned(id, 16, 5*time.Minute, killed)
	t.Logf("back to 16 live holders %v after killing 4", time.Since(start).Round(time.Second))
	close(stop)
	reads := <-done
	close(failures)
	n := 0
	for f := range failures {
		if n < 5 {
			t.Errorf("read failed: %s", f)
		}
		n++
	}
	if n > 0 || reads == 0 {
		t.Errorf("%d of %d reads failed", n, reads)
	}
	// Every live holder serves the blob, verified.
	for _, h := range r.pin(id).Holders {
		if h.Status != "pinned" || killed[h.ID] {
			continue
		}
		resp, err := r.hc.Get(h.URL + "/ipfs/" + id)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !bytes.Equal(got, data) {
			t.Errorf("holder %s serves %d bytes", h.ID, len(got))
		}
	}
}

// TestAuditPausedNode: SIGSTOP of a node for 90 s, then SIGCONT: it is not
// counted as failing and is not suspended. The auditor runs flat out
// meanwhile, and goes on until the honest nodes have had 100,000 audits:
// none of them fails or is disqualified.
func TestAuditPausedNode(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the daemons")
	}
	r := startReflection(t, Config{
		Regions:        []string{"r1", "r2"},
		NodesPerRegion: 2,
		ProbeInterval:  time.Second,
		GatewayArgs:    []string{"-replicas", "4"},
		Auditors:       1,
		AuditorArgs:    []string{"-rate", "3000", "-parallel", "64"},
	})
	for i := range 20 {
		r.put(8<<10 + i*4096)
	}
	time.Sleep(3 * time.Second)
	victim, err := r.c.Nodes[0].ID()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.c.Pause(0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(90 * time.Second)
	paused := r.audits(victim).Reputation
	if err := r.c.Resume(0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Second)
	rep := r.audits(victim).Reputation
	t.Logf("paused node after 90 s stopped and 10 s back: %+v", rep)
	if rep.Fails != 0 || rep.Status != "active" || rep.Score < 1 {
		t.Errorf("a paused node was counted as failing: %+v", rep)
	}
	if rep.Offline+rep.Timeouts == 0 {
		t.Errorf("no audit saw the pause: %+v", rep)
	}
	if rep.Passes <= paused.Passes || rep.Contained != "" {
		t.Errorf("the node is not audited again after SIGCONT: %+v", rep)
	}

	// 100,000 audits of honest nodes: no failure, no disqualification.
	deadline := time.Now().Add(8 * time.Minute)
	for {
		var total int64
		var reps []api.Reputation
		for _, p := range r.c.Nodes {
			id, _ := p.ID()
			rep := r.audits(id).Reputation
			total += rep.Audits
			reps = append(reps, rep)
		}
		if total >= 100000 {
			t.Logf("%d audits of honest nodes", total)
			for _, rep := range reps {
				if rep.Fails != 0 || rep.Status != "active" {
					t.Errorf("an honest node failed: %+v", rep)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d audits in the time allowed", total)
		}
		time.Sleep(2 * time.Second)
	}
}
