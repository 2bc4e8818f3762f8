package audit

import (
	"context"
	"math"
	"net/netip"
	"net/url"
	"sync"
	"time"

	"dstor/shared/choose"
	"dstor/shared/cid"
	"dstor/shared/identity"
	"dstor/shared/registry"
	"dstor/shared/wire"
)

// repairLease is how long an auditor owns one pin's repair.
const repairLease = 10 * time.Minute

// repairCycle repairs the pins that fell under the threshold, most
// depleted first, at most RepairParallel pulls at once.
func (a *Auditor) repairCycle(ctx context.Context) {
	thr := a.cfg.RepairThreshold
	pins, err := a.reg.UnderReplicated(ctx, func(r int) int { return int(math.Ceil(float64(r) * thr)) }, 100)
	if err != nil {
		a.log.Warn("list under-replicated pins", "err", err)
		return
	}
	if len(pins) == 0 {
		return
	}
	view, err := a.nodeView(ctx)
	if err != nil {
		a.log.Warn("survey nodes for repair", "err", err)
		return
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

// nodeView pings every node that is not disqualified and builds a
// placement view from the answers: only nodes that answer, take blobs
// and are not suspended get repairs.
func (a *Auditor) nodeView(ctx context.Context) (*choose.View, error) {
	nodes, err := a.reg.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	reps, err := a.reg.Reputations(ctx)
	if err != nil {
		return nil, err
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
	up := out[:0]
	for _, n := range out {
		if n.Up {
			up = append(up, n)
		}
	}
	return choose.NewView(up, "", nil), nil
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
	// Every copy is back: drop the failed ones.
	for node, st := range rows {
		if st == registry.StatusFailed {
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
