package testnet

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"dstor/auditd/audit"
	"dstor/devnet/adversary"
	"dstor/shared/challenge"
	"dstor/shared/identity"
	"dstor/shared/registry"
)

// openRegistry opens the network's registry for the test's own reads and
// writes.
func openRegistry(t *testing.T, n *Net) registry.Registry {
	t.Helper()
	reg, err := registry.Open(context.Background(), n.Options.Registry)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	return reg
}

// repeat is n audits of the same target.
func repeat(tg registry.AuditTarget, n int) []registry.AuditTarget {
	out := make([]registry.AuditTarget, n)
	for i := range out {
		out[i] = tg
	}
	return out
}

// TestAuditCatchesForgeries: fake holders that answer challenges with
// anything but the challenged slices of the blob they are listed for
// fail every challenge, each failure counts in their reputation, and
// their copy is marked failed at once. A fake holder that answers
// honestly passes, so the failures are the forgeries', not the harness's.
func TestAuditCatchesForgeries(t *testing.T) {
	n := Start(t, Options{Regions: []string{"r1"}, NodesPerRegion: 1, Writes: 1, CacheBytes: -1})
	ctx := context.Background()
	reg := openRegistry(t, n)
	// 1 MiB is 64 groups: every slice has the same length, so a forgery
	// of the right length is checked byte by byte, not by its length.
	const size = 1 << 20
	peer := n.WireClientAs(t, identity.RoleNode)
	held := func(seed uint64) *adversary.Blob {
		return fetchBlob(t, peer, n.Nodes[0].Target(), MustParse(t, n.Upload(t, blob(seed, size)).CID))
	}
	b, other := held(501), held(502)
	// Both verifiers: the batched one auditd uses by default, and the
	// reference (bao.VerifySlice per slice).
	var a *audit.Auditor
	for _, verifier := range []string{"batched", "bao"} {
		a = n.StartAuditor(t, "auditor-"+verifier, func(c *audit.Config) {
			c.Parallel = 8
			c.HardLimit = 10 * time.Second // -race on two busy cores
			c.Verifier = verifier
		})
		const audits = 50
		for _, mode := range adversary.Forgeries {
			t.Run(verifier+"/"+mode, func(t *testing.T) {
				answer, err := adversary.Forge(mode, b, other, n.Nodes[0].ID())
				if err != nil {
					t.Fatal(err)
				}
				pass := mode == adversary.Honest
				f := n.startFakeNode(t, reg, "r1", answer)
				f.hold(t, reg, b.ID.String())
				want := registry.AuditFail
				if pass {
					want = registry.AuditPass
				}
				for i, v := range a.AuditTargets(ctx, repeat(f.target(b), audits)) {
					if v.Outcome != want || !pass && !strings.Contains(v.Reason, challenge.ErrBadProof.Error()) {
						t.Errorf("challenge %d: %s (%s), want %s for a bad proof", i, v.Outcome, v.Reason, want)
					}
					// The verifier asked for is the one that judged.
					if mode == "flip-chunk" && strings.Contains(v.Reason, "bao.VerifySlice") != (verifier == "bao") {
						t.Errorf("challenge %d judged by the wrong verifier: %s", i, v.Reason)
					}
				}
				rep, err := reg.Reputation(ctx, f.ID)
				if err != nil {
					t.Fatal(err)
				}
				hist, err := reg.Audits(ctx, f.ID, 0, 2*audits)
				if err != nil {
					t.Fatal(err)
				}
				recorded := 0
				for _, h := range hist {
					if h.Outcome == want && (pass || h.Reason != "") {
						recorded++
					}
				}
				pin, err := reg.Pin(ctx, b.ID.String())
				if err != nil {
					t.Fatal(err)
				}
				i := slices.IndexFunc(pin.Holders, func(h registry.Holder) bool { return h.NodeID == f.ID })
				if i < 0 {
					t.Fatalf("the fake holder is gone from %s", b.ID)
				}
				h := pin.Holders[i]
				if pass {
					if rep.Passes != audits || rep.Fails != 0 || h.Status != registry.StatusPinned || recorded != audits {
						t.Errorf("honest fake: reputation %+v, holder %s, %d of %d passes recorded", rep, h.Status, recorded, audits)
					}
					return
				}
				if rep.Fails != audits || rep.Passes != 0 || recorded != audits {
					t.Errorf("reputation %+v, %d failures recorded, want %d failures", rep, recorded, audits)
				}
				if h.Status != registry.StatusFailed || h.LastOutcome != registry.AuditFail {
					t.Errorf("holder row %s, last outcome %s, want failed", h.Status, h.LastOutcome)
				}
				t.Logf("%d failures of %d: score %.4f, %s (%s)", rep.Fails, rep.Audits, rep.Score(), rep.Status, rep.StatusReason)
			})
		}
	}
	// The real holder was not touched by any of it.
	for _, v := range a.AuditTargets(ctx, repeat(registry.AuditTarget{CID: b.ID.String(), Size: b.Size, NodeID: n.Nodes[0].ID(), Region: "r1", URL: n.Nodes[0].URL()}, 5)) {
		if v.Outcome != registry.AuditPass {
			t.Errorf("the real holder: %s (%s)", v.Outcome, v.Reason)
		}
	}
}

// TestAuditRelaySuspect: a node that keeps only a blob's outboard and,
// challenged, fetches the challenged groups from a real holder 40 ms
// away answers correctly but later than its soft deadline (its own link
// to the auditor is fast): it passes and is flagged a relay suspect. An
// honest node 40 ms from the auditor answers about as late, but its
// deadline follows its RTT: it passes without suspicion.
//
// Timing on a shared test machine: the race detector and other tests
// stall answers by tens of milliseconds now and then, as much as the
// relay's round trip. A third node, honest and on loopback, is challenged
// in the same rounds as a control: the rounds where it answered late by
// half the relay's round trip are the machine's, and each one is allowed
// to either side. A machine that stalls one round in five cannot tell a
// 40 ms relay from its own noise, and the test skips the check.
func TestAuditRelaySuspect(t *testing.T) {
	const rtt = 40 * time.Millisecond
	n := Start(t, Options{Regions: []string{"r1"}, NodesPerRegion: 2, Writes: 2, CacheBytes: -1})
	ctx := context.Background()
	reg := openRegistry(t, n)
	a := n.StartAuditor(t, "auditor", func(c *audit.Config) {
		c.Parallel = 1 // one challenge at a time: none waits for another
		c.HardLimit = 10 * time.Second
	})

	// 4 MiB is 256 groups of 16 KiB: 8 ranges call for 8 groups and
	// their paths, 135 KB (139 KB in 1 GiB).
	const size = 4 << 20
	id := MustParse(t, n.Upload(t, blob(503, size)).CID)
	holders, _ := n.Holders(t, id.String())
	src, far := holders[0], holders[1]
	relay := n.startRelay(t, reg, id, size, delayed(t, src.Target(), rtt))
	relay.hold(t, reg, id.String())
	toFar := delayed(t, far.Target(), rtt)
	target := func(node, url string) registry.AuditTarget {
		return registry.AuditTarget{CID: id.String(), Size: size, NodeID: node, Region: "r1", URL: url}
	}
	relayT, farT, control := target(relay.ID, relay.URL), target(far.ID(), "https://"+toFar.Addr), target(src.ID(), src.URL())

	const audits = 100
	var targets []registry.AuditTarget
	for range audits { // interleaved: all three see the same machine
		targets = append(targets, relayT, farT, control)
	}
	byNode := map[string][]audit.Verdict{}
	for _, v := range a.AuditTargets(ctx, targets) {
		if v.Outcome != registry.AuditPass {
			t.Errorf("%s: %s (%s), want pass", v.Target.NodeID, v.Outcome, v.Reason)
		}
		byNode[v.Target.NodeID] = append(byNode[v.Target.NodeID], v)
	}
	suspects := map[string]int{}
	for _, tg := range []registry.AuditTarget{relayT, farT, control} {
		var lat, dl []time.Duration
		for _, v := range byNode[tg.NodeID] {
			lat, dl = append(lat, v.Latency), append(dl, v.Deadline)
			if v.Suspect {
				suspects[tg.NodeID]++
			}
		}
		l50, l95, lmax := latencyStats(lat)
		d50, d95, dmax := latencyStats(dl)
		t.Logf("%s: %d of %d suspect; latency p50 %v p95 %v max %v; deadline p50 %v p95 %v max %v",
			map[string]string{relay.ID: "relay", far.ID(): "far", src.ID(): "control"}[tg.NodeID], suspects[tg.NodeID], audits,
			l50.Round(100*time.Microsecond), l95.Round(100*time.Microsecond), lmax.Round(100*time.Microsecond),
			d50.Round(100*time.Microsecond), d95.Round(100*time.Microsecond), dmax.Round(100*time.Microsecond))

		// Every verdict is in the node's history and reputation.
		rep, err := reg.Reputation(ctx, tg.NodeID)
		if err != nil {
			t.Fatal(err)
		}
		hist, err := reg.Audits(ctx, tg.NodeID, 0, audits)
		if err != nil {
			t.Fatal(err)
		}
		recorded := 0
		for _, h := range hist {
			if h.Suspect && h.Outcome == registry.AuditPass && h.Deadline > 0 && h.Latency > h.Deadline {
				recorded++
			}
		}
		if len(hist) != audits || recorded != suspects[tg.NodeID] || rep.Suspects != int64(recorded) || rep.Passes != audits {
			t.Errorf("%s: %d audits in history, %d suspect; reputation %+v; want %d suspect passes of %d",
				tg.NodeID, len(hist), recorded, rep, suspects[tg.NodeID], audits)
		}
	}

	controls := byNode[src.ID()]
	lat := make([]time.Duration, len(controls))
	for i, v := range controls {
		lat[i] = v.Latency
	}
	typical, _, _ := latencyStats(lat)
	stalls := 0
	for _, l := range lat {
		if l > typical+rtt/2 {
			stalls++
		}
	}
	t.Logf("machine stalls: %d of %d control answers came %v or more after the typical %v", stalls, audits, rtt/2, typical.Round(100*time.Microsecond))
	if stalls > audits/5 {
		t.Skipf("machine too busy to time a %v relay: %d of %d rounds stalled", rtt, stalls, audits)
	}
	if got, want := suspects[relay.ID], audits*95/100-stalls; got < want {
		t.Errorf("relay flagged in %d of %d challenges, want at least %d (95 %%, less %d stalled rounds)", got, audits, want, stalls)
	}
	if got, want := suspects[far.ID()], audits*5/100+stalls; got > want {
		t.Errorf("honest node 40 ms away suspected in %d of %d challenges, want at most %d (5 %%, plus %d stalled rounds)", got, audits, want, stalls)
	}
}
