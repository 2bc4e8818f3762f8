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

// mustHolder returns the holder row (cid, node) or fails the test.
func mustHolder(t *testing.T, r Registry, cid, node string) Holder {
	t.Helper()
	for _, h := range mustPinInfo(t, r, cid).Holders {
		if h.NodeID == node {
			return h
		}
	}
	t.Fatalf("no holder %s of %s", node, cid)
	return Holder{}
}

// auditIDs returns the IDs of audits, in order.
func auditIDs(audits []Audit) []int64 {
	ids := make([]int64, len(audits))
	for i, a := range audits {
		ids[i] = a.ID
	}
	return ids
}

// sameAudit reports whether a and b are equal, comparing At with Equal.
func sameAudit(a, b Audit) bool {
	if !a.At.Equal(b.At) {
		return false
	}
	a.At, b.At = time.Time{}, time.Time{}
	return a == b
}

func testRecordAudit(t *testing.T, r Registry) {
	ctx := context.Background()
	alice := mustAccount(t, r, "alice")
	mustNode(t, r, "n1", "eu")
	mustNode(t, r, "n2", "us")
	mustPin(t, r, alice, "cid-a", 100, "n1", "n2")
	mustPin(t, r, alice, "cid-b", 100, "n1")

	t.Run("never audited", func(t *testing.T) {
		info := mustPinInfo(t, r, "cid-a")
		if !info.LastAudit.IsZero() {
			t.Fatalf("PinInfo.LastAudit = %v, want zero", info.LastAudit)
		}
		for _, h := range info.Holders {
			if !h.LastAudit.IsZero() || h.LastOutcome != "" {
				t.Fatalf("holder %+v: want zero LastAudit, empty LastOutcome", h)
			}
			if h.AccruedAt.IsZero() || !h.AccruedAt.Equal(h.UpdatedAt) || h.AccruedAt.Location() != time.UTC {
				t.Fatalf("holder %+v: want AccruedAt = UpdatedAt, the row's creation, in UTC", h)
			}
		}
	})

	base := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	at := func(m int) time.Time { return base.Add(time.Duration(m) * time.Minute) }
	type holderWant struct {
		cid, node, outcome string
		at                 time.Time // zero: never audited
	}
	tests := []struct {
		name    string
		a       Audit
		err     bool
		notFnd  bool
		holders []holderWant // holder rows afterwards
	}{
		{"pass on holder", Audit{NodeID: "n1", CID: "cid-a", Auditor: "aud-1", At: at(10), Outcome: AuditPass,
			Latency: 30 * time.Millisecond, Deadline: 2 * time.Second},
			false, false, []holderWant{{"cid-a", "n1", AuditPass, at(10)}, {"cid-a", "n2", "", time.Time{}}, {"cid-b", "n1", "", time.Time{}}}},
		{"fail with reason", Audit{NodeID: "n2", CID: "cid-a", Auditor: "aud-2", At: at(11), Outcome: AuditFail,
			Reason: "proof does not verify", Latency: time.Second, Deadline: 2 * time.Second},
			false, false, []holderWant{{"cid-a", "n1", AuditPass, at(10)}, {"cid-a", "n2", AuditFail, at(11)}, {"cid-b", "n1", "", time.Time{}}}},
		{"older audit is history only", Audit{NodeID: "n1", CID: "cid-a", At: at(5), Outcome: AuditTimeout, Reason: "no answer"},
			false, false, []holderWant{{"cid-a", "n1", AuditPass, at(10)}, {"cid-a", "n2", AuditFail, at(11)}, {"cid-b", "n1", "", time.Time{}}}},
		{"same time replaces", Audit{NodeID: "n1", CID: "cid-a", At: at(10), Outcome: AuditOffline, Reason: "dial: refused"},
			false, false, []holderWant{{"cid-a", "n1", AuditOffline, at(10)}, {"cid-a", "n2", AuditFail, at(11)}, {"cid-b", "n1", "", time.Time{}}}},
		{"suspect pass", Audit{NodeID: "n1", CID: "cid-b", At: at(12), Outcome: AuditPass, Suspect: true,
			Latency: 3 * time.Second, Deadline: 2 * time.Second},
			false, false, []holderWant{{"cid-a", "n1", AuditOffline, at(10)}, {"cid-a", "n2", AuditFail, at(11)}, {"cid-b", "n1", AuditPass, at(12)}}},
		{"node not holding the cid", Audit{NodeID: "n2", CID: "cid-b", At: at(13), Outcome: AuditFail, Reason: "not found"},
			false, false, []holderWant{{"cid-a", "n1", AuditOffline, at(10)}, {"cid-a", "n2", AuditFail, at(11)}, {"cid-b", "n1", AuditPass, at(12)}}},
		{"unknown cid", Audit{NodeID: "n2", CID: "cid-unknown", At: at(14), Outcome: AuditUnknown, Reason: "tls: bad certificate"},
			false, false, nil},
		{"unknown node", Audit{NodeID: "n-missing", CID: "cid-a", At: at(15), Outcome: AuditPass}, true, true, nil},
		{"empty node", Audit{CID: "cid-a", At: at(15), Outcome: AuditPass}, true, true, nil},
		{"empty cid", Audit{NodeID: "n1", At: at(15), Outcome: AuditPass}, true, false, nil},
		{"bad outcome", Audit{NodeID: "n1", CID: "cid-a", At: at(15), Outcome: "bogus", Reason: "x"}, true, false, nil},
		{"empty outcome", Audit{NodeID: "n1", CID: "cid-a", At: at(15)}, true, false, nil},
		{"case matters", Audit{NodeID: "n1", CID: "cid-a", At: at(15), Outcome: "PASS"}, true, false, nil},
		{"failure without reason", Audit{NodeID: "n1", CID: "cid-a", At: at(15), Outcome: AuditFail}, true, false, nil},
		{"timeout without reason", Audit{NodeID: "n1", CID: "cid-a", At: at(15), Outcome: AuditTimeout}, true, false, nil},
		{"negative latency", Audit{NodeID: "n1", CID: "cid-a", At: at(15), Outcome: AuditPass, Latency: -1}, true, false, nil},
		{"negative deadline", Audit{NodeID: "n1", CID: "cid-a", At: at(15), Outcome: AuditPass, Deadline: -1}, true, false, nil},
	}
	var lastID int64
	recorded := map[string][]Audit{} // by node, oldest first
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, err := r.RecordAudit(ctx, tc.a)
			if tc.err != (err != nil) || tc.notFnd != errors.Is(err, ErrNotFound) {
				t.Fatalf("RecordAudit(%+v) = %d, %v; want err %v, ErrNotFound %v", tc.a, id, err, tc.err, tc.notFnd)
			}
			if err == nil {
				if id <= lastID {
					t.Fatalf("RecordAudit id = %d, want > previous %d", id, lastID)
				}
				lastID = id
				a := tc.a
				a.ID = id
				recorded[a.NodeID] = append(recorded[a.NodeID], a)
			} else if id != 0 {
				t.Errorf("failed RecordAudit returned id %d", id)
			}
			// The history holds exactly the recorded audits.
			for _, node := range []string{"n1", "n2"} {
				got, err := r.Audits(ctx, node, 0, 0)
				if err != nil {
					t.Fatalf("Audits(%s): %v", node, err)
				}
				want := slices.Clone(recorded[node])
				slices.Reverse(want)
				if !slices.EqualFunc(got, want, sameAudit) {
					t.Fatalf("Audits(%s) = %+v, want %+v", node, got, want)
				}
			}
			for _, hw := range tc.holders {
				h := mustHolder(t, r, hw.cid, hw.node)
				if h.LastOutcome != hw.outcome || !h.LastAudit.Equal(hw.at) {
					t.Fatalf("holder %s of %s: last audit %v %q, want %v %q",
						hw.node, hw.cid, h.LastAudit, h.LastOutcome, hw.at, hw.outcome)
				}
				if !hw.at.IsZero() && h.LastAudit.Location() != time.UTC {
					t.Fatalf("LastAudit location = %v, want UTC", h.LastAudit.Location())
				}
			}
			if tc.holders != nil {
				// PinInfo.LastAudit is the newest over the holders.
				var newest time.Time
				for _, hw := range tc.holders {
					if hw.cid == "cid-a" && hw.at.After(newest) {
						newest = hw.at
					}
				}
				if got := mustPinInfo(t, r, "cid-a").LastAudit; !got.Equal(newest) {
					t.Fatalf("PinInfo(cid-a).LastAudit = %v, want %v", got, newest)
				}
			}
		})
	}
	t.Run("unknown cid is not created", func(t *testing.T) {
		if _, err := r.Pin(ctx, "cid-unknown"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Pin(cid-unknown) err = %v, want ErrNotFound", err)
		}
	})
	t.Run("zero At is now", func(t *testing.T) {
		t0 := time.Now()
		id, err := r.RecordAudit(ctx, Audit{NodeID: "n2", CID: "cid-a", Outcome: AuditPass})
		t1 := time.Now()
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.Audits(ctx, "n2", 0, 1)
		if err != nil || len(got) != 1 || got[0].ID != id {
			t.Fatalf("Audits(n2, limit 1) = %+v, %v; want the audit %d", got, err, id)
		}
		if at := got[0].At; at.Before(t0.Add(-time.Second)) || at.After(t1.Add(time.Second)) || at.Location() != time.UTC {
			t.Fatalf("At = %v, want UTC in [%v, %v]", at, t0, t1)
		}
		// An audit dated now is older than the one dated 2030: the holder keeps that.
		if h := mustHolder(t, r, "cid-a", "n2"); !h.LastAudit.Equal(at(11)) {
			t.Fatalf("holder LastAudit = %v, want kept %v", h.LastAudit, at(11))
		}
	})
}

func testAudits(t *testing.T, r Registry) {
	ctx := context.Background()
	mustNode(t, r, "n1", "eu")
	mustNode(t, r, "n2", "eu")
	mustNode(t, r, "n-quiet", "eu")
	base := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	var n1IDs []int64 // oldest first
	for i := range 7 {
		for _, node := range []string{"n1", "n2"} {
			if node == "n2" && i >= 2 {
				continue
			}
			id, err := r.RecordAudit(ctx, Audit{NodeID: node, CID: fmt.Sprintf("cid-%d", i),
				At: base.Add(time.Duration(i) * time.Second), Outcome: AuditPass})
			if err != nil {
				t.Fatal(err)
			}
			if node == "n1" {
				n1IDs = append(n1IDs, id)
			}
		}
	}
	newest := slices.Clone(n1IDs)
	slices.Reverse(newest)
	tests := []struct {
		name   string
		node   string
		before int64
		limit  int
		want   []int64
		notFnd bool
	}{
		{"all, default limit", "n1", 0, 0, newest, false},
		{"negative limit is the default", "n1", 0, -5, newest, false},
		{"negative before is none", "n1", -1, 0, newest, false},
		{"first page", "n1", 0, 3, newest[:3], false},
		{"second page", "n1", newest[2], 3, newest[3:6], false},
		{"last page", "n1", newest[5], 3, newest[6:], false},
		{"past the end", "n1", newest[6], 3, nil, false},
		{"before above every id", "n1", newest[0] + 1000, 2, newest[:2], false},
		{"limit above count", "n1", 0, 1000, newest, false},
		{"other node", "n2", 0, 0, nil, false}, // checked by length below
		{"node never audited", "n-quiet", 0, 0, nil, false},
		{"unknown node", "n-missing", 0, 0, nil, true},
		{"empty node", "", 0, 0, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.Audits(ctx, tc.node, tc.before, tc.limit)
			if tc.notFnd {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("Audits = %v, %v; want ErrNotFound", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Audits: %v", err)
			}
			for _, a := range got {
				if a.NodeID != tc.node {
					t.Fatalf("Audits(%s) returned %+v", tc.node, a)
				}
			}
			if tc.node == "n2" {
				if len(got) != 2 || got[0].CID != "cid-1" || got[1].CID != "cid-0" {
					t.Fatalf("Audits(n2) = %+v, want cid-1 then cid-0", got)
				}
				return
			}
			if ids := auditIDs(got); !slices.Equal(ids, tc.want) && !(len(ids) == 0 && len(tc.want) == 0) {
				t.Fatalf("Audits ids = %v, want %v", ids, tc.want)
			}
		})
	}
	t.Run("default limit is 100", func(t *testing.T) {
		for i := range 105 {
			if _, err := r.RecordAudit(ctx, Audit{NodeID: "n2", CID: "cid-many", At: base.Add(time.Duration(i) * time.Minute),
				Outcome: AuditOffline, Reason: "unreachable"}); err != nil {
				t.Fatal(err)
			}
		}
		got, err := r.Audits(ctx, "n2", 0, 0)
		if err != nil || len(got) != 100 {
			t.Fatalf("Audits(n2) = %d audits, %v; want 100", len(got), err)
		}
	})
}

func testReputation(t *testing.T, r Registry) {
	ctx := context.Background()
	t.Run("none on an empty registry", func(t *testing.T) {
		reps, err := r.Reputations(ctx)
		if err != nil || len(reps) != 0 {
			t.Fatalf("Reputations = %+v, %v; want none", reps, err)
		}
	})
	for _, id := range []string{"n-c", "n-a", "n-b"} {
		mustNode(t, r, id, "eu")
	}
	tests := []struct {
		name   string
		node   string
		want   NodeRep
		notFnd bool
	}{
		{"new node has the defaults", "n-a", NodeRep{NodeID: "n-a", Alpha: 1, UnknownAlpha: 1, Status: NodeActive}, false},
		{"unknown node", "n-missing", NodeRep{}, true},
		{"empty node", "", NodeRep{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.Reputation(ctx, tc.node)
			if tc.notFnd != errors.Is(err, ErrNotFound) || (!tc.notFnd && err != nil) {
				t.Fatalf("Reputation(%q) = %+v, %v; want ErrNotFound %v", tc.node, got, err, tc.notFnd)
			}
			if got != tc.want {
				t.Fatalf("Reputation(%q) = %+v, want %+v", tc.node, got, tc.want)
			}
			if !tc.notFnd && got.Score() != 1 {
				t.Fatalf("new node Score = %v, want 1", got.Score())
			}
		})
	}
	t.Run("Reputations lists every node in order", func(t *testing.T) {
		if _, err := r.UpdateReputation(ctx, "n-b", func(rep *NodeRep) error {
			rep.Beta = 1
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		reps, err := r.Reputations(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, rep := range reps {
			ids = append(ids, rep.NodeID)
			wantBeta := 0.0
			if rep.NodeID == "n-b" {
				wantBeta = 1
			}
			if rep.Beta != wantBeta || rep.Alpha != 1 || rep.Status != NodeActive {
				t.Errorf("reputation %+v, want defaults with Beta %v", rep, wantBeta)
			}
		}
		if !slices.Equal(ids, []string{"n-a", "n-b", "n-c"}) {
			t.Fatalf("Reputations ids = %v, want [n-a n-b n-c]", ids)
		}
		if one, err := r.Reputation(ctx, "n-b"); err != nil || one != reps[1] {
			t.Fatalf("Reputation(n-b) = %+v, %v; want %+v as listed", one, err, reps[1])
		}
	})
}

func testUpdateReputation(t *testing.T, r Registry) {
	ctx := context.Background()
	mustNode(t, r, "n1", "eu")
	mustNode(t, r, "n2", "eu")
	errBoom := errors.New("boom")
	fixed := time.Date(2029, 9, 9, 9, 9, 9, 9, time.UTC)

	// want is n1's reputation as it should be stored; UpdatedAt and
	// StatusAt are checked apart.
	want := NewNodeRep("n1")
	tests := []struct {
		name         string
		node         string
		f            func(*NodeRep) error
		err          error // errors.Is target, or errAny
		apply        func(*NodeRep)
		statusAtNow  bool // StatusAt must be the update's time
		statusAtKept bool // StatusAt must be unchanged
	}{
		{"pass", "n1", func(r *NodeRep) error {
			r.Alpha = 0.999*r.Alpha + 1
			r.Beta = 0.999 * r.Beta
			r.Audits++
			r.Passes++
			return nil
		}, nil, func(r *NodeRep) { r.Alpha = 0.999*1 + 1; r.Audits, r.Passes = 1, 1 }, false, true},
		{"fail", "n1", func(r *NodeRep) error {
			r.Alpha = 0.999 * r.Alpha
			r.Beta = 0.999*r.Beta + 1
			r.Audits++
			r.Fails++
			return nil
		}, nil, func(r *NodeRep) { r.Alpha *= 0.999; r.Beta = 1; r.Audits, r.Fails = 2, 1 }, false, true},
		{"containment", "n1", func(r *NodeRep) error {
			r.Contained, r.ContainedTries = "cid-x", 2
			r.Timeouts++
			return nil
		}, nil, func(r *NodeRep) { r.Contained, r.ContainedTries = "cid-x", 2; r.Timeouts = 1 }, false, true},
		{"every count", "n1", func(r *NodeRep) error {
			r.Offline, r.Unknown, r.Suspects = 3, 4, 5
			r.UnknownAlpha, r.UnknownBeta = 0.5, 0.25
			return nil
		}, nil, func(r *NodeRep) {
			r.Offline, r.Unknown, r.Suspects = 3, 4, 5
			r.UnknownAlpha, r.UnknownBeta = 0.5, 0.25
		}, false, true},
		{"f fails", "n1", func(r *NodeRep) error {
			r.Passes = 1000
			return errBoom
		}, errBoom, nil, false, true},
		{"bad status", "n1", func(r *NodeRep) error { r.Status = "gone"; return nil }, errAny, nil, false, true},
		{"empty status", "n1", func(r *NodeRep) error { r.Status = ""; return nil }, errAny, nil, false, true},
		{"NaN alpha", "n1", func(r *NodeRep) error { r.Alpha = math.NaN(); return nil }, errAny, nil, false, true},
		{"infinite beta", "n1", func(r *NodeRep) error { r.Beta = math.Inf(1); return nil }, errAny, nil, false, true},
		{"negative unknown beta", "n1", func(r *NodeRep) error { r.UnknownBeta = -1; return nil }, errAny, nil, false, true},
		{"negative count", "n1", func(r *NodeRep) error { r.Fails = -1; return nil }, errAny, nil, false, true},
		{"negative tries", "n1", func(r *NodeRep) error { r.ContainedTries = -1; return nil }, errAny, nil, false, true},
		{"node id changed", "n1", func(r *NodeRep) error { r.NodeID = "n2"; return nil }, errAny, nil, false, true},
		{"unknown node", "n-missing", func(r *NodeRep) error { return nil }, ErrNotFound, nil, false, true},
		{"suspend stamps StatusAt", "n1", func(r *NodeRep) error {
			r.Status, r.StatusReason = NodeSuspended, "unknown-error score 0.5"
			return nil
		}, nil, func(r *NodeRep) { r.Status, r.StatusReason = NodeSuspended, "unknown-error score 0.5" }, true, false},
		{"same status keeps StatusAt", "n1", func(r *NodeRep) error { r.StatusReason = "still"; return nil },
			nil, func(r *NodeRep) { r.StatusReason = "still" }, false, true},
		{"explicit StatusAt", "n1", func(r *NodeRep) error {
			r.Status, r.StatusReason, r.StatusAt = NodeDisqualified, "score 0.95 < 0.96", fixed
			return nil
		}, nil, func(r *NodeRep) {
			r.Status, r.StatusReason, r.StatusAt = NodeDisqualified, "score 0.95 < 0.96", fixed
		}, false, false},
		{"reinstate", "n1", func(r *NodeRep) error {
			r.Status, r.StatusReason = NodeActive, "operator appeal"
			r.Contained, r.ContainedTries = "", 0
			return nil
		}, nil, func(r *NodeRep) {
			r.Status, r.StatusReason = NodeActive, "operator appeal"
			r.Contained, r.ContainedTries = "", 0
		}, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, err := r.Reputation(ctx, "n1")
			if err != nil {
				t.Fatal(err)
			}
			calls := 0
			f := func(rep *NodeRep) error {
				calls++
				return tc.f(rep)
			}
			t0 := time.Now()
			got, err := r.UpdateReputation(ctx, tc.node, f)
			t1 := time.Now()
			switch {
			case tc.err == errAny && err == nil, tc.err == nil && err != nil,
				tc.err != nil && tc.err != errAny && !errors.Is(err, tc.err):
				t.Fatalf("UpdateReputation = %+v, %v; want error %v", got, err, tc.err)
			}
			if tc.err == ErrNotFound && calls != 0 {
				t.Errorf("f called %d times for an unknown node", calls)
			}
			stored, err2 := r.Reputation(ctx, "n1")
			if err2 != nil {
				t.Fatal(err2)
			}
			if err != nil {
				if got != (NodeRep{}) {
					t.Errorf("failed UpdateReputation returned %+v", got)
				}
				if stored != before {
					t.Fatalf("after failed update: %+v, want unchanged %+v", stored, before)
				}
				return
			}
			if calls < 1 {
				t.Fatal("f not called")
			}
			tc.apply(&want)
			if stored != got {
				t.Fatalf("stored %+v, returned %+v", stored, got)
			}
			if got.UpdatedAt.Before(t0.Add(-time.Second)) || got.UpdatedAt.After(t1.Add(time.Second)) ||
				got.UpdatedAt.Location() != time.UTC || got.UpdatedAt.Before(before.UpdatedAt) {
				t.Fatalf("UpdatedAt = %v, want UTC in [%v, %v]", got.UpdatedAt, t0, t1)
			}
			switch {
			case tc.statusAtNow:
				if !got.StatusAt.Equal(got.UpdatedAt) || got.StatusAt.Location() != time.UTC {
					t.Fatalf("StatusAt = %v, want the update time %v", got.StatusAt, got.UpdatedAt)
				}
			case tc.statusAtKept:
				if !got.StatusAt.Equal(before.StatusAt) {
					t.Fatalf("StatusAt = %v, want kept %v", got.StatusAt, before.StatusAt)
				}
			}
			want.StatusAt, want.UpdatedAt = got.StatusAt, got.UpdatedAt
			if got != want {
				t.Fatalf("UpdateReputation = %+v, want %+v", got, want)
			}
		})
	}
	t.Run("other node untouched", func(t *testing.T) {
		if got, err := r.Reputation(ctx, "n2"); err != nil || got != NewNodeRep("n2") {
			t.Fatalf("Reputation(n2) = %+v, %v; want the defaults", got, err)
		}
	})
}

// errAny in a test table means "some error".
var errAny = errors.New("any error")

// testTwoHandlesUpdateReputation has goroutines on two handles increment one
// node's reputation at once, as several auditd instances would: no update
// is lost.
func testTwoHandlesUpdateReputation(t *testing.T, a, b Registry) {
	ctx := context.Background()
	mustNode(t, a, "n1", "eu")
	const workers, rounds = 16, 10
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, workers)
	for i := range workers {
		r := []Registry{a, b}[i%2]
		wg.Go(func() {
			<-start
			for range rounds {
				if _, err := r.UpdateReputation(ctx, "n1", func(rep *NodeRep) error {
					rep.Audits++
					rep.Passes++
					rep.Alpha++
					return nil
				}); err != nil {
					errs <- fmt.Errorf("worker %d: %w", i, err)
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
	for name, r := range map[string]Registry{"a": a, "b": b} {
		rep, err := r.Reputation(ctx, "n1")
		if err != nil || rep.Audits != workers*rounds || rep.Passes != workers*rounds || rep.Alpha != 1+workers*rounds {
			t.Errorf("%s.Reputation = %+v, %v; want %d audits and passes, alpha %d",
				name, rep, err, workers*rounds, 1+workers*rounds)
		}
	}
}
