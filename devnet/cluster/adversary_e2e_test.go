package cluster

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"dstor/devnet/adversary"
	"dstor/shared/api"
	"dstor/shared/challenge"
	"dstor/shared/latency"
	"dstor/shared/registry"
)

// holderArg is a holder of pin id as fakenode's -from takes it, id@host:port,
// and that holder's id.
func (r *reflection) holderArg(id string, pick func(api.Holder) bool) (string, string) {
	r.t.Helper()
	for _, h := range r.pin(id).Holders {
		if h.Status == "pinned" && pick(h) {
			return h.ID + "@" + strings.TrimPrefix(h.URL, "https://"), h.ID
		}
	}
	r.t.Fatalf("pin %s has no such holder: %+v", id, r.pin(id))
	return "", ""
}

// listHolder lists node as a pinned holder of blob id in the gateway's
// registry, as if it had been placed there: a cheat's claim.
func (r *reflection) listHolder(id, node string) {
	r.t.Helper()
	ctx := context.Background()
	reg, err := registry.Open(ctx, r.c.cfg.Dir+"/gateway/registry.db")
	if err != nil {
		r.t.Fatal(err)
	}
	defer reg.Close()
	if err := reg.SetHolderStatus(ctx, id, node, registry.StatusPinned); err != nil {
		r.t.Fatal(err)
	}
}

// waitAudits polls until done accepts every node's audit history.
func (r *reflection) waitAudits(nodes []string, limit time.Duration, done func(api.AuditsResponse) bool) map[string]api.AuditsResponse {
	r.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		out := map[string]api.AuditsResponse{}
		waiting := ""
		for _, n := range nodes {
			out[n] = r.audits(n)
			if !done(out[n]) {
				waiting = n
			}
		}
		if waiting == "" {
			return out
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("after %v, node %s: %+v", limit, waiting, out[waiting].Reputation)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// TestAuditForgeriesProcesses: fakenode processes listed as holders of a
// blob answer an auditd process with every forgery of adversary.Forgeries
// (flipped bytes, forged tree nodes, the proof of another blob, stale or
// another node's answers, short and cut answers). Every answer of theirs
// is recorded as a failed, bad proof, and they are disqualified (with a
// reason) by the model; the honest fake node and the real holders pass
// every challenge.
func TestAuditForgeriesProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the daemons")
	}
	r := startReflection(t, Config{
		Regions:        []string{"r1", "r2"},
		NodesPerRegion: 1,
		ProbeInterval:  time.Second,
		GatewayArgs:    []string{"-writes", "2", "-replicas", "2"},
		NodeArgs:       []string{"-cache-bytes", "-1"},
	})
	// 1 MiB is 64 groups: every slice has the same length, so a forgery
	// of the right length is checked byte by byte, not by its length.
	id, _ := r.put(1 << 20)
	other, _ := r.put(1 << 20)
	r.waitPinned(id, 2, time.Minute, nil)
	r.waitPinned(other, 2, time.Minute, nil)
	from, _ := r.holderArg(id, func(api.Holder) bool { return true })

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	mode := map[string]string{}
	var fakes []string
	for _, m := range adversary.Forgeries {
		p, err := r.c.AddFakeNode(ctx, "r1", "-mode", m, "-blob", id, "-other", other, "-from", from)
		if err != nil {
			t.Fatal(err)
		}
		node, err := p.ID()
		if err != nil {
			t.Fatal(err)
		}
		r.listHolder(id, node)
		mode[node] = m
		fakes = append(fakes, node)
	}
	if _, err := r.c.StartAuditor("auditor-0", "-rate", "300", "-parallel", "16", "-hard-limit", "10s"); err != nil {
		t.Fatal(err)
	}
	// A forger is audited until it is disqualified (about 41 failures
	// from a fresh score); the honest ones for as long as the test runs.
	const least = 30
	hist := r.waitAudits(fakes, 3*time.Minute, func(ar api.AuditsResponse) bool {
		if mode[ar.Node] == adversary.Honest {
			return ar.Reputation.Audits >= least
		}
		return ar.Reputation.Status == "disqualified"
	})
	for _, node := range fakes {
		ar, m := hist[node], mode[node]
		rep := ar.Reputation
		if m == adversary.Honest {
			if rep.Passes != rep.Audits || rep.Status != "active" {
				t.Errorf("honest fake node: %+v", rep)
			}
			continue
		}
		bad := 0
		for _, a := range ar.Audits {
			if a.Outcome != "fail" || !strings.Contains(a.Reason, challenge.ErrBadProof.Error()) {
				t.Errorf("%s: audit %d of %s: %s (%s), want a failed, bad proof", m, a.ID, a.CID, a.Outcome, a.Reason)
				continue
			}
			bad++
		}
		if rep.Fails != rep.Audits || int64(bad) != rep.Audits || rep.Audits < least || rep.StatusReason == "" {
			t.Errorf("%s: %d bad proofs in the history; reputation %+v", m, bad, rep)
		}
		t.Logf("%-11s caught on %d of %d answers, disqualified: %s", m, bad, rep.Audits, rep.StatusReason)
	}
	// The real holders were not touched by any of it.
	for node := range r.nodeIDs() {
		if rep := r.audits(node).Reputation; rep.Audits == 0 || rep.Passes != rep.Audits || rep.Status != "active" {
			t.Errorf("real node %s: %+v", node, rep)
		}
	}
}

// TestAuditRelayProcesses: a fakenode process 0 ms from the auditor keeps
// only a blob's outboard and, challenged, fetches the challenged groups
// from a real holder 40 ms away: it passes, but is flagged a relay
// suspect in at least 95 % of its challenges. That holder, an honest
// node 40 ms from the auditor, passes without suspicion; so does a third,
// honest node 0 ms away (the control).
//
// Timing on a shared test machine: as in shared/testnet's
// TestAuditRelaySuspect, rounds where the control answered late by half
// the relay's round trip are the machine's, and each is allowed to
// either side; a machine that stalls one audit in five skips the check.
func TestAuditRelayProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the daemons")
	}
	const rtt = 40 * time.Millisecond
	r := startReflection(t, Config{
		Regions:        []string{"near", "far"},
		NodesPerRegion: 1,
		ProbeInterval:  time.Second,
		GatewayArgs:    []string{"-writes", "2", "-replicas", "2"},
		NodeArgs:       []string{"-cache-bytes", "-1"},
		// The gateway, the auditor and the test are outside; between
		// near and far is the larger of the two, 40 ms.
		Latency: &latency.World{Outside: map[string]latency.Profile{"far": {Delay: rtt}}},
	})
	// 4 MiB is 256 groups of 16 KiB: 8 ranges call for 8 groups.
	id, _ := r.put(4 << 20)
	r.waitPinned(id, 2, time.Minute, nil)
	ids := r.nodeIDs()
	from, far := r.holderArg(id, func(h api.Holder) bool { return ids[h.ID].Region == "far" })
	control := ""
	for node, p := range ids {
		if p.Region == "near" {
			control = node
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p, err := r.c.AddFakeNode(ctx, "near", "-mode", "relay", "-blob", id, "-from", from)
	if err != nil {
		t.Fatal(err)
	}
	relay, err := p.ID()
	if err != nil {
		t.Fatal(err)
	}
	r.listHolder(id, relay)
	// One challenge at a time: none waits for another.
	if _, err := r.c.StartAuditor("auditor-0", "-rate", "50", "-parallel", "1", "-hard-limit", "10s"); err != nil {
		t.Fatal(err)
	}
	const audits = 100
	nodes := []string{relay, far, control}
	hist := r.waitAudits(nodes, 3*time.Minute, func(ar api.AuditsResponse) bool { return len(ar.Audits) >= audits })
	name := map[string]string{relay: "relay", far: "far", control: "control"}
	suspects := map[string]int{}
	for _, node := range nodes {
		as := hist[node].Audits
		slices.SortFunc(as, func(a, b api.Audit) int { return int(a.ID - b.ID) })
		as = as[:audits]
		var lat, dl []time.Duration
		for _, a := range as {
			if a.Outcome != "pass" {
				t.Errorf("%s: audit %d: %s (%s), want pass", name[node], a.ID, a.Outcome, a.Reason)
			}
			if a.RelaySuspect {
				suspects[node]++
			}
			lat = append(lat, ms(a.LatencyMS))
			dl = append(dl, ms(a.DeadlineMS))
		}
		l50, l95, lmax := stats(lat)
		d50, d95, dmax := stats(dl)
		t.Logf("%s: %d of %d suspect; latency p50 %v p95 %v max %v; soft deadline p50 %v p95 %v max %v",
			name[node], suspects[node], audits, l50, l95, lmax, d50, d95, dmax)
		if node == control {
			typical := l50
			stalls := 0
			for _, l := range lat {
				if l > typical+rtt/2 {
					stalls++
				}
			}
			t.Logf("machine stalls: %d of %d control answers came %v or more after the typical %v", stalls, audits, rtt/2, typical)
			if stalls > audits/5 {
				t.Skipf("machine too busy to time a %v relay: %d of %d audits stalled", rtt, stalls, audits)
			}
			if got, want := suspects[relay], audits*95/100-stalls; got < want {
				t.Errorf("relay flagged in %d of %d challenges, want at least %d (95 %%, less %d stalled)", got, audits, want, stalls)
			}
			if got, want := suspects[far], audits*5/100+stalls; got > want {
				t.Errorf("honest node 40 ms away suspected in %d of %d challenges, want at most %d (5 %%, plus %d stalled)", got, audits, want, stalls)
			}
		}
	}
	if rep := hist[relay].Reputation; rep.RelaySuspects < int64(suspects[relay]) {
		t.Errorf("relay's reputation counts %d suspects, its history %d", rep.RelaySuspects, suspects[relay])
	}
}

// ms is a duration of f milliseconds, to 0.1 ms.
func ms(f float64) time.Duration {
	return (time.Duration(f * float64(time.Millisecond))).Round(100 * time.Microsecond)
}

// stats summarizes durations: p50, p95 and max.
func stats(ds []time.Duration) (p50, p95, top time.Duration) {
	if len(ds) == 0 {
		return 0, 0, 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2], s[len(s)*95/100], s[len(s)-1]
}
