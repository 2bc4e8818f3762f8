package testnet

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"dstor/auditd/audit"
	"dstor/shared/registry"
)

// TestTwoAuditors runs two auditd on one registry: every node is audited
// by one of them only (node leases), and a pin both see under its
// threshold is repaired once, not twice (pin leases).
func TestTwoAuditors(t *testing.T) {
	n := Start(t, Options{Regions: []string{"r1", "r2", "r3"}, NodesPerRegion: 2, Writes: 3, Replicas: 4, CacheBytes: -1})
	ctx := context.Background()
	reg, err := registry.Open(ctx, n.Options.Registry)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	adjust := func(c *audit.Config) {
		c.Rate = 50
		c.RepairThreshold = 1
		c.HardLimit = 10 * time.Second
	}
	a1, a2 := n.StartAuditor(t, "auditor-1", adjust), n.StartAuditor(t, "auditor-2", adjust)
	var cids []string
	for i := range 6 {
		br := n.Upload(t, blob(uint64(500+i), 20<<10+i))
		n.WaitPin(t, br.CID, 30*time.Second, registry.StatusPinned)
		cids = append(cids, br.CID)
	}
	both := func(f func(a *audit.Auditor) error) {
		var wg sync.WaitGroup
		for _, a := range []*audit.Auditor{a1, a2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := f(a); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	for range 3 {
		both(func(a *audit.Auditor) error { return a.Audits.TriggerWait(ctx) })
	}
	total := 0
	for _, nd := range n.Nodes {
		hist, err := reg.Audits(ctx, nd.ID(), 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		by := map[string]int{}
		for _, h := range hist {
			by[h.Auditor]++
		}
		total += len(hist)
		if len(by) > 1 {
			t.Errorf("node %s audited by both auditors: %v", nd.Name, by)
		}
	}
	if total == 0 {
		t.Fatal("no audits")
	}

	// Lose one copy; both auditors find the pin under its threshold.
	pin, _ := reg.Pin(ctx, cids[0])
	victim := pin.Holders[0].NodeID
	if err := os.Remove(n.NodeByID(victim).BlobPath(MustParse(t, cids[0]))); err != nil {
		t.Fatal(err)
	}
	for _, a := range []*audit.Auditor{a1, a2} {
		a.AuditTargets(ctx, []registry.AuditTarget{{CID: cids[0], Size: pin.Size, NodeID: victim, URL: pin.Holders[0].URL, Region: pin.Holders[0].Region, Status: registry.StatusPinned}})
	}
	both(func(a *audit.Auditor) error { return a.Surveys.TriggerWait(ctx) })
	both(func(a *audit.Auditor) error { return a.Repairs.TriggerWait(ctx) })
	pin, _ = reg.Pin(ctx, cids[0])
	pinned := 0
	for _, h := range pin.Holders {
		if h.Status == registry.StatusPinned {
			pinned++
		}
	}
	if pinned != pin.Replicas {
		t.Errorf("after both auditors repaired: %d pinned copies, want exactly R=%d (%+v)", pinned, pin.Replicas, pin.Holders)
	}
}
