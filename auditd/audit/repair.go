package audit

import (
	"context"
	"math"
	"net/netip"
	"net/url"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"dstor/shared/choose"
	"dstor/shared/cid"
	"dstor/shared/identity"
	"dstor/shared/registry"
	"dstor/shared/wire"
)

// repairLease is how long an auditor owns one pin's repair.
const repairLease = 10 * time.Minute

// repairCycle deletes the copies of blobs unpinned for longer than the
// grace, then repairs the pins that fell under the threshold, most
// depleted first, at most RepairParallel pulls at once.
func (a *Auditor) repairCycle(ctx context.Context) {
	a.collectGarbage(ctx)
	thr := a.cfg.RepairThreshold
	pins, err := a.reg.UnderReplicated(ctx, func(r int) int { return int(math.Ceil(float64(r) * thr)) }, 100)
	if err != nil {
		a.log.Warn("list under-replicated pins", "err", err)
		return
	}
	if len(pins) == 0 {
		return
	}
	view := a.view.Load()
	if view == nil {
		a.survey(ctx)
		if view = a.view.Load(); view == nil {
			return
		}
	}
	sem := make(chan struct{}, a.cfg.RepairParallel)
	var wg sync.WaitGroup
	for _, pin := range pins {
		if ok, err := a.reg.TryLease(ctx, "repair:"+pin.CID, a.id, repairLease); err != nil || !ok {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer a.reg.ReleaseLease(context.WithoutCancel(ctx), "repair:"+pin.CID, a.id)
			a.repair(ctx, view, pin, sem)
		}()
	}
	wg.Wait()
}

// waitBytes waits until lim allows size bytes (nil: at once), taking them
// a burst at a time.
func waitBytes(ctx context.Context, lim *rate.Limiter, size int64) error {
	if lim == nil {
		return nil
	}
	for size > 0 {
		n := min(size, int64(lim.Burst()))
		if err := lim.WaitN(ctx, int(n)); err != nil {
			return err
		}
		size -= n
	}
	return nil
}

// survey pings every node that is not disqualified, and from the answers
// builds the placement view repairs use (only nodes that answer, take
// blobs and are not suspended get repairs), credits the bytes each node
// served since the last survey to the ledger, and marks the copies of a
// node unreachable for longer than OfflineGrace unhealthy, so their pins
// are repaired (being offline is no failure: the node's reputation does
// not move).
func (a *Auditor) survey(ctx context.Context) {
	nodes, err := a.reg.Nodes(ctx)
	if err != nil {
		a.log.Warn("survey: list nodes", "err", err)
		return
	}
	reps, err := a.reg.Reputations(ctx)
	if err != nil {
		a.log.Warn("survey: list reputations", "err", err)
		return
	}
	status := map[string]string{}
	for _, r := range reps {
		status[r.NodeID] = r.Status
	}
	out := make([]choose.Node, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		u, err := url.Parse(n.URL)
		if err != nil || status[n.ID] == registry.NodeDisqualified {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := wire.Target{Addr: u.Host, Peer: identity.Peer{Role: identity.RoleNode, ID: n.ID}}
			pctx, cancel := context.WithTimeout(ctx, wire.DialTimeout)
			st, err := a.client.Ping(pctx, t)
			cancel()
			if err != nil {
				a.client.Forget(t)
				return
			}
			rtt, _ := a.client.RTT(t)
			var nw netip.Prefix
			if ip, err := netip.ParseAddr(u.Hostname()); err == nil {
				nw = choose.NetOf(ip)
			}
			a.egress(ctx, t, n.ID)
			out[i] = choose.Node{
				ID: n.ID, Region: n.Region, URL: n.URL, Net: nw, Operator: n.Operator,
				RTT: rtt.Smoothed, RTTVar: rtt.Deviation, Availability: 1,
				Free: max(st.Free-st.Reserve, 0), Accepting: st.Accepting,
				Draining: st.Draining || status[n.ID] == registry.NodeSuspended,
				Up:       true,
			}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return
	}
	now := a.cfg.now()
	var up []choose.Node
	for i, n := range nodes {
		if status[n.ID] == registry.NodeDisqualified {
			continue
		}
		if out[i].Up {
			up = append(up, out[i])
			a.mu.Lock()
			delete(a.offline, n.ID)
			a.mu.Unlock()
			continue
		}
		a.mu.Lock()
		since, seen := a.offline[n.ID]
		if !seen {
			a.offline[n.ID] = now
			since = now
		}
		a.mu.Unlock()
		if now.Sub(since) >= a.cfg.OfflineGrace {
			a.offlineCopies(ctx, n.ID, since)
		}
	}
	a.view.Store(choose.NewView(up, "", nil))
}

// egress takes the bytes node (at t) served per blob since they were
// last taken and credits them in the ledger. Only the auditor that holds
// the node's ledger lease takes them, so no byte is paid twice; bytes a
// node served before a restart, or that were taken but not recorded
// (the registry failed), are not paid.
func (a *Auditor) egress(ctx context.Context, t wire.Target, node string) {
	if ok, err := a.reg.TryLease(ctx, "ledger:node:"+node, a.id, 3*a.cfg.RepairInterval); err != nil || !ok {
		return
	}
	sctx, cancel := context.WithTimeout(ctx, wire.DialTimeout)
	rep, err := a.client.Served(sctx, t)
	cancel()
	if err != nil {
		a.log.Debug("take egress counts", "node", node, "err", err)
		return
	}
	served := make([]registry.Egress, 0, len(rep.Blobs)+1)
	for _, b := range rep.Blobs {
		served = append(served, registry.Egress{CID: b.CID.String(), Bytes: b.Bytes})
	}
	served = append(served, registry.Egress{Bytes: rep.Other})
	if err := a.reg.RecordEgress(ctx, node, served, a.cfg.now()); err != nil {
		a.log.Warn("record egress", "node", node, "err", err)
	}
}

// offlineCopies marks a long-unreachable node's pinned copies unhealthy.
func (a *Auditor) offlineCopies(ctx context.Context, node string, since time.Time) {
	cids, err := a.reg.HoldersOn(ctx, node)
	if err != nil {
		a.log.Warn("list an offline node's pins", "node", node, "err", err)
		return
	}
	marked := 0
	for _, c := range cids {
		pin, err := a.reg.Pin(ctx, c)
		if err != nil {
			continue
		}
		for _, h := range pin.Holders {
			if h.NodeID == node && h.Status == registry.StatusPinned {
				if err := a.reg.SetHolderStatus(ctx, c, node, registry.StatusFailed); err == nil {
					marked++
				}
			}
		}
	}
	if marked > 0 {
		a.log.Warn("node offline past the grace period: its copies go to repair", "node", node, "since", since, "copies", marked)
	}
}

// repair brings one pin back to R: new nodes pull the blob from healthy
// holders, each new copy is challenged before it counts, and only then
// are the failed copies dropped (make before break).
func (a *Auditor) repair(ctx context.Context, view *choose.View, pin registry.PinInfo, sem chan struct{}) {
	var healthy []string
	var srcs []wire.Holder
	rows := map[string]string{}
	for _, h := range pin.Holders {
		rows[h.NodeID] = h.Status
		if h.Status == registry.StatusPinned {
			healthy = append(healthy, h.NodeID)
			srcs = append(srcs, wire.Holder{ID: h.NodeID, Region: h.Region, URL: h.URL, Up: true})
		}
	}
	if len(healthy) == 0 {
		a.log.Error("pin has no healthy copy left to repair from", "cid", pin.CID, "replicas", pin.Replicas)
		return
	}
	missing := pin.Replicas - len(healthy)
	targets := view.Place(missing, healthy, func(id string) bool { _, has := rows[id]; return has }, nil)
	a.log.Info("repairing pin", "cid", pin.CID, "healthy", len(healthy), "replicas", pin.Replicas, "new", len(targets))

	var mu sync.Mutex
	added := 0
	var wg sync.WaitGroup
	for _, n := range targets {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := waitBytes(ctx, a.repairs, pin.Size); err != nil {
				return
			}
			if a.pullVerified(ctx, pin, n, srcs) {
				mu.Lock()
				added++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return
	}
	if len(healthy)+added < pin.Replicas {
		a.log.Warn("pin still under its replica target", "cid", pin.CID, "healthy", len(healthy)+added, "replicas", pin.Replicas)
		return
	}
	// Every copy is back: drop the failed ones of disqualified nodes (their
	// claims are void). Other failed copies stay listed, unpaid: their
	// nodes are still audited on them, so a node that lost blobs keeps
	// failing until the model disqualifies it, and one that was only
	// offline gets them counted again when it passes.
	reps, err := a.reg.Reputations(ctx)
	if err != nil {
		a.log.Warn("list reputations", "err", err)
	}
	dq := map[string]bool{}
	for _, r := range reps {
		dq[r.NodeID] = r.Status == registry.NodeDisqualified
	}
	for node, st := range rows {
		if st == registry.StatusFailed && dq[node] {
			if err := a.reg.RemoveHolder(ctx, pin.CID, node); err != nil {
				a.log.Warn("drop failed replica", "cid", pin.CID, "node", node, "err", err)
			}
		}
	}
	if err := a.reg.SetPinStatus(ctx, pin.CID, registry.StatusPinned); err != nil {
		a.log.Warn("record pin status", "cid", pin.CID, "err", err)
	}
	a.log.Info("pin repaired", "cid", pin.CID, "replicas", pin.Replicas)
}

// pullVerified orders n to pull the pin from srcs, then challenges the
// new copy; the holder row is pinned only once the proof passes.
func (a *Auditor) pullVerified(ctx context.Context, pin registry.PinInfo, n *choose.Node, srcs []wire.Holder) bool {
	u, err := url.Parse(n.URL)
	if err != nil {
		return false
	}
	t := wire.Target{Addr: u.Host, Peer: identity.Peer{Role: identity.RoleNode, ID: n.ID}}
	if err := a.reg.SetHolderStatus(ctx, pin.CID, n.ID, registry.StatusPinning); err != nil {
		a.log.Warn("record repair", "cid", pin.CID, "node", n.ID, "err", err)
		return false
	}
	id, err := cid.Parse(pin.CID)
	if err == nil {
		pctx, cancel := context.WithTimeout(ctx, wire.PullTimeout(pin.Size))
		_, err = a.client.Pull(pctx, t, id, pin.Size, srcs)
		cancel()
	}
	status := registry.StatusFailed
	if err == nil {
		v := a.challenge(ctx, registry.AuditTarget{CID: pin.CID, Size: pin.Size, NodeID: n.ID, Region: n.Region, URL: n.URL})
		if v.Outcome == registry.AuditPass {
			status = registry.StatusPinned
		} else {
			a.log.Warn("repaired copy failed its challenge", "cid", pin.CID, "node", n.ID, "outcome", v.Outcome, "reason", v.Reason)
		}
	} else {
		a.log.Warn("repair pull failed", "cid", pin.CID, "node", n.ID, "err", err)
	}
	if ctx.Err() != nil {
		return false
	}
	if err := a.reg.SetHolderStatus(ctx, pin.CID, n.ID, status); err != nil {
		a.log.Warn("record repair", "cid", pin.CID, "node", n.ID, "err", err)
		return false
	}
	return status == registry.StatusPinned
}
