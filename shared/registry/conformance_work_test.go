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

// disqualify sets a node's status to NodeDisqualified or fails the test.
func disqualify(t *testing.T, r Registry, node string) {
	t.Helper()
	if _, err := r.UpdateReputation(context.Background(), node, func(rep *NodeRep) error {
		rep.Status, rep.StatusReason = NodeDisqualified, "test"
		return nil
	}); err != nil {
		t.Fatalf("disqualify %s: %v", node, err)
	}
}

func testTryLease(t *testing.T, r Registry) {
	ctx := context.Background()
	// short leases expire during the one wait of expiry; no two steps
	// between them take that long.
	const short, expiry = 300 * time.Millisecond, 400 * time.Millisecond
	tests := []struct {
		name    string
		release bool          // ReleaseLease instead of TryLease
		wait    time.Duration // sleep first
		key     string
		owner   string
		ttl     time.Duration
		want    bool
		err     bool
	}{
		{"free key", false, 0, "k1", "a", time.Hour, true, false},
		{"held by another", false, 0, "k1", "b", time.Hour, false, false},
		{"renewal by owner", false, 0, "k1", "a", time.Hour, true, false},
		{"other key is free", false, 0, "k2", "b", time.Hour, true, false},
		{"keys are exact", false, 0, "k", "b", time.Hour, true, false},
		{"release by another keeps it", true, 0, "k1", "b", 0, false, false},
		{"still held", false, 0, "k1", "b", time.Hour, false, false},
		{"release by owner", true, 0, "k1", "a", 0, false, false},
		{"released key is free", false, 0, "k1", "b", time.Hour, true, false},
		{"release of a free key", true, 0, "k-free", "a", 0, false, false},
		{"longest ttl", false, 0, "k5", "a", math.MaxInt64, true, false},
		{"longest ttl held", false, 0, "k5", "b", time.Hour, false, false},
		{"empty key", false, 0, "", "a", time.Hour, false, true},
		{"empty owner", false, 0, "k6", "", time.Hour, false, true},
		{"zero ttl", false, 0, "k6", "a", 0, false, true},
		{"negative ttl", false, 0, "k6", "a", -time.Second, false, true},
		{"failed calls took nothing", false, 0, "k6", "b", time.Hour, true, false},
		{"short lease", false, 0, "k3", "a", short, true, false},
		{"another short lease", false, 0, "k4", "a", short, true, false},
		{"short lease held", false, 0, "k3", "b", time.Hour, false, false},
		{"expired lease is taken", false, expiry, "k3", "b", time.Hour, true, false},
		{"former owner is out", false, 0, "k3", "a", time.Hour, false, false},
		{"expired lease renewed by owner", false, 0, "k4", "a", time.Hour, true, false},
		{"renewed lease held", false, 0, "k4", "b", time.Hour, false, false},
		{"long lease did not expire", false, 0, "k6", "a", time.Hour, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			time.Sleep(tc.wait)
			if tc.release {
				if err := r.ReleaseLease(ctx, tc.key, tc.owner); err != nil {
					t.Fatalf("ReleaseLease(%q, %q): %v", tc.key, tc.owner, err)
				}
				return
			}
			got, err := r.TryLease(ctx, tc.key, tc.owner, tc.ttl)
			if got != tc.want || tc.err != (err != nil) {
				t.Fatalf("TryLease(%q, %q, %v) = %v, %v; want %v, err %v", tc.key, tc.owner, tc.ttl, got, err, tc.want, tc.err)
			}
		})
	}
}

// testTwoHandlesLeases has goroutines on two handles race for leases, as
// several auditd instances would.
func testTwoHandlesLeases(t *testing.T, a, b Registry) {
	ctx := context.Background()
	const workers = 16
	// race runs TryLease(key, owner(i)) in every worker at once and returns
	// the owners that got it, one entry per successful call.
	race := func(t *testing.T, key string, owner func(i int) string) []string {
		var (
			wg     sync.WaitGroup
			mu     sync.Mutex
			winner []string
		)
		start := make(chan struct{})
		for i := range workers {
			r := []Registry{a, b}[i%2]
			wg.Go(func() {
				<-start
				ok, err := r.TryLease(ctx, key, owner(i), time.Hour)
				if err != nil {
					t.Errorf("worker %d: %v", i, err)
				}
				if ok {
					mu.Lock()
					winner = append(winner, owner(i))
					mu.Unlock()
				}
			})
		}
		close(start)
		wg.Wait()
		return winner
	}
	t.Run("one of many owners wins", func(t *testing.T) {
		got := race(t, "k-many", func(i int) string { return fmt.Sprintf("auditd-%d", i) })
		if len(got) != 1 {
			t.Fatalf("winners = %v, want exactly one", got)
		}
	})
	t.Run("one of two owners wins", func(t *testing.T) {
		// Several workers share an owner: they all hold it, the other none.
		got := race(t, "k-two", func(i int) string { return []string{"x", "y"}[i/(workers/2)] })
		if len(got) == 0 || slices.ContainsFunc(got, func(o string) bool { return o != got[0] }) {
			t.Fatalf("winners = %v, want one owner (possibly several times)", got)
		}
	})
	t.Run("expiry and release across handles", func(t *testing.T) {
		steps := []struct {
			name  string
			r     Registry
			owner string
			ttl   time.Duration
			wait  time.Duration
			want  bool
		}{
			{"a takes", a, "x", 300 * time.Millisecond, 0, true},
			{"b blocked", b, "y", time.Hour, 0, false},
			{"b takes after expiry", b, "y", time.Hour, 400 * time.Millisecond, true},
			{"a blocked", a, "x", time.Hour, 0, false},
		}
		for _, s := range steps {
			time.Sleep(s.wait)
			if got, err := s.r.TryLease(ctx, "k-exp", s.owner, s.ttl); err != nil || got != s.want {
				t.Fatalf("%s: TryLease = %v, %v; want %v", s.name, got, err, s.want)
			}
		}
		if err := b.ReleaseLease(ctx, "k-exp", "y"); err != nil {
			t.Fatal(err)
		}
		if got, err := a.TryLease(ctx, "k-exp", "x", time.Hour); err != nil || !got {
			t.Fatalf("a.TryLease after b's release = %v, %v; want true", got, err)
		}
	})
}

func testSampleHolders(t *testing.T, r Registry) {
	ctx := context.Background()
	alice := mustAccount(t, r, "alice")
	for _, id := range []string{"n1", "n2", "n3", "n4"} {
		mustNode(t, r, id, "region-"+id)
	}
	t.Run("nothing to sample", func(t *testing.T) {
		mustPin(t, r, alice, "cid-empty", 0, "n1")
		got, err := r.SampleHolders(ctx, 10)
		if err != nil || len(got) != 0 {
			t.Fatalf("SampleHolders = %+v, %v; want none (zero-size content only)", got, err)
		}
	})
	mustPin(t, r, alice, "cid-big", 1<<20, "n1", "n2", "n3", "n4")
	mustPin(t, r, alice, "cid-small", 1<<10, "n2")
	mustPin(t, r, alice, "cid-pinning", 1<<10)
	for _, step := range []struct{ cid, node, status string }{
		{"cid-big", "n2", StatusFailed},
		{"cid-pinning", "n1", StatusPinning},
	} {
		if err := r.SetHolderStatus(ctx, step.cid, step.node, step.status); err != nil {
			t.Fatal(err)
		}
	}
	disqualify(t, r, "n4")
	if _, err := r.UpdateReputation(ctx, "n3", func(rep *NodeRep) error {
		rep.Status = NodeSuspended // still audited
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	eligible := []AuditTarget{
		{CID: "cid-big", Size: 1 << 20, NodeID: "n1", Region: "region-n1", URL: "https://n1.example:4433", Status: StatusPinned},
		{CID: "cid-big", Size: 1 << 20, NodeID: "n2", Region: "region-n2", URL: "https://n2.example:4433", Status: StatusFailed}, // audited until dropped
		{CID: "cid-big", Size: 1 << 20, NodeID: "n3", Region: "region-n3", URL: "https://n3.example:4433", Status: StatusPinned},
		{CID: "cid-small", Size: 1 << 10, NodeID: "n2", Region: "region-n2", URL: "https://n2.example:4433", Status: StatusPinned},
	}
	key := func(t AuditTarget) string { return t.CID + "@" + t.NodeID }
	tests := []struct {
		name string
		n    int
		want int // number of targets
	}{
		{"zero", 0, 0},
		{"negative", -1, 0},
		{"one", 1, 1},
		{"two", 2, 2},
		{"every eligible pair once", 4, 4},
		{"more than there are", 100, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for range 5 {
				got, err := r.SampleHolders(ctx, tc.n)
				if err != nil || len(got) != tc.want {
					t.Fatalf("SampleHolders(%d) = %+v, %v; want %d targets", tc.n, got, err, tc.want)
				}
				seen := map[string]bool{}
				for _, g := range got {
					if seen[key(g)] {
						t.Fatalf("SampleHolders(%d) = %+v: %s twice", tc.n, got, key(g))
					}
					seen[key(g)] = true
					if !slices.Contains(eligible, g) {
						t.Fatalf("SampleHolders(%d) returned %+v, not one of %+v", tc.n, g, eligible)
					}
				}
			}
		})
	}
}

// testSampleHoldersWeighting checks that SampleHolders picks in proportion
// to size, with loose bounds (the probability of a false failure is far
// below 1e-9).
func testSampleHoldersWeighting(t *testing.T, r Registry) {
	ctx := context.Background()
	alice := mustAccount(t, r, "alice")
	mustNode(t, r, "n1", "eu")
	mustPin(t, r, alice, "cid-1m", 1<<20, "n1")
	mustPin(t, r, alice, "cid-1k", 1<<10, "n1")
	const draws = 300
	count := func(t *testing.T) map[string]int {
		t.Helper()
		picks := map[string]int{}
		for range draws {
			got, err := r.SampleHolders(ctx, 1)
			if err != nil || len(got) != 1 {
				t.Fatalf("SampleHolders(1) = %+v, %v", got, err)
			}
			picks[got[0].CID]++
		}
		return picks
	}
	t.Run("1 MiB against 1 KiB", func(t *testing.T) {
		// P(1 KiB) = 1/1025: about 0.3 expected picks.
		picks := count(t)
		if picks["cid-1k"] > 8 {
			t.Fatalf("picks = %v: 1 KiB picked %d times in %d, want about %d", picks, picks["cid-1k"], draws, draws/1025)
		}
	})
	t.Run("without replacement", func(t *testing.T) {
		for range 10 {
			got, err := r.SampleHolders(ctx, 2)
			if err != nil || len(got) != 2 || got[0].CID == got[1].CID {
				t.Fatalf("SampleHolders(2) = %+v, %v; want both CIDs", got, err)
			}
		}
	})
	t.Run("3 KiB against 1 KiB", func(t *testing.T) {
		if err := r.RemoveHolder(ctx, "cid-1m", "n1"); err != nil {
			t.Fatal(err)
		}
		mustPin(t, r, alice, "cid-3k", 3<<10, "n1")
		// P(3 KiB) = 0.75, standard deviation of the share 0.025.
		picks := count(t)
		if share := float64(picks["cid-3k"]) / draws; share < 0.6 || share > 0.9 {
			t.Fatalf("picks = %v: 3 KiB share %.3f, want about 0.75", picks, share)
		}
	})
}

func testUnderReplicated(t *testing.T, r Registry) {
	ctx := context.Background()
	alice := mustAccount(t, r, "alice")
	var nodes []string
	for i := range 17 {
		nodes = append(nodes, fmt.Sprintf("n%02d", i))
		mustNode(t, r, nodes[i], "eu")
	}
	disqualify(t, r, "n16")
	threeQuarters := func(r int) int { return r * 3 / 4 } // 12 of 16, 3 of 4, 1 of 2
	type pin struct {
		cid      string
		replicas int
		status   string
		holders  []string          // pinned
		others   map[string]string // node -> status
	}
	pins := []pin{
		{"cid-ok", 4, StatusPinned, nodes[:4], nil},
		{"cid-one-short", 4, StatusPinned, nodes[:2], map[string]string{"n02": StatusFailed}},
		{"cid-disq", 4, StatusPinned, []string{"n00", "n16"}, map[string]string{"n05": StatusPinning}},
		{"cid-none", 4, StatusPinned, nil, nil},
		{"cid-queued", 4, StatusQueued, nil, nil},
		{"cid-pinning", 4, StatusPinning, nodes[:1], nil},
		{"cid-failed", 2, StatusFailed, nil, nil},
		{"cid-r0", 0, StatusPinned, nil, nil},
		{"cid-16-ok", 16, StatusPinned, nodes[:12], map[string]string{"n12": StatusFailed}},
		{"cid-16-short", 16, StatusPinned, append(slices.Clone(nodes[:11]), "n16"), nil},
	}
	for _, p := range pins {
		mustPin(t, r, alice, p.cid, 10, p.holders...)
		for node, st := range p.others {
			if err := r.SetHolderStatus(ctx, p.cid, node, st); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.SetReplicas(ctx, p.cid, p.replicas); err != nil {
			t.Fatal(err)
		}
		if err := r.SetPinStatus(ctx, p.cid, p.status); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name       string
		minHealthy func(int) int
		limit      int
		want       []string
	}{
		{"three quarters", threeQuarters, 0, []string{"cid-none", "cid-disq", "cid-16-short", "cid-failed", "cid-one-short"}},
		{"limit", threeQuarters, 2, []string{"cid-none", "cid-disq"}},
		{"limit one", threeQuarters, 1, []string{"cid-none"}},
		{"negative limit is the default", threeQuarters, -1, []string{"cid-none", "cid-disq", "cid-16-short", "cid-failed", "cid-one-short"}},
		{"need every replica", func(r int) int { return r }, 0,
			[]string{"cid-16-short", "cid-16-ok", "cid-none", "cid-disq", "cid-failed", "cid-one-short"}},
		{"need nothing", func(int) int { return 0 }, 0, nil},
		{"negative need", func(int) int { return -3 }, 0, nil},
		{"fixed need ignores replicas", func(int) int { return 1 }, 0, []string{"cid-failed", "cid-none", "cid-r0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.UnderReplicated(ctx, tc.minHealthy, tc.limit)
			if err != nil {
				t.Fatalf("UnderReplicated: %v", err)
			}
			var cids []string
			for _, info := range got {
				cids = append(cids, info.CID)
				want := mustPinInfo(t, r, info.CID)
				if info.Size != want.Size || info.Replicas != want.Replicas || info.Status != want.Status ||
					!slices.Equal(info.Holders, want.Holders) {
					t.Fatalf("UnderReplicated info %+v, want as Pin: %+v", info, want)
				}
			}
			if !slices.Equal(cids, tc.want) {
				t.Fatalf("UnderReplicated = %v, want %v", cids, tc.want)
			}
		})
	}
	t.Run("nil minHealthy", func(t *testing.T) {
		if _, err := r.UnderReplicated(ctx, nil, 0); err == nil {
			t.Fatal("UnderReplicated(nil) succeeded")
		}
	})
	t.Run("holders as Pin returns them", func(t *testing.T) {
		got, err := r.UnderReplicated(ctx, threeQuarters, 2)
		if err != nil || len(got) != 2 {
			t.Fatalf("UnderReplicated = %+v, %v", got, err)
		}
		if want := []string{"n00=pinned", "n05=pinning", "n16=pinned"}; !slices.Equal(holderStatuses(got[1]), want) {
			t.Fatalf("cid-disq holders = %v, want %v", holderStatuses(got[1]), want)
		}
	})
	t.Run("repair takes a pin off the list", func(t *testing.T) {
		if err := r.SetHolderStatus(ctx, "cid-one-short", "n02", StatusPinned); err != nil {
			t.Fatal(err)
		}
		mustPin(t, r, alice, "cid-16-short", 10, "n12")
		got, err := r.UnderReplicated(ctx, threeQuarters, 0)
		if err != nil {
			t.Fatal(err)
		}
		var cids []string
		for _, info := range got {
			cids = append(cids, info.CID)
		}
		if want := []string{"cid-none", "cid-disq", "cid-failed"}; !slices.Equal(cids, want) {
			t.Fatalf("UnderReplicated = %v, want %v", cids, want)
		}
	})
}

func testHoldersOn(t *testing.T, r Registry) {
	ctx := context.Background()
	alice := mustAccount(t, r, "alice")
	for _, id := range []string{"n1", "n2", "n3"} {
		mustNode(t, r, id, "eu")
	}
	mustPin(t, r, alice, "cid-c", 10, "n1", "n2")
	mustPin(t, r, alice, "cid-a", 10, "n1")
	mustPin(t, r, alice, "cid-b", 10)
	if err := r.SetHolderStatus(ctx, "cid-b", "n1", StatusFailed); err != nil {
		t.Fatal(err)
	}
	if err := r.SetHolderStatus(ctx, "cid-b", "n2", StatusPinning); err != nil {
		t.Fatal(err)
	}
	disqualify(t, r, "n2") // disqualification changes no holder row
	tests := []struct {
		name   string
		node   string
		want   []string
		notFnd bool
	}{
		{"every status, ordered", "n1", []string{"cid-a", "cid-b", "cid-c"}, false},
		{"disqualified node", "n2", []string{"cid-b", "cid-c"}, false},
		{"holds nothing", "n3", nil, false},
		{"unknown node", "n-missing", nil, true},
		{"empty node", "", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.HoldersOn(ctx, tc.node)
			if tc.notFnd != errors.Is(err, ErrNotFound) || (!tc.notFnd && err != nil) {
				t.Fatalf("HoldersOn(%q) = %v, %v; want ErrNotFound %v", tc.node, got, err, tc.notFnd)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("HoldersOn(%q) = %v, want %v", tc.node, got, tc.want)
			}
		})
	}
	t.Run("removed holder is gone", func(t *testing.T) {
		if err := r.RemoveHolder(ctx, "cid-b", "n1"); err != nil {
			t.Fatal(err)
		}
		if got, err := r.HoldersOn(ctx, "n1"); err != nil || !slices.Equal(got, []string{"cid-a", "cid-c"}) {
			t.Fatalf("HoldersOn(n1) = %v, %v; want [cid-a cid-c]", got, err)
		}
	})
}
