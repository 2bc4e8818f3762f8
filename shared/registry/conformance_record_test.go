package registry

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"
)

// registryState renders what RecordAudits may change for the given nodes
// and CIDs: reputations, audit histories, ledgers and pins with holders.
func registryState(t *testing.T, r Registry, nodes, cids []string) string {
	t.Helper()
	ctx := context.Background()
	reps, err := r.Reputations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s := fmt.Sprintf("%+v\n", reps)
	for _, n := range nodes {
		audits, err := r.Audits(ctx, n, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		ledger, err := r.Ledger(ctx, n, time.Time{}, time.Time{}, 1000)
		if err != nil {
			t.Fatal(err)
		}
		s += fmt.Sprintf("%s: %+v\n%+v\n", n, audits, ledger)
	}
	for _, c := range cids {
		s += fmt.Sprintf("%+v\n", mustPinInfo(t, r, c))
	}
	return s
}

// countUpdate returns a reputation update that counts results' outcomes.
func countUpdate(results []AuditResult) func(*NodeRep) error {
	return func(rep *NodeRep) error {
		for _, res := range results {
			rep.Audits++
			switch res.Audit.Outcome {
			case AuditPass:
				rep.Passes++
				rep.Alpha++
			case AuditFail:
				rep.Fails++
				rep.Beta++
			case AuditTimeout:
				rep.Timeouts++
			}
		}
		return nil
	}
}

func testRecordAudits(t *testing.T, r Registry) {
	ctx := context.Background()
	alice := mustAccount(t, r, "alice")
	mustNode(t, r, "n1", "eu")
	mustNode(t, r, "n2", "us")
	mustNode(t, r, "n3", "us")
	mustPin(t, r, alice, "cid-a", 1000, "n1", "n2")
	mustPin(t, r, alice, "cid-b", 2000, "n1", "n2")
	mustPin(t, r, alice, "cid-c", 500, "n2")
	if err := r.SetHolderStatus(ctx, "cid-b", "n2", StatusFailed); err != nil {
		t.Fatal(err)
	}
	nodes, cids := []string{"n1", "n2", "n3"}, []string{"cid-a", "cid-b", "cid-c"}
	mark0 := mustHolder(t, r, "cid-a", "n1").AccruedAt
	markC := mustHolder(t, r, "cid-c", "n2").AccruedAt
	at := func(d time.Duration) time.Time { return mark0.Add(d) }

	t.Run("empty batch", func(t *testing.T) {
		before := registryState(t, r, nodes, cids)
		reps, err := r.RecordAudits(ctx, nil)
		if err != nil || len(reps) != 0 {
			t.Fatalf("RecordAudits(nil) = %v, %v; want empty", reps, err)
		}
		if after := registryState(t, r, nodes, cids); after != before {
			t.Fatalf("empty batch changed the registry:\n%s\nwas\n%s", after, before)
		}
	})

	// A batch given out of node order, a node in two entries.
	n1 := []AuditResult{
		{Audit: Audit{CID: "cid-a", Auditor: "aud", At: at(2 * time.Hour), Outcome: AuditPass,
			Latency: time.Millisecond, Deadline: time.Second}, Accrue: true},
		{Audit: Audit{NodeID: "n1", CID: "cid-b", At: at(2 * time.Hour), Outcome: AuditFail, Reason: "bad proof"},
			Fail: true},
	}
	n2 := []AuditResult{
		{Audit: Audit{CID: "cid-b", At: at(3 * time.Hour), Outcome: AuditPass, Suspect: true, Reason: "late"},
			Restore: true},
		{Audit: Audit{CID: "cid-c", At: at(time.Hour), Outcome: AuditPass}, Accrue: true},
		{Audit: Audit{CID: "cid-c", At: at(3 * time.Hour), Outcome: AuditPass}, Accrue: true},
	}
	n2more := []AuditResult{
		{Audit: Audit{CID: "cid-a", At: at(3 * time.Hour), Outcome: AuditTimeout, Reason: "no answer"}},
	}
	var reps map[string]NodeRep
	t.Run("records a batch", func(t *testing.T) {
		var err error
		reps, err = r.RecordAudits(ctx, []NodeAudits{
			{NodeID: "n2", Update: countUpdate(n2), Results: n2},
			{NodeID: "n1", Update: countUpdate(n1), Results: n1},
			{NodeID: "n2", Update: countUpdate(n2more), Results: n2more},
		})
		if err != nil {
			t.Fatalf("RecordAudits: %v", err)
		}
	})
	t.Run("reputations", func(t *testing.T) {
		want := map[string][3]int64{"n1": {2, 1, 1}, "n2": {4, 3, 0}} // audits, passes, fails
		if len(reps) != 2 {
			t.Fatalf("RecordAudits returned %d reputations, want 2: %+v", len(reps), reps)
		}
		for node, w := range want {
			got := reps[node]
			if [3]int64{got.Audits, got.Passes, got.Fails} != w || got.NodeID != node || got.UpdatedAt.IsZero() {
				t.Errorf("returned reputation of %s = %+v, want audits, passes, fails %v", node, got, w)
			}
			stored, err := r.Reputation(ctx, node)
			if err != nil || stored != got {
				t.Errorf("Reputation(%s) = %+v, %v; want %+v as returned", node, stored, err, got)
			}
		}
		if rep, err := r.Reputation(ctx, "n3"); err != nil || rep != NewNodeRep("n3") {
			t.Errorf("Reputation(n3) = %+v, %v; want untouched", rep, err)
		}
	})
	t.Run("history", func(t *testing.T) {
		for node, want := range map[string][]AuditResult{"n1": n1, "n2": append(slices.Clone(n2), n2more...)} {
			audits, err := r.Audits(ctx, node, 0, 0)
			if err != nil || len(audits) != len(want) {
				t.Fatalf("Audits(%s) = %+v, %v; want %d", node, audits, err, len(want))
			}
			slices.Reverse(audits) // oldest first
			for i, a := range audits {
				w := want[i].Audit
				w.NodeID, w.ID = node, a.ID
				if !sameAudit(a, w) || (i > 0 && a.ID <= audits[i-1].ID) {
					t.Errorf("Audits(%s)[%d] = %+v, want %+v (ids growing)", node, i, a, w)
				}
			}
		}
	})
	t.Run("holders", func(t *testing.T) {
		tests := []struct {
			cid, node, status, outcome string
			last, mark                 time.Time
		}{
			{"cid-a", "n1", StatusPinned, AuditPass, at(2 * time.Hour), at(2 * time.Hour)},
			{"cid-b", "n1", StatusFailed, AuditFail, at(2 * time.Hour), at(2 * time.Hour)},
			{"cid-b", "n2", StatusPinned, AuditPass, at(3 * time.Hour), at(3 * time.Hour)},
			{"cid-c", "n2", StatusPinned, AuditPass, at(3 * time.Hour), at(3 * time.Hour)},
			{"cid-a", "n2", StatusPinned, AuditTimeout, at(3 * time.Hour), mark0},
		}
		for _, tc := range tests {
			h := mustHolder(t, r, tc.cid, tc.node)
			if h.Status != tc.status || h.LastOutcome != tc.outcome || !h.LastAudit.Equal(tc.last) ||
				!h.AccruedAt.Equal(tc.mark) {
				t.Errorf("holder %s of %s = %+v; want %s, last %s at %v, mark %v",
					tc.node, tc.cid, h, tc.status, tc.outcome, tc.last, tc.mark)
			}
		}
	})
	t.Run("ledger", func(t *testing.T) {
		want := map[string][]LedgerEntry{
			"n1": {{NodeID: "n1", CID: "cid-a", Kind: LedgerStorage, Amount: 2000, At: at(2 * time.Hour)}},
			"n2": {
				{NodeID: "n2", CID: "cid-c", Kind: LedgerStorage, Amount: byteHours(500, markC.UnixNano(), at(time.Hour).UnixNano()), At: at(time.Hour)},
				{NodeID: "n2", CID: "cid-c", Kind: LedgerStorage, Amount: 1000, At: at(3 * time.Hour)},
			},
		}
		for node, w := range want {
			got, err := r.Ledger(ctx, node, time.Time{}, time.Time{}, 0)
			if err != nil || !slices.EqualFunc(got, w, sameEntry) {
				t.Errorf("Ledger(%s) = %+v, %v; want %+v", node, got, err, w)
			}
		}
	})

	t.Run("Update sets the results", func(t *testing.T) {
		batch := []NodeAudits{{NodeID: "n3"}}
		batch[0].Update = func(rep *NodeRep) error {
			rep.Audits++
			batch[0].Results = []AuditResult{{Audit: Audit{CID: "cid-c", At: at(4 * time.Hour),
				Outcome: AuditOffline, Reason: fmt.Sprintf("after %d", rep.Audits)}}}
			return nil
		}
		reps, err := r.RecordAudits(ctx, batch)
		if err != nil || reps["n3"].Audits != 1 {
			t.Fatalf("RecordAudits = %+v, %v", reps, err)
		}
		audits, err := r.Audits(ctx, "n3", 0, 0)
		if err != nil || len(audits) != 1 || audits[0].Reason != "after 1" || audits[0].CID != "cid-c" {
			t.Fatalf("Audits(n3) = %+v, %v; want the result Update set", audits, err)
		}
	})
	t.Run("nil Update keeps the reputation", func(t *testing.T) {
		was, _ := r.Reputation(ctx, "n3")
		reps, err := r.RecordAudits(ctx, []NodeAudits{{NodeID: "n3", Results: []AuditResult{
			{Audit: Audit{CID: "cid-c", At: at(4 * time.Hour), Outcome: AuditUnknown, Reason: "eh"}}}}})
		if err != nil || reps["n3"] != was {
			t.Fatalf("RecordAudits = %+v, %v; want reputation %+v", reps, err, was)
		}
		if rep, _ := r.Reputation(ctx, "n3"); rep != was {
			t.Fatalf("Reputation(n3) = %+v, want %+v", rep, was)
		}
	})
	t.Run("zero At is now", func(t *testing.T) {
		t0 := time.Now()
		if _, err := r.RecordAudits(ctx, []NodeAudits{{NodeID: "n3", Results: []AuditResult{
			{Audit: Audit{CID: "cid-c", Outcome: AuditOffline, Reason: "down"}}}}}); err != nil {
			t.Fatal(err)
		}
		audits, err := r.Audits(ctx, "n3", 0, 1)
		if err != nil || len(audits) != 1 || audits[0].At.Before(t0.Add(-time.Second)) || audits[0].At.After(time.Now().Add(time.Second)) {
			t.Fatalf("Audits(n3) = %+v, %v; want At now", audits, err)
		}
	})
	t.Run("removed holder", func(t *testing.T) {
		// A copy dropped while it was audited: the audit is kept, no holder
		// row comes back and nothing is credited.
		mustPin(t, r, alice, "cid-d", 100, "n3")
		if err := r.RemoveHolder(ctx, "cid-d", "n3"); err != nil {
			t.Fatal(err)
		}
		ledger, _ := r.Ledger(ctx, "n3", time.Time{}, time.Time{}, 0)
		if _, err := r.RecordAudits(ctx, []NodeAudits{{NodeID: "n3", Results: []AuditResult{
			{Audit: Audit{CID: "cid-d", At: at(5 * time.Hour), Outcome: AuditPass}, Accrue: true},
			{Audit: Audit{CID: "cid-d", At: at(5 * time.Hour), Outcome: AuditFail, Reason: "gone"}, Fail: true},
			{Audit: Audit{CID: "cid-d", At: at(6 * time.Hour), Outcome: AuditPass}, Restore: true},
		}}}); err != nil {
			t.Fatalf("RecordAudits: %v", err)
		}
		if info := mustPinInfo(t, r, "cid-d"); len(info.Holders) != 0 {
			t.Fatalf("holders of cid-d = %+v, want none", info.Holders)
		}
		if got, _ := r.Ledger(ctx, "n3", time.Time{}, time.Time{}, 0); len(got) != len(ledger) {
			t.Fatalf("ledger of n3 = %+v, want %+v", got, ledger)
		}
		if audits, _ := r.Audits(ctx, "n3", 0, 3); len(audits) != 3 || audits[2].CID != "cid-d" {
			t.Fatalf("audits of n3 = %+v, want the three of cid-d", audits)
		}
	})

	t.Run("a failing batch changes nothing", func(t *testing.T) {
		good := NodeAudits{NodeID: "n1", Update: countUpdate(n1), Results: []AuditResult{
			{Audit: Audit{CID: "cid-a", At: at(10 * time.Hour), Outcome: AuditPass}, Accrue: true},
			{Audit: Audit{CID: "cid-b", At: at(10 * time.Hour), Outcome: AuditPass}, Restore: true},
		}}
		one := func(res AuditResult) NodeAudits {
			return NodeAudits{NodeID: "n2", Update: countUpdate(nil), Results: []AuditResult{res}}
		}
		pass := Audit{CID: "cid-c", At: at(10 * time.Hour), Outcome: AuditPass}
		errUpdate := errors.New("update says no")
		tests := []struct {
			name     string
			bad      NodeAudits
			notFound bool
			is       error
		}{
			{"unknown node", NodeAudits{NodeID: "n-missing", Update: countUpdate(nil)}, true, nil},
			{"unknown node, nil Update", NodeAudits{NodeID: "n-missing"}, true, nil},
			{"Update fails", NodeAudits{NodeID: "n2", Update: func(*NodeRep) error { return errUpdate }}, false, errUpdate},
			{"invalid reputation", NodeAudits{NodeID: "n2", Update: func(rep *NodeRep) error {
				rep.Status = "bogus"
				return nil
			}}, false, nil},
			{"Update changes the node id", NodeAudits{NodeID: "n2", Update: func(rep *NodeRep) error {
				rep.NodeID = "n1"
				return nil
			}}, false, nil},
			{"fail without reason", one(AuditResult{Audit: Audit{CID: "cid-c", At: at(10 * time.Hour), Outcome: AuditFail}}), false, nil},
			{"invalid outcome", one(AuditResult{Audit: Audit{CID: "cid-c", At: at(10 * time.Hour), Outcome: "maybe"}}), false, nil},
			{"no cid", one(AuditResult{Audit: Audit{At: at(10 * time.Hour), Outcome: AuditPass}}), false, nil},
			{"other node's audit", one(AuditResult{Audit: Audit{NodeID: "n1", CID: "cid-a", At: at(10 * time.Hour), Outcome: AuditPass}}), false, nil},
			{"two flags", one(AuditResult{Audit: pass, Accrue: true, Fail: true}), false, nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				before := registryState(t, r, nodes, cids)
				_, err := r.RecordAudits(ctx, []NodeAudits{good, tc.bad})
				if err == nil || errors.Is(err, ErrNotFound) != tc.notFound || (tc.is != nil && !errors.Is(err, tc.is)) {
					t.Fatalf("RecordAudits = %v; want an error, ErrNotFound %v, is %v", err, tc.notFound, tc.is)
				}
				if after := registryState(t, r, nodes, cids); after != before {
					t.Fatalf("failed batch changed the registry:\n%s\nwas\n%s", after, before)
				}
			})
		}
	})
}

// testTwoHandlesRecordAudits has goroutines on two handles record batches
// over the same nodes and holders at once, as several auditd instances
// would: no reputation update or audit is lost, and no time is credited
// twice.
func testTwoHandlesRecordAudits(t *testing.T, a, b Registry) {
	ctx := context.Background()
	const nodes, cids, workers, rounds = 4, 3, 8, 5
	alice := mustAccount(t, a, "alice")
	var nodeIDs []string
	for i := range nodes {
		nodeIDs = append(nodeIDs, fmt.Sprintf("n%d", i))
		mustNode(t, a, nodeIDs[i], "eu")
	}
	for c := range cids {
		mustPin(t, a, alice, fmt.Sprintf("cid-%d", c), 3600, nodeIDs...)
	}
	mark0 := mustHolder(t, a, "cid-0", "n0").AccruedAt
	var marks []time.Time
	for c := range cids {
		marks = append(marks, mustHolder(t, a, fmt.Sprintf("cid-%d", c), "n0").AccruedAt)
	}

	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, workers)
	for w := range workers {
		r := []Registry{a, b}[w%2]
		wg.Go(func() {
			<-start
			for round := range rounds {
				at := mark0.Add(time.Duration(1+round*workers+w) * time.Second)
				var batch []NodeAudits
				for i := range nodes {
					// Workers go through the nodes in different orders.
					node := nodeIDs[(i+w)%nodes]
					var res []AuditResult
					for c := range cids {
						res = append(res, AuditResult{Audit: Audit{CID: fmt.Sprintf("cid-%d", c), At: at,
							Outcome: AuditPass}, Accrue: true})
					}
					batch = append(batch, NodeAudits{NodeID: node, Update: countUpdate(res), Results: res})
				}
				if _, err := r.RecordAudits(ctx, batch); err != nil {
					errs <- fmt.Errorf("worker %d: %w", w, err)
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	last := mark0.Add(time.Duration(rounds*workers) * time.Second)
	for _, node := range nodeIDs {
		for name, r := range map[string]Registry{"a": a, "b": b} {
			rep, err := r.Reputation(ctx, node)
			if err != nil || rep.Audits != workers*rounds*cids || rep.Passes != workers*rounds*cids {
				t.Errorf("%s.Reputation(%s) = %+v, %v; want %d audits and passes", name, node, rep, err, workers*rounds*cids)
			}
		}
		audits, err := b.Audits(ctx, node, 0, 1000)
		if err != nil || len(audits) != workers*rounds*cids {
			t.Errorf("Audits(%s): %d, %v; want %d", node, len(audits), err, workers*rounds*cids)
		}
		// Credit is for time from the first mark to the latest audit, once.
		e, err := a.Earnings(ctx, node, time.Time{}, time.Time{})
		want := 0.0
		for _, m := range marks {
			want += byteHours(3600, m.UnixNano(), last.UnixNano())
		}
		if err != nil || math.Abs(e.ByteHours-want) > 1e-6 {
			t.Errorf("Earnings(%s) = %+v, %v; want %v byte-hours", node, e, err, want)
		}
		for c := range cids {
			if h := mustHolder(t, b, fmt.Sprintf("cid-%d", c), node); !h.AccruedAt.Equal(last) || !h.LastAudit.Equal(last) {
				t.Errorf("holder %s of cid-%d = %+v; want mark and last audit %v", node, c, h, last)
			}
		}
	}
}
