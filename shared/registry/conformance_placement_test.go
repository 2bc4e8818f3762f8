package registry

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// holderStatuses returns "node=status" for each of info's holders, in order.
func holderStatuses(info PinInfo) []string {
	out := make([]string, 0, len(info.Holders))
	for _, h := range info.Holders {
		out = append(out, h.NodeID+"="+h.Status)
	}
	return out
}

// mustPinInfo returns Pin(cid) or fails the test.
func mustPinInfo(t *testing.T, r Registry, cid string) PinInfo {
	t.Helper()
	info, err := r.Pin(context.Background(), cid)
	if err != nil {
		t.Fatalf("Pin(%q): %v", cid, err)
	}
	return info
}

func testNodeOperator(t *testing.T, r Registry) {
	ctx := context.Background()
	steps := []struct {
		name string
		n    Node
	}{
		{"insert with operator", Node{ID: "n1", Region: "eu", URL: "https://n1:1", Operator: "acme"}},
		{"insert without operator", Node{ID: "n2", Region: "us", URL: "https://n2:1"}},
		{"change operator", Node{ID: "n1", Region: "eu", URL: "https://n1:1", Operator: "globex"}},
		{"set operator", Node{ID: "n2", Region: "us", URL: "https://n2:1", Operator: "initech"}},
		{"clear operator", Node{ID: "n1", Region: "eu", URL: "https://n1:1"}},
	}
	want := map[string]string{}
	for _, tc := range steps {
		t.Run(tc.name, func(t *testing.T) {
			if err := r.UpsertNode(ctx, tc.n); err != nil {
				t.Fatalf("UpsertNode: %v", err)
			}
			want[tc.n.ID] = tc.n.Operator
			nodes, err := r.Nodes(ctx)
			if err != nil {
				t.Fatalf("Nodes: %v", err)
			}
			got := map[string]string{}
			for _, n := range nodes {
				got[n.ID] = n.Operator
			}
			if len(got) != len(want) {
				t.Fatalf("operators = %v, want %v", got, want)
			}
			for id, op := range want {
				if got[id] != op {
					t.Fatalf("operators = %v, want %v", got, want)
				}
			}
		})
	}
}

func testSetReplicas(t *testing.T, r Registry) {
	ctx := context.Background()
	alice := mustAccount(t, r, "alice")
	mustPin(t, r, alice, "cid-r", 10)
	if got := mustPinInfo(t, r, "cid-r").Replicas; got != 0 {
		t.Fatalf("Replicas before SetReplicas = %d, want 0", got)
	}
	tests := []struct {
		name   string
		cid    string
		r      int
		err    bool
		notFnd bool
		want   int // Replicas of cid-r afterwards
	}{
		{"set", "cid-r", 3, false, false, 3},
		{"raise", "cid-r", 5, false, false, 5},
		{"same again", "cid-r", 5, false, false, 5},
		{"lower to zero", "cid-r", 0, false, false, 0},
		{"set again", "cid-r", 2, false, false, 2},
		{"negative", "cid-r", -1, true, false, 2},
		{"unknown cid", "cid-unknown", 3, true, true, 2},
		{"empty cid", "", 3, true, true, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := r.SetReplicas(ctx, tc.cid, tc.r)
			if tc.err != (err != nil) || tc.notFnd != errors.Is(err, ErrNotFound) {
				t.Fatalf("SetReplicas(%q, %d) = %v; want err %v, ErrNotFound %v", tc.cid, tc.r, err, tc.err, tc.notFnd)
			}
			info := mustPinInfo(t, r, "cid-r")
			if info.Replicas != tc.want || info.Size != 10 || info.Status != StatusPinned {
				t.Fatalf("Pin = %+v, want Replicas %d", info, tc.want)
			}
		})
	}
	t.Run("unknown cid not created", func(t *testing.T) {
		if _, err := r.Pin(ctx, "cid-unknown"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Pin(cid-unknown) err = %v, want ErrNotFound", err)
		}
	})
	t.Run("re-pin keeps replicas", func(t *testing.T) {
		mustPin(t, r, mustAccount(t, r, "bob"), "cid-r", 10)
		if got := mustPinInfo(t, r, "cid-r").Replicas; got != 2 {
			t.Fatalf("Replicas after another account's pin = %d, want 2", got)
		}
	})
}

func testSetPinStatus(t *testing.T, r Registry) {
	ctx := context.Background()
	alice := mustAccount(t, r, "alice")
	mustNode(t, r, "node-1", "eu")
	mustPin(t, r, alice, "cid-s", 10, "node-1")
	mustPin(t, r, alice, "cid-other", 11)
	tests := []struct {
		name   string
		cid    string
		status string
		err    bool
		notFnd bool
		want   string // Status of cid-s afterwards
	}{
		{"queued", "cid-s", StatusQueued, false, false, StatusQueued},
		{"pinning", "cid-s", StatusPinning, false, false, StatusPinning},
		{"same again", "cid-s", StatusPinning, false, false, StatusPinning},
		{"failed", "cid-s", StatusFailed, false, false, StatusFailed},
		{"bad status", "cid-s", "bogus", true, false, StatusFailed},
		{"empty status", "cid-s", "", true, false, StatusFailed},
		{"case matters", "cid-s", "PINNED", true, false, StatusFailed},
		{"pinned", "cid-s", StatusPinned, false, false, StatusPinned},
		{"unknown cid", "cid-unknown", StatusQueued, true, true, StatusPinned},
		{"bad status on unknown cid", "cid-unknown", "bogus", true, false, StatusPinned},
		{"queued again", "cid-s", StatusQueued, false, false, StatusQueued},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := r.SetPinStatus(ctx, tc.cid, tc.status)
			if tc.err != (err != nil) || tc.notFnd != errors.Is(err, ErrNotFound) {
				t.Fatalf("SetPinStatus(%q, %q) = %v; want err %v, ErrNotFound %v", tc.cid, tc.status, err, tc.err, tc.notFnd)
			}
			info := mustPinInfo(t, r, "cid-s")
			if info.Status != tc.want {
				t.Fatalf("Status = %q, want %q", info.Status, tc.want)
			}
			// Holder statuses are separate from the CID's status.
			if got := holderStatuses(info); !slices.Equal(got, []string{"node-1=pinned"}) {
				t.Fatalf("holders = %v, want [node-1=pinned]", got)
			}
			if got := mustPinInfo(t, r, "cid-other").Status; got != StatusPinned {
				t.Fatalf("other CID's status = %q, want pinned", got)
			}
		})
	}
	t.Run("RecordPin keeps status", func(t *testing.T) {
		mustPin(t, r, mustAccount(t, r, "bob"), "cid-s", 10, "node-1")
		if got := mustPinInfo(t, r, "cid-s").Status; got != StatusQueued {
			t.Fatalf("Status after RecordPin = %q, want queued", got)
		}
	})
}

func testSetHolderStatus(t *testing.T, r Registry) {
	ctx := context.Background()
	alice := mustAccount(t, r, "alice")
	for _, id := range []string{"n1", "n2", "n3"} {
		mustNode(t, r, id, "region-"+id)
	}
	mustPin(t, r, alice, "cid-h", 10, "n2")
	mustPin(t, r, alice, "cid-other", 10, "n1")
	tests := []struct {
		name   string
		cid    string
		node   string
		status string
		err    bool
		notFnd bool
		want   []string // holders of cid-h afterwards
	}{
		{"new pinning holder", "cid-h", "n1", StatusPinning, false, false, []string{"n1=pinning", "n2=pinned"}},
		{"new failed holder", "cid-h", "n3", StatusFailed, false, false, []string{"n1=pinning", "n2=pinned", "n3=failed"}},
		{"pinning to pinned", "cid-h", "n1", StatusPinned, false, false, []string{"n1=pinned", "n2=pinned", "n3=failed"}},
		{"pinned to failed", "cid-h", "n2", StatusFailed, false, false, []string{"n1=pinned", "n2=failed", "n3=failed"}},
		{"failed to pinning", "cid-h", "n3", StatusPinning, false, false, []string{"n1=pinned", "n2=failed", "n3=pinning"}},
		{"queued is not a holder status", "cid-h", "n1", StatusQueued, true, false, []string{"n1=pinned", "n2=failed", "n3=pinning"}},
		{"bad status", "cid-h", "n2", "bogus", true, false, []string{"n1=pinned", "n2=failed", "n3=pinning"}},
		{"empty status", "cid-h", "n2", "", true, false, []string{"n1=pinned", "n2=failed", "n3=pinning"}},
		{"unknown node", "cid-h", "n-missing", StatusPinning, true, true, []string{"n1=pinned", "n2=failed", "n3=pinning"}},
		{"empty node", "cid-h", "", StatusPinning, true, true, []string{"n1=pinned", "n2=failed", "n3=pinning"}},
		{"unknown cid", "cid-unknown", "n1", StatusPinning, true, true, []string{"n1=pinned", "n2=failed", "n3=pinning"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := r.SetHolderStatus(ctx, tc.cid, tc.node, tc.status)
			if tc.err != (err != nil) || tc.notFnd != errors.Is(err, ErrNotFound) {
				t.Fatalf("SetHolderStatus(%q, %q, %q) = %v; want err %v, ErrNotFound %v",
					tc.cid, tc.node, tc.status, err, tc.err, tc.notFnd)
			}
			info := mustPinInfo(t, r, "cid-h")
			if got := holderStatuses(info); !slices.Equal(got, tc.want) {
				t.Fatalf("holders = %v, want %v", got, tc.want)
			}
			for _, h := range info.Holders {
				if h.Region != "region-"+h.NodeID || h.URL != "https://"+h.NodeID+".example:4433" {
					t.Errorf("holder %+v not joined with its node's region/url", h)
				}
			}
			if got := holderStatuses(mustPinInfo(t, r, "cid-other")); !slices.Equal(got, []string{"n1=pinned"}) {
				t.Fatalf("other CID's holders = %v, want [n1=pinned]", got)
			}
			if info.Status != StatusPinned {
				t.Fatalf("CID status = %q, want pinned (holder statuses are separate)", info.Status)
			}
		})
	}
	t.Run("unknown cid not created", func(t *testing.T) {
		if _, err := r.Pin(ctx, "cid-unknown"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Pin(cid-unknown) err = %v, want ErrNotFound", err)
		}
	})
	t.Run("UpdatedAt advances", func(t *testing.T) {
		before := mustPinInfo(t, r, "cid-h").Holders[0]
		time.Sleep(5 * time.Millisecond)
		t0 := time.Now().UTC()
		if err := r.SetHolderStatus(ctx, "cid-h", "n1", StatusFailed); err != nil {
			t.Fatal(err)
		}
		t1 := time.Now().UTC()
		after := mustPinInfo(t, r, "cid-h").Holders[0]
		if !after.UpdatedAt.After(before.UpdatedAt) || after.UpdatedAt.Before(t0.Add(-time.Second)) ||
			after.UpdatedAt.After(t1.Add(time.Second)) || after.UpdatedAt.Location() != time.UTC {
			t.Fatalf("UpdatedAt = %v (was %v), want UTC in [%v, %v]", after.UpdatedAt, before.UpdatedAt, t0, t1)
		}
	})
}

func testRemoveHolder(t *testing.T, r Registry) {
	ctx := context.Background()
	alice := mustAccount(t, r, "alice")
	for _, id := range []string{"n1", "n2", "n3"} {
		mustNode(t, r, id, "eu")
	}
	mustPin(t, r, alice, "cid-h", 10, "n1", "n2")
	mustPin(t, r, alice, "cid-other", 10, "n1")
	if err := r.SetHolderStatus(ctx, "cid-h", "n3", StatusPinning); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		cid    string
		node   string
		err    bool
		notFnd bool
		want   []string
	}{
		{"pinned holder", "cid-h", "n1", false, false, []string{"n2=pinned", "n3=pinning"}},
		{"absent holder", "cid-h", "n1", false, false, []string{"n2=pinned", "n3=pinning"}},
		{"unknown node", "cid-h", "n-missing", false, false, []string{"n2=pinned", "n3=pinning"}},
		{"pinning holder", "cid-h", "n3", false, false, []string{"n2=pinned"}},
		{"unknown cid", "cid-unknown", "n2", true, true, []string{"n2=pinned"}},
		{"last holder", "cid-h", "n2", false, false, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := r.RemoveHolder(ctx, tc.cid, tc.node)
			if tc.err != (err != nil) || tc.notFnd != errors.Is(err, ErrNotFound) {
				t.Fatalf("RemoveHolder(%q, %q) = %v; want err %v, ErrNotFound %v", tc.cid, tc.node, err, tc.err, tc.notFnd)
			}
			info := mustPinInfo(t, r, "cid-h") // the pin outlives its holders
			if got := holderStatuses(info); !slices.Equal(got, tc.want) {
				t.Fatalf("holders = %v, want %v", got, tc.want)
			}
			if got := holderStatuses(mustPinInfo(t, r, "cid-other")); !slices.Equal(got, []string{"n1=pinned"}) {
				t.Fatalf("other CID's holders = %v, want [n1=pinned]", got)
			}
		})
	}
	t.Run("holder can come back", func(t *testing.T) {
		mustPin(t, r, alice, "cid-h", 10, "n3")
		if got := holderStatuses(mustPinInfo(t, r, "cid-h")); !slices.Equal(got, []string{"n3=pinned"}) {
			t.Fatalf("holders = %v, want [n3=pinned]", got)
		}
	})
}

func testRecordPinCommitsHolders(t *testing.T, r Registry) {
	ctx := context.Background()
	alice := mustAccount(t, r, "alice")
	bob := mustAccount(t, r, "bob")
	for _, id := range []string{"n1", "n2", "n3", "n4"} {
		mustNode(t, r, id, "eu")
	}
	// A CID is queued before any copy exists, copies are made, then committed.
	mustPin(t, r, alice, "cid-c", 10)
	if err := r.SetReplicas(ctx, "cid-c", 3); err != nil {
		t.Fatal(err)
	}
	if err := r.SetPinStatus(ctx, "cid-c", StatusQueued); err != nil {
		t.Fatal(err)
	}
	for node, st := range map[string]string{"n1": StatusPinning, "n2": StatusFailed, "n3": StatusPinning} {
		if err := r.SetHolderStatus(ctx, "cid-c", node, st); err != nil {
			t.Fatal(err)
		}
	}
	before := mustPinInfo(t, r, "cid-c")
	time.Sleep(5 * time.Millisecond)

	t.Run("failed RecordPin changes no status", func(t *testing.T) {
		if _, err := r.RecordPin(ctx, bob, "cid-c", 10, []string{"n1", "n-missing"}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("RecordPin with unknown node = %v, want ErrNotFound", err)
		}
		if _, err := r.RecordPin(ctx, bob, "cid-c", 11, []string{"n1"}); !errors.Is(err, ErrSizeMismatch) {
			t.Fatalf("RecordPin with other size = %v, want ErrSizeMismatch", err)
		}
		want := []string{"n1=pinning", "n2=failed", "n3=pinning"}
		if got := holderStatuses(mustPinInfo(t, r, "cid-c")); !slices.Equal(got, want) {
			t.Fatalf("holders = %v, want %v", got, want)
		}
	})
	t.Run("RecordPin commits the given holders only", func(t *testing.T) {
		if created := mustPin(t, r, bob, "cid-c", 10, "n1", "n2", "n4"); !created {
			t.Fatal("bob's pin not created")
		}
		info := mustPinInfo(t, r, "cid-c")
		want := []string{"n1=pinned", "n2=pinned", "n3=pinning", "n4=pinned"}
		if got := holderStatuses(info); !slices.Equal(got, want) {
			t.Fatalf("holders = %v, want %v", got, want)
		}
		if info.Status != StatusQueued || info.Replicas != 3 {
			t.Fatalf("Status, Replicas = %q, %d; want kept queued, 3", info.Status, info.Replicas)
		}
		was := map[string]time.Time{}
		for _, h := range before.Holders {
			was[h.NodeID] = h.UpdatedAt
		}
		for _, h := range info.Holders {
			switch h.NodeID {
			case "n1", "n2", "n4": // status set now
				if !h.UpdatedAt.After(was["n3"]) {
					t.Errorf("holder %s UpdatedAt = %v, want after %v", h.NodeID, h.UpdatedAt, was["n3"])
				}
			case "n3": // untouched
				if !h.UpdatedAt.Equal(was["n3"]) {
					t.Errorf("holder n3 UpdatedAt = %v, want kept %v", h.UpdatedAt, was["n3"])
				}
			}
		}
	})
	t.Run("re-recording a pinned holder keeps UpdatedAt", func(t *testing.T) {
		was := mustPinInfo(t, r, "cid-c").Holders[0]
		time.Sleep(5 * time.Millisecond)
		mustPin(t, r, alice, "cid-c", 10, "n1")
		now := mustPinInfo(t, r, "cid-c").Holders[0]
		if now.Status != StatusPinned || !now.UpdatedAt.Equal(was.UpdatedAt) {
			t.Fatalf("holder = %+v, was %+v; want unchanged", now, was)
		}
	})
}
