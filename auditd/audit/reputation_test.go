package audit

import (
	"math/rand/v2"
	"testing"
	"time"

	"dstor/shared/registry"
)

func newModel(t *testing.T) Model {
	t.Helper()
	var m Model
	m.defaults()
	if err := m.validate(); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestModelOutcomes(t *testing.T) {
	now := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		results     []Result
		wantCounted string // of the last result
		wantStatus  string
		wantFails   int64
		wantContain string
		check       func(t *testing.T, r registry.NodeRep)
	}{
		{
			name:        "a pass keeps a fresh node at score 1",
			results:     []Result{{Outcome: registry.AuditPass, CID: "a"}},
			wantCounted: registry.AuditPass, wantStatus: StatusActive,
			check: func(t *testing.T, r registry.NodeRep) {
				if r.Score() != 1 {
					t.Errorf("score %v", r.Score())
				}
			},
		},
		{
			name:        "one failure of a fresh node does not disqualify it",
			results:     []Result{{Outcome: registry.AuditFail, CID: "a"}},
			wantCounted: registry.AuditFail, wantStatus: StatusActive, wantFails: 1,
			check: func(t *testing.T, r registry.NodeRep) {
				if s := r.Score(); s < 0.998 || s > 0.9991 {
					t.Errorf("score after one failure %v, want 0.999", s)
				}
			},
		},
		{
			name:        "offline is not failing",
			results:     repeat(Result{Outcome: registry.AuditOffline, CID: "a"}, 500),
			wantCounted: registry.AuditOffline, wantStatus: StatusActive,
			check: func(t *testing.T, r registry.NodeRep) {
				if r.Score() != 1 || r.Offline != 500 {
					t.Errorf("score %v offline %d", r.Score(), r.Offline)
				}
			},
		},
		{
			name:        "a timeout contains the node on that blob, no score change",
			results:     []Result{{Outcome: registry.AuditTimeout, CID: "a"}},
			wantCounted: registry.AuditTimeout, wantStatus: StatusActive, wantContain: "a",
			check: func(t *testing.T, r registry.NodeRep) {
				if r.Score() != 1 || r.ContainedTries != 1 {
					t.Errorf("score %v tries %d", r.Score(), r.ContainedTries)
				}
			},
		},
		{
			name:        "a pass on re-ask releases containment",
			results:     []Result{{Outcome: registry.AuditTimeout, CID: "a"}, {Outcome: registry.AuditPass, CID: "a"}},
			wantCounted: registry.AuditPass, wantStatus: StatusActive,
		},
		{
			name:        "the third timeout counts as a failure",
			results:     repeat(Result{Outcome: registry.AuditTimeout, CID: "a"}, 3),
			wantCounted: registry.AuditFail, wantStatus: StatusActive, wantFails: 1,
		},
		{
			name:        "41 failures in a row disqualify",
			results:     repeat(Result{Outcome: registry.AuditFail, CID: "a"}, 41),
			wantCounted: registry.AuditFail, wantStatus: StatusDisqualified, wantFails: 41,
		},
		{
			name:        "40 failures in a row do not",
			results:     repeat(Result{Outcome: registry.AuditFail, CID: "a"}, 40),
			wantCounted: registry.AuditFail, wantStatus: StatusActive, wantFails: 40,
		},
		{
			name: "disqualification is final",
			results: append(repeat(Result{Outcome: registry.AuditFail, CID: "a"}, 41),
				repeat(Result{Outcome: registry.AuditPass, CID: "b"}, 2000)...),
			wantCounted: registry.AuditPass, wantStatus: StatusDisqualified, wantFails: 41,
		},
		{
			name:        "unknown errors suspend, not disqualify",
			results:     repeat(Result{Outcome: registry.AuditUnknown, CID: "a"}, 600),
			wantCounted: registry.AuditUnknown, wantStatus: StatusSuspended,
			check: func(t *testing.T, r registry.NodeRep) {
				if r.Score() != 1 {
					t.Errorf("audit score %v moved on unknown errors", r.Score())
				}
			},
		},
		{
			name: "suspension lifts when the unknown score recovers",
			results: append(repeat(Result{Outcome: registry.AuditUnknown, CID: "a"}, 600),
				repeat(Result{Outcome: registry.AuditPass, CID: "a"}, 1500)...),
			wantCounted: registry.AuditPass, wantStatus: StatusActive,
		},
		{
			name:        "a late pass is a pass, flagged",
			results:     []Result{{Outcome: registry.AuditPass, CID: "a", Suspect: true}},
			wantCounted: registry.AuditPass, wantStatus: StatusActive,
			check: func(t *testing.T, r registry.NodeRep) {
				if r.Suspects != 1 || r.Score() != 1 {
					t.Errorf("suspects %d score %v", r.Suspects, r.Score())
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newModel(t)
			rep := registry.NodeRep{NodeID: "n", Alpha: 1, Status: StatusActive}
			var counted string
			for _, r := range tt.results {
				counted = m.Apply(&rep, r, now)
			}
			if counted != tt.wantCounted || rep.Status != tt.wantStatus || rep.Fails != tt.wantFails || rep.Contained != tt.wantContain {
				t.Errorf("counted %q status %q fails %d contained %q; want %q %q %d %q (rep %+v)",
					counted, rep.Status, rep.Fails, rep.Contained, tt.wantCounted, tt.wantStatus, tt.wantFails, tt.wantContain, rep)
			}
			if rep.Status != StatusActive && rep.StatusReason == "" {
				t.Error("a status change without a reason")
			}
			if tt.check != nil {
				tt.check(t, rep)
			}
		})
	}
}

func repeat(r Result, n int) []Result {
	out := make([]Result, n)
	for i := range out {
		out[i] = r
	}
	return out
}

// TestModelPrediction: a node that lost 5 % of its blobs is disqualified
// near the audit count the model predicts, and honest nodes with random
// timeouts and offline spells are never disqualified in 100,000 audits.
func TestModelPrediction(t *testing.T) {
	m := newModel(t)
	want := m.ExpectedAuditsToDisqualify(0.05)
	if want < 1500 || want > 1700 {
		t.Fatalf("predicted %d audits to disqualify at p=0.05; the closed form gives about 1609", want)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var sum int
	const runs = 200
	for range runs {
		rep := registry.NodeRep{NodeID: "n"}
		k := 0
		for rep.Status != StatusDisqualified {
			k++
			o := registry.AuditPass
			if rng.Float64() < 0.05 {
				o = registry.AuditFail
			}
			m.Apply(&rep, Result{Outcome: o, CID: "x"}, time.Time{})
			if k > 100000 {
				t.Fatal("never disqualified")
			}
		}
		sum += k
	}
	mean := sum / runs
	t.Logf("5 %% loss: disqualified after %d audits on average, predicted %d", mean, want)
	if mean < want*6/10 || mean > want*14/10 {
		t.Errorf("mean audits to disqualification %d, far from the predicted %d", mean, want)
	}

	for node := range 5 {
		rep := registry.NodeRep{NodeID: "honest"}
		for i := range 100000 {
			o := registry.AuditPass
			switch x := rng.Float64(); {
			case x < 0.01:
				o = registry.AuditOffline
			case x < 0.02:
				o = registry.AuditTimeout
			}
			m.Apply(&rep, Result{Outcome: o, CID: "c" + string(rune('a'+i%26))}, time.Time{})
			if rep.Status != StatusActive {
				t.Fatalf("honest node %d %s after %d audits: %s", node, rep.Status, i+1, rep.StatusReason)
			}
		}
	}
}
