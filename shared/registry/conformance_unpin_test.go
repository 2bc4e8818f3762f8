package registry

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

func testUnpin(t *testing.T, r Registry) {
	ctx := context.Background()
	alice := mustAccount(t, r, "alice")
	bob := mustAccount(t, r, "bob")
	mustNode(t, r, "n1", "eu")
	mustNode(t, r, "n2", "us")
	mustPin(t, r, alice, "cid-u", 100, "n1", "n2")
	mustPin(t, r, bob, "cid-u", 100)
	mustPin(t, r, alice, "cid-v", 200, "n1")
	if err := r.SetReplicas(ctx, "cid-u", 5); err != nil { // under-replicated while pinned
		t.Fatal(err)
	}
	cidsOf := func(ps []AccountPin) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.CID)
		}
		return out
	}

	t.Run("AccountPins", func(t *testing.T) {
		cases := []struct {
			name    string
			account string
			after   string
			limit   int
			want    []string
			notFnd  bool
		}{
			{"all, by cid", alice, "", 0, []string{"cid-u", "cid-v"}, false},
			{"a page", alice, "", 1, []string{"cid-u"}, false},
			{"the next page", alice, "cid-u", 1, []string{"cid-v"}, false},
			{"past the end", alice, "cid-v", 10, nil, false},
			{"another account", bob, "", 0, []string{"cid-u"}, false},
			{"unknown account", "acct_missing", "", 0, nil, true},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				got, err := r.AccountPins(ctx, c.account, c.after, c.limit)
				if c.notFnd != errors.Is(err, ErrNotFound) || !c.notFnd && err != nil {
					t.Fatalf("AccountPins = %v, %v; want ErrNotFound %v", got, err, c.notFnd)
				}
				if !slices.Equal(cidsOf(got), c.want) {
					t.Fatalf("AccountPins = %v, want %v", cidsOf(got), c.want)
				}
			})
		}
		got, _ := r.AccountPins(ctx, alice, "", 1)
		if len(got) != 1 || got[0].Size != 100 || got[0].Status != StatusPinned || got[0].Replicas != 5 || got[0].PinnedAt.IsZero() {
			t.Errorf("AccountPins(alice)[0] = %+v", got)
		}
	})

	audited := func() []string {
		t.Helper()
		ts, err := r.SampleHolders(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, tg := range ts {
			if !slices.Contains(out, tg.CID) {
				out = append(out, tg.CID)
			}
		}
		slices.Sort(out)
		return out
	}
	repaired := func() []string {
		t.Helper()
		ps, err := r.UnderReplicated(ctx, func(n int) int { return n }, 100)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range ps {
			out = append(out, p.CID)
		}
		return out
	}

	errs := []struct {
		name, account, cid string
	}{
		{"unknown account", "acct_missing", "cid-u"},
		{"not this account's pin", alice, "cid-none"},
		{"another account's pin", bob, "cid-v"},
	}
	for _, e := range errs {
		t.Run("Unpin/"+e.name, func(t *testing.T) {
			if _, err := r.Unpin(ctx, e.account, e.cid); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Unpin = %v, want ErrNotFound", err)
			}
		})
	}
	before := time.Now().Add(-time.Second)
	t.Run("Unpin/pinned by another account", func(t *testing.T) {
		orphaned, err := r.Unpin(ctx, alice, "cid-u")
		if err != nil || orphaned {
			t.Fatalf("Unpin = %v, %v; want not orphaned", orphaned, err)
		}
		if _, err := r.Unpin(ctx, alice, "cid-u"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Unpin again = %v, want ErrNotFound", err)
		}
		if _, err := r.Pin(ctx, "cid-u"); err != nil {
			t.Fatalf("Pin(cid-u) with bob's pin left: %v", err)
		}
		if got := audited(); !slices.Equal(got, []string{"cid-u", "cid-v"}) {
			t.Fatalf("audited %v", got)
		}
	})
	t.Run("Unpin/the last pin", func(t *testing.T) {
		orphaned, err := r.Unpin(ctx, bob, "cid-u")
		if err != nil || !orphaned {
			t.Fatalf("Unpin = %v, %v; want orphaned", orphaned, err)
		}
		if _, err := r.Pin(ctx, "cid-u"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Pin(cid-u) after the last unpin: %v, want ErrNotFound", err)
		}
		if got := audited(); !slices.Equal(got, []string{"cid-v"}) {
			t.Fatalf("audited %v, want only cid-v", got)
		}
		if got := repaired(); slices.Contains(got, "cid-u") {
			t.Fatalf("under-replicated %v lists an unpinned cid", got)
		}
		if u, err := r.Usage(ctx, bob); err != nil || u.Pins != 0 {
			t.Fatalf("Usage(bob) = %+v, %v; want no pins", u, err)
		}
	})
	t.Run("CollectGarbage/within the grace", func(t *testing.T) {
		if g, err := r.CollectGarbage(ctx, before, 0); err != nil || len(g) != 0 {
			t.Fatalf("CollectGarbage(before the unpin) = %+v, %v; want none", g, err)
		}
	})
	t.Run("CollectGarbage/pinned again first", func(t *testing.T) {
		mustPin(t, r, alice, "cid-w", 50, "n2")
		if orphaned, err := r.Unpin(ctx, alice, "cid-w"); err != nil || !orphaned {
			t.Fatalf("Unpin = %v, %v", orphaned, err)
		}
		mustPin(t, r, bob, "cid-w", 50)
		if _, err := r.Pin(ctx, "cid-w"); err != nil {
			t.Fatalf("Pin(cid-w) pinned again: %v", err)
		}
		if got := audited(); !slices.Contains(got, "cid-w") {
			t.Fatalf("audited %v, want cid-w again", got)
		}
	})
	t.Run("CollectGarbage/past the grace", func(t *testing.T) {
		g, err := r.CollectGarbage(ctx, time.Now().Add(time.Second), 0)
		if err != nil || len(g) != 1 || g[0].CID != "cid-u" {
			t.Fatalf("CollectGarbage = %+v, %v; want cid-u", g, err)
		}
		var holders []string
		for _, h := range g[0].Holders {
			holders = append(holders, h.NodeID+"@"+h.Region+"@"+h.URL)
		}
		if want := []string{"n1@eu@https://n1.example:4433", "n2@us@https://n2.example:4433"}; !slices.Equal(holders, want) {
			t.Fatalf("garbage holders %v, want %v", holders, want)
		}
		// n1 deletes its copy; n2 cannot be reached: handed out again.
		if err := r.RemoveHolder(ctx, "cid-u", "n1"); err != nil {
			t.Fatal(err)
		}
		g, err = r.CollectGarbage(ctx, time.Now().Add(time.Second), 0)
		if err != nil || len(g) != 1 || len(g[0].Holders) != 1 || g[0].Holders[0].NodeID != "n2" {
			t.Fatalf("CollectGarbage with n2 left = %+v, %v", g, err)
		}
		if err := r.RemoveHolder(ctx, "cid-u", "n2"); err != nil {
			t.Fatal(err)
		}
		// No copy left: the CID goes for good.
		if g, err := r.CollectGarbage(ctx, time.Now().Add(time.Second), 0); err != nil || len(g) != 0 {
			t.Fatalf("CollectGarbage with no copy left = %+v, %v; want none", g, err)
		}
		if err := r.RemoveHolder(ctx, "cid-u", "n1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("RemoveHolder of a collected cid = %v, want ErrNotFound", err)
		}
		// The CID can be pinned afresh, even at another size.
		mustPin(t, r, alice, "cid-u", 7, "n1")
		if p, err := r.Pin(ctx, "cid-u"); err != nil || p.Size != 7 || len(p.Holders) != 1 {
			t.Fatalf("Pin(cid-u) afresh = %+v, %v", p, err)
		}
	})
	t.Run("CollectGarbage/a stuck copy does not hold up the rest", func(t *testing.T) {
		for _, c := range []string{"cid-x", "cid-y"} {
			mustPin(t, r, bob, c, 10, "n1")
			if _, err := r.Unpin(ctx, bob, c); err != nil {
				t.Fatal(err)
			}
		}
		var seen []string
		for range 4 {
			g, err := r.CollectGarbage(ctx, time.Now().Add(time.Second), 1)
			if err != nil || len(g) != 1 {
				t.Fatalf("CollectGarbage(limit 1) = %+v, %v", g, err)
			}
			seen = append(seen, g[0].CID)
		}
		if seen[0] == seen[1] || seen[0] != seen[2] || seen[1] != seen[3] {
			t.Fatalf("handed out %v, want the two in turn", seen)
		}
	})
}
