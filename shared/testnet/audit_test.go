package testnet

import (
	"context"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"dstor/auditd/audit"
	"dstor/shared/api"
	"dstor/shared/registry"
)

// TestAuditAndRepair runs auditd against an in-process network: honest
// holders pass and earn; a holder that lost its copy and one whose copy
// is corrupt fail at once, stop earning, and their pins are repaired back
// to R by pulls that are verified before they count (the failed copies
// stay listed and audited until their nodes are disqualified); a stopped
// node is offline, not failing.
func TestAuditAndRepair(t *testing.T) {
	n := Start(t, Options{Regions: []string{"r1", "r2", "r3", "r4"}, NodesPerRegion: 2, Writes: 3, Replicas: 5, CacheBytes: -1})
	ctx := context.Background()
	reg, err := registry.Open(ctx, n.Options.Registry)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	a := n.StartAuditor(t, "auditor", func(c *audit.Config) {
		c.Parallel = 8
		c.HardLimit = 10 * time.Second // -race on two busy cores
		c.RepairThreshold = 1          // repair any loss: R=5 has no room for 0.75
	})

	sizes := []int{5 << 10, 16<<10 + 1, 300<<10 + 7}
	var cids []string
	for i, size := range sizes {
		br := n.Upload(t, blob(uint64(100+i), size))
		n.WaitPin(t, br.CID, 30*time.Second, registry.StatusPinned)
		cids = append(cids, br.CID)
	}
	targets := func(id string) []registry.AuditTarget {
		t.Helper()
		pin, err := reg.Pin(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var out []registry.AuditTarget
		for _, h := range pin.Holders {
			if h.Status == registry.StatusPinned {
				out = append(out, registry.AuditTarget{CID: id, Size: pin.Size, NodeID: h.NodeID, Region: h.Region, URL: h.URL})
			}
		}
		return out
	}

	t.Run("honest holders pass and earn", func(t *testing.T) {
		for _, id := range cids {
			for _, v := range a.AuditTargets(ctx, targets(id)) {
				if v.Outcome != registry.AuditPass {
					t.Errorf("%s on %s: %s (%s)", id, v.Target.NodeID, v.Outcome, v.Reason)
				}
			}
		}
		tg := targets(cids[2])[0]
		// The pin shows its copies' latest audits.
		pr := n.Pin(t, cids[2])
		if pr.LastAudit == "" {
			t.Errorf("pin %s shows no last audit: %+v", cids[2], pr)
		}
		for _, h := range pr.Holders {
			if h.Status == registry.StatusPinned && (h.LastOutcome != registry.AuditPass || h.LastAudit == "") {
				t.Errorf("holder %s of %s: last audit %q, outcome %q; want a pass", h.ID, cids[2], h.LastAudit, h.LastOutcome)
			}
		}
		e, err := reg.Earnings(ctx, tg.NodeID, time.Time{}, time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if e.ByteHours <= 0 {
			t.Errorf("holder %s earned %v byte-hours after passing", tg.NodeID, e.ByteHours)
		}
		hist, err := reg.Audits(ctx, tg.NodeID, 0, 10)
		if err != nil || len(hist) == 0 || hist[0].Outcome != registry.AuditPass || hist[0].Latency <= 0 || hist[0].Deadline <= 0 {
			t.Errorf("audit history %+v, %v", hist, err)
		}
		var er api.EarningsResponse
		if err := n.getJSON("/v1/nodes/"+tg.NodeID+"/earnings", &er); err != nil || er.ByteHours <= 0 || er.StorageUSD <= 0 {
			t.Errorf("GET earnings: %+v, %v", er, err)
		}
		var ur api.UsageResponse
		if err := n.getJSONAs("/v1/account/usage", n.APIKey, &ur); err != nil {
			t.Fatal(err)
		}
		var stored int64
		for _, size := range sizes {
			stored += int64(size)
		}
		if ur.Pins != 3 || ur.StoredBytes != stored || ur.StorageUSDPerMonth <= 0 {
			t.Errorf("GET /v1/account/usage: %+v, want 3 pins of %d bytes", ur, stored)
		}
	})

	t.Run("bytes read are paid to the node and billed to the account", func(t *testing.T) {
		tg := targets(cids[2])[0]
		node := n.NodeByID(tg.NodeID)
		// Whatever the node served before (peer pulls) is taken first.
		if err := a.Surveys.TriggerWait(ctx); err != nil {
			t.Fatal(err)
		}
		before, err := reg.Earnings(ctx, tg.NodeID, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		var usage0 api.UsageResponse
		if err := n.getJSONAs("/v1/account/usage", n.APIKey, &usage0); err != nil {
			t.Fatal(err)
		}
		read := int64(0)
		for _, rg := range []string{"", "bytes=100-199", ""} {
			req, _ := http.NewRequest(http.MethodGet, node.URL()+"/ipfs/"+tg.CID, nil)
			if rg != "" {
				req.Header.Set("Range", rg)
			}
			resp, err := n.HTTPClient().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			k, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			read += k
		}
		if want := 2*int64(sizes[2]) + 100; read != want {
			t.Fatalf("read %d bytes, want %d", read, want)
		}
		// A read the gateway proxies is a reader's too, from whichever
		// holder it picks.
		resp, err := n.HTTPClient().Get(n.GatewayURL + "/ipfs/" + tg.CID + "?redirect=0")
		if err != nil {
			t.Fatal(err)
		}
		proxied, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		fromNode := int64(0) // what tg's node sent of the proxied read
		if resp.Header.Get("X-Dstor-Node") == tg.NodeID {
			fromNode = proxied
		}
		if proxied != int64(sizes[2]) {
			t.Fatalf("proxied read: %d bytes, want %d", proxied, sizes[2])
		}
		if err := a.Surveys.TriggerWait(ctx); err != nil {
			t.Fatal(err)
		}
		after, err := reg.Earnings(ctx, tg.NodeID, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		var usage api.UsageResponse
		if err := n.getJSONAs("/v1/account/usage", n.APIKey, &usage); err != nil {
			t.Fatal(err)
		}
		if got := after.EgressBytes - before.EgressBytes; got != read+fromNode {
			t.Errorf("node credited %d bytes of egress, read %d from it, %d through the gateway", got, read, fromNode)
		}
		if got := usage.EgressBytes - usage0.EgressBytes; got != read+proxied || usage.EgressUSD <= usage0.EgressUSD {
			t.Errorf("account billed %d bytes of egress ($%g), read %d straight from a node and %d through the gateway", got, usage.EgressUSD, read, proxied)
		}
		if usage.ReplicaByteHours <= 0 {
			t.Errorf("account usage shows %v replica byte-hours after passed audits", usage.ReplicaByteHours)
		}
		// Taken once: another survey credits nothing more.
		if err := a.Surveys.TriggerWait(ctx); err != nil {
			t.Fatal(err)
		}
		if again, err := reg.Earnings(ctx, tg.NodeID, time.Time{}, time.Time{}); err != nil || again.EgressBytes != after.EgressBytes {
			t.Errorf("a second survey: %+v, %v; want egress still %d", again, err, after.EgressBytes)
		}
	})

	lost, corrupted := targets(cids[2])[0], registry.AuditTarget{}
	for _, tg := range targets(cids[1]) {
		if tg.NodeID != lost.NodeID {
			corrupted = tg // another node, so each has one failure
		}
	}
	t.Run("a lost copy and a corrupt copy fail at once", func(t *testing.T) {
		lostNode, badNode := n.NodeByID(lost.NodeID), n.NodeByID(corrupted.NodeID)
		if err := os.Remove(lostNode.BlobPath(MustParse(t, lost.CID))); err != nil {
			t.Fatal(err)
		}
		// Flip a byte in every 16 KiB group: any challenged range covers one.
		p := badNode.BlobPath(MustParse(t, corrupted.CID))
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for i := 100; i < len(b); i += 16 << 10 {
			b[i] ^= 0x5a
		}
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, tg := range []registry.AuditTarget{lost, corrupted} {
			v := a.AuditTargets(ctx, []registry.AuditTarget{tg})[0]
			if v.Outcome != registry.AuditFail {
				t.Errorf("%s on %s: %s (%s), want fail", tg.CID, tg.NodeID, v.Outcome, v.Reason)
			}
			pin, _ := reg.Pin(ctx, tg.CID)
			for _, h := range pin.Holders {
				if h.NodeID == tg.NodeID && (h.Status != registry.StatusFailed || h.LastOutcome != registry.AuditFail) {
					t.Errorf("failed replica %s: status %q last outcome %q", h.NodeID, h.Status, h.LastOutcome)
				}
			}
			rep, _ := reg.Reputation(ctx, tg.NodeID)
			if rep.Fails != 1 || rep.Status != registry.NodeActive {
				t.Errorf("reputation after one failure: %+v", rep)
			}
			var ar api.AuditsResponse
			if err := n.getJSON("/v1/nodes/"+tg.NodeID+"/audits?limit=1", &ar); err != nil {
				t.Fatal(err)
			}
			if len(ar.Audits) != 1 || ar.Audits[0].Outcome != registry.AuditFail || ar.Audits[0].Reason == "" ||
				ar.Reputation.Fails != 1 || ar.Reputation.Status != registry.NodeActive {
				t.Errorf("GET /v1/nodes/%s/audits: %+v, want the failure with its reason", tg.NodeID, ar)
			}
		}
	})

	t.Run("repair brings the pins back to R, make before break", func(t *testing.T) {
		if err := a.Repairs.TriggerWait(ctx); err != nil {
			t.Fatal(err)
		}
		for _, tg := range []registry.AuditTarget{lost, corrupted} {
			pin, _ := reg.Pin(ctx, tg.CID)
			pinned := 0
			for _, h := range pin.Holders {
				switch {
				case h.NodeID == tg.NodeID:
					// Still listed, unpaid, audited again (its node is not
					// disqualified): it must stay failed.
					if h.Status != registry.StatusFailed {
						t.Errorf("the failed copy on %s is %s after the repair", h.NodeID, h.Status)
					}
				case h.Status == registry.StatusPinned:
					pinned++
					if !n.NodeByID(h.NodeID).HasOnDisk(MustParse(t, tg.CID)) {
						t.Errorf("repaired holder %s has no copy", h.NodeID)
					}
				}
			}
			if pinned != pin.Replicas || pin.Status != registry.StatusPinned {
				t.Errorf("%s after repair: %d pinned of %d, status %s", tg.CID, pinned, pin.Replicas, pin.Status)
			}
		}
		// The new copies pass audits.
		for _, id := range []string{lost.CID, corrupted.CID} {
			for _, v := range a.AuditTargets(ctx, targets(id)) {
				if v.Outcome != registry.AuditPass {
					t.Errorf("%s on %s after repair: %s (%s)", id, v.Target.NodeID, v.Outcome, v.Reason)
				}
			}
		}
	})

	t.Run("a stopped node is offline, not failing", func(t *testing.T) {
		tg := targets(cids[0])[0]
		before, _ := reg.Reputation(ctx, tg.NodeID)
		n.NodeByID(tg.NodeID).Stop()
		for range 3 {
			v := a.AuditTargets(ctx, []registry.AuditTarget{tg})[0]
			if v.Outcome != registry.AuditOffline {
				t.Errorf("stopped node: %s (%s), want offline", v.Outcome, v.Reason)
			}
		}
		rep, _ := reg.Reputation(ctx, tg.NodeID)
		if rep.Fails != before.Fails || rep.Score() != before.Score() || rep.Offline != before.Offline+3 || rep.Status != registry.NodeActive {
			t.Errorf("a stopped node lost reputation: %+v, before %+v", rep, before)
		}
	})
}
