package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// backend opens registries of one implementation for the conformance suite.
// Both functions are called once per subtest and register cleanup (Close)
// with t.
type backend struct {
	// open returns a new, empty Registry.
	open func(t *testing.T) Registry
	// openPair returns two handles on one new, empty database, as two
	// processes sharing it would have.
	openPair func(t *testing.T) (Registry, Registry)
}

// runConformance runs the backend-independent Registry test suite.
func runConformance(t *testing.T, b backend) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, r Registry)
	}{
		{"CreateAccount", testCreateAccount},
		{"APIKeys", testAPIKeys},
		{"EnrollTokens", testEnrollTokens},
		{"UpsertNode", testUpsertNode},
		{"Nodes", testNodes},
		{"RecordPin", testRecordPin},
		{"RecordPinErrors", testRecordPinErrors},
		{"RecordPinHolders", testRecordPinHolders},
		{"Pin", testPin},
		{"ConcurrentRecordPin", testConcurrentRecordPin},
		{"NodeOperator", testNodeOperator},
		{"SetReplicas", testSetReplicas},
		{"SetPinStatus", testSetPinStatus},
		{"SetHolderStatus", testSetHolderStatus},
		{"RemoveHolder", testRemoveHolder},
		{"RecordPinCommitsHolders", testRecordPinCommitsHolders},
		{"RecordAudit", testRecordAudit},
		{"Audits", testAudits},
		{"Reputation", testReputation},
		{"UpdateReputation", testUpdateReputation},
		{"RecordAudits", testRecordAudits},
		{"TryLease", testTryLease},
		{"SampleHolders", testSampleHolders},
		{"SampleHoldersWeighting", testSampleHoldersWeighting},
		{"UnderReplicated", testUnderReplicated},
		{"HoldersOn", testHoldersOn},
		{"AccrueStorage", testAccrueStorage},
		{"EgressAndEarnings", testEgressAndEarnings},
		{"Usage", testUsage},
		{"Unpin", testUnpin},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, b.open(t))
		})
	}
	pairTests := []struct {
		name string
		fn   func(t *testing.T, a, b Registry)
	}{
		{"TwoHandles", testTwoHandles},
		{"TwoHandlesConcurrentRecordPin", testTwoHandlesConcurrentRecordPin},
		{"TwoHandlesUpdateReputation", testTwoHandlesUpdateReputation},
		{"TwoHandlesRecordAudits", testTwoHandlesRecordAudits},
		{"TwoHandlesLeases", testTwoHandlesLeases},
	}
	for _, tc := range pairTests {
		t.Run(tc.name, func(t *testing.T) {
			r1, r2 := b.openPair(t)
			tc.fn(t, r1, r2)
		})
	}
}

// hashOf returns the SHA-256 of s, as callers hash API keys and tokens.
func hashOf(s string) [32]byte { return sha256.Sum256([]byte(s)) }

// mustAccount creates an account or fails the test.
func mustAccount(t *testing.T, r Registry, name string) string {
	t.Helper()
	id, err := r.CreateAccount(context.Background(), name)
	if err != nil {
		t.Fatalf("CreateAccount(%q): %v", name, err)
	}
	return id
}

// mustNode upserts a node with a deterministic region, URL and key.
func mustNode(t *testing.T, r Registry, id, region string) Node {
	t.Helper()
	n := Node{
		ID:        id,
		Region:    region,
		URL:       "https://" + id + ".example:4433",
		PublicKey: bytes.Repeat([]byte(id[:1]), 32),
	}
	if err := r.UpsertNode(context.Background(), n); err != nil {
		t.Fatalf("UpsertNode(%q): %v", id, err)
	}
	return n
}

// mustPin records a pin or fails the test, returning created.
func mustPin(t *testing.T, r Registry, account, cid string, size int64, holders ...string) bool {
	t.Helper()
	created, err := r.RecordPin(context.Background(), account, cid, size, holders)
	if err != nil {
		t.Fatalf("RecordPin(%q, %q, %d, %v): %v", account, cid, size, holders, err)
	}
	return created
}

// sameHolder reports whether a and b agree on everything but UpdatedAt.
func sameHolder(a, b Holder) bool {
	return a.NodeID == b.NodeID && a.Region == b.Region && a.URL == b.URL && a.Status == b.Status
}

// holderIDs returns the node ids of info's holders, in order.
func holderIDs(info PinInfo) []string {
	ids := make([]string, 0, len(info.Holders))
	for _, h := range info.Holders {
		ids = append(ids, h.NodeID)
	}
	return ids
}

func testCreateAccount(t *testing.T, r Registry) {
	ctx := context.Background()
	seen := map[string]bool{}
	for _, name := range []string{"alice", "alice", "", "bob"} {
		id, err := r.CreateAccount(ctx, name)
		if err != nil {
			t.Fatalf("CreateAccount(%q): %v", name, err)
		}
		if !strings.HasPrefix(id, "acct_") || len(id) <= len("acct_") {
			t.Errorf("CreateAccount(%q) = %q, want acct_<hex>", name, id)
		}
		for _, c := range strings.TrimPrefix(id, "acct_") {
			if !strings.ContainsRune("0123456789abcdef", c) {
				t.Errorf("CreateAccount(%q) = %q: non-hex suffix", name, id)
				break
			}
		}
		if seen[id] {
			t.Errorf("CreateAccount(%q) returned duplicate id %q", name, id)
		}
		seen[id] = true
	}
}

func testAPIKeys(t *testing.T, r Registry) {
	ctx := context.Background()
	alice := mustAccount(t, r, "alice")
	bob := mustAccount(t, r, "bob")

	adds := []struct {
		name    string
		account string
		key     string
		wantErr bool
		notFnd  bool
	}{
		{"alice first key", alice, "key-a1", false, false},
		{"alice second key", alice, "key-a2", false, false},
		{"bob key", bob, "key-b1", false, false},
		{"same key same account is idempotent", alice, "key-a1", false, false},
		{"same key other account fails", bob, "key-a1", true, false},
		{"unknown account", "acct_doesnotexist", "key-x", true, true},
		{"empty account", "", "key-y", true, true},
	}
	for _, tc := range adds {
		t.Run("Add/"+tc.name, func(t *testing.T) {
			err := r.AddAPIKey(ctx, tc.account, hashOf(tc.key))
			if tc.wantErr != (err != nil) {
				t.Fatalf("AddAPIKey(%q, %q) err = %v, wantErr %v", tc.account, tc.key, err, tc.wantErr)
			}
			if got := errors.Is(err, ErrNotFound); got != tc.notFnd {
				t.Fatalf("AddAPIKey(%q, %q) errors.Is(err, ErrNotFound) = %v, want %v (err %v)",
					tc.account, tc.key, got, tc.notFnd, err)
			}
		})
	}

	lookups := []struct {
		name string
		key  string
		want string // "" means ErrNotFound
	}{
		{"alice key 1", "key-a1", alice},
		{"alice key 2", "key-a2", alice},
		{"bob key", "key-b1", bob},
		{"unknown key", "key-zz", ""},
		{"key of unknown account was not stored", "key-x", ""},
		{"key of empty account was not stored", "key-y", ""},
	}
	for _, tc := range lookups {
		t.Run("Lookup/"+tc.name, func(t *testing.T) {
			got, err := r.AccountByKey(ctx, hashOf(tc.key))
			if tc.want == "" {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("AccountByKey(%q) = %q, %v; want ErrNotFound", tc.key, got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("AccountByKey(%q) = %q, %v; want %q", tc.key, got, err, tc.want)
			}
		})
	}
}

func testEnrollTokens(t *testing.T, r Registry) {
	ctx := context.Background()
	for _, tok := range []string{"tok-1", "tok-2", "tok-1"} {
		if err := r.AddEnrollToken(ctx, hashOf(tok)); err != nil {
			t.Fatalf("AddEnrollToken(%q): %v", tok, err)
		}
	}
	tests := []struct {
		name  string
		hash  [32]byte
		known bool
	}{
		{"first token", hashOf("tok-1"), true},
		{"second token", hashOf("tok-2"), true},
		{"unknown token", hashOf("tok-3"), false},
		{"raw token is not its hash", [32]byte{'t', 'o', 'k', '-', '1'}, false},
		{"zero hash", [32]byte{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := r.CheckEnrollToken(ctx, tc.hash)
			if tc.known && err != nil {
				t.Fatalf("CheckEnrollToken = %v, want nil", err)
			}
			if !tc.known && !errors.Is(err, ErrNotFound) {
				t.Fatalf("CheckEnrollToken = %v, want ErrNotFound", err)
			}
		})
	}
}

func testUpsertNode(t *testing.T, r Registry) {
	ctx := context.Background()
	before := time.Now().UTC()
	// A caller-provided JoinedAt is ignored.
	in := Node{ID: "node-a", Region: "eu", URL: "https://a:1", PublicKey: []byte{1, 2, 3},
		JoinedAt: time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)}
	if err := r.UpsertNode(ctx, in); err != nil {
		t.Fatalf("UpsertNode: %v", err)
	}
	after := time.Now().UTC()
	nodes, err := r.Nodes(ctx)
	if err != nil || len(nodes) != 1 {
		t.Fatalf("Nodes = %v, %v; want 1 node", nodes, err)
	}
	first := nodes[0]
	if first.ID != "node-a" || first.Region != "eu" || first.URL != "https://a:1" || !bytes.Equal(first.PublicKey, []byte{1, 2, 3}) {
		t.Fatalf("Nodes()[0] = %+v, want fields of %+v", first, in)
	}
	if first.JoinedAt.Before(before.Add(-time.Second)) || first.JoinedAt.After(after.Add(time.Second)) {
		t.Fatalf("JoinedAt = %v, want between %v and %v", first.JoinedAt, before, after)
	}
	if first.JoinedAt.Location() != time.UTC {
		t.Fatalf("JoinedAt location = %v, want UTC", first.JoinedAt.Location())
	}

	time.Sleep(5 * time.Millisecond) // make a new JoinedAt distinguishable
	updates := []struct {
		name string
		n    Node
	}{
		{"change region", Node{ID: "node-a", Region: "us", URL: "https://a:1", PublicKey: []byte{1, 2, 3}}},
		{"change url", Node{ID: "node-a", Region: "us", URL: "https://a2:2", PublicKey: []byte{1, 2, 3}}},
		{"change key and JoinedAt", Node{ID: "node-a", Region: "us", URL: "https://a2:2", PublicKey: []byte{9, 9},
			JoinedAt: time.Now().Add(time.Hour)}},
	}
	for _, tc := range updates {
		t.Run(tc.name, func(t *testing.T) {
			if err := r.UpsertNode(ctx, tc.n); err != nil {
				t.Fatalf("UpsertNode: %v", err)
			}
			nodes, err := r.Nodes(ctx)
			if err != nil || len(nodes) != 1 {
				t.Fatalf("Nodes = %v, %v; want 1 node", nodes, err)
			}
			got := nodes[0]
			if got.ID != tc.n.ID || got.Region != tc.n.Region || got.URL != tc.n.URL || !bytes.Equal(got.PublicKey, tc.n.PublicKey) {
				t.Fatalf("after upsert got %+v, want %+v", got, tc.n)
			}
			if !got.JoinedAt.Equal(first.JoinedAt) {
				t.Fatalf("JoinedAt = %v, want kept %v", got.JoinedAt, first.JoinedAt)
			}
		})
	}

	t.Run("empty id rejected", func(t *testing.T) {
		if err := r.UpsertNode(ctx, Node{Region: "eu"}); err == nil {
			t.Fatal("UpsertNode with empty ID succeeded")
		}
		nodes, err := r.Nodes(ctx)
		if err != nil || len(nodes) != 1 {
			t.Fatalf("Nodes = %v, %v; want still 1 node", nodes, err)
		}
	})
}

func testNodes(t *testing.T, r Registry) {
	ctx := context.Background()
	nodes, err := r.Nodes(ctx)
	if err != nil || len(nodes) != 0 {
		t.Fatalf("empty registry Nodes = %v, %v; want none", nodes, err)
	}
	want := map[string]Node{}
	for _, id := range []string{"node-c", "node-a", "node-b", "node-aa"} {
		want[id] = mustNode(t, r, id, "r-"+id)
	}
	nodes, err = r.Nodes(ctx)
	if err != nil {
		t.Fatalf("Nodes: %v", err)
	}
	var ids []string
	for _, n := range nodes {
		ids = append(ids, n.ID)
		w := want[n.ID]
		if n.Region != w.Region || n.URL != w.URL || !bytes.Equal(n.PublicKey, w.PublicKey) || n.JoinedAt.IsZero() {
			t.Errorf("node %s = %+v, want %+v with JoinedAt set", n.ID, n, w)
		}
	}
	if wantIDs := []string{"node-a", "node-aa", "node-b", "node-c"}; !slices.Equal(ids, wantIDs) {
		t.Fatalf("Nodes ids = %v, want %v", ids, wantIDs)
	}
}

func testRecordPin(t *testing.T, r Registry) {
	ctx := context.Background()
	alice := mustAccount(t, r, "alice")
	bob := mustAccount(t, r, "bob")
	mustNode(t, r, "node-1", "eu")
	mustNode(t, r, "node-2", "us")

	steps := []struct {
		name        string
		account     string
		cid         string
		size        int64
		holders     []string
		wantCreated bool
	}{
		{"first pin", alice, "cid-x", 100, []string{"node-1"}, true},
		{"same pin again", alice, "cid-x", 100, []string{"node-1"}, false},
		{"same pin no holders", alice, "cid-x", 100, nil, false},
		{"other account same cid", bob, "cid-x", 100, []string{"node-2"}, true},
		{"other cid", alice, "cid-y", 0, nil, true},
		{"other cid again", alice, "cid-y", 0, []string{"node-2"}, false},
	}
	for _, tc := range steps {
		t.Run(tc.name, func(t *testing.T) {
			created, err := r.RecordPin(ctx, tc.account, tc.cid, tc.size, tc.holders)
			if err != nil {
				t.Fatalf("RecordPin: %v", err)
			}
			if created != tc.wantCreated {
				t.Fatalf("RecordPin created = %v, want %v", created, tc.wantCreated)
			}
		})
	}

	info, err := r.Pin(ctx, "cid-x")
	if err != nil {
		t.Fatalf("Pin(cid-x): %v", err)
	}
	if info.CID != "cid-x" || info.Size != 100 || info.Status != "pinned" {
		t.Fatalf("Pin(cid-x) = %+v", info)
	}
	if got := holderIDs(info); !slices.Equal(got, []string{"node-1", "node-2"}) {
		t.Fatalf("Pin(cid-x) holders = %v, want [node-1 node-2]", got)
	}
	info, err = r.Pin(ctx, "cid-y")
	if err != nil || info.Size != 0 || !slices.Equal(holderIDs(info), []string{"node-2"}) {
		t.Fatalf("Pin(cid-y) = %+v, %v; want size 0 held by node-2", info, err)
	}
}

func testRecordPinErrors(t *testing.T, r Registry) {
	ctx := context.Background()
	alice := mustAccount(t, r, "alice")
	bob := mustAccount(t, r, "bob")
	mustNode(t, r, "node-1", "eu")
	mustNode(t, r, "node-2", "us")
	if !mustPin(t, r, alice, "cid-existing", 42, "node-1") {
		t.Fatal("initial pin not created")
	}
	before, err := r.Pin(ctx, "cid-existing")
	if err != nil {
		t.Fatalf("Pin: %v", err)
	}

	tests := []struct {
		name     string
		account  string
		cid      string
		size     int64
		holders  []string
		is       error // if non-nil, errors.Is(err, is) must hold
		checkCID string
	}{
		{"unknown account", "acct_nope", "cid-new", 1, []string{"node-1"}, ErrNotFound, "cid-new"},
		{"unknown node", alice, "cid-new", 1, []string{"node-1", "node-missing"}, ErrNotFound, "cid-new"},
		{"only unknown node", bob, "cid-new", 1, []string{"node-missing"}, ErrNotFound, "cid-new"},
		{"empty cid", alice, "", 1, nil, nil, ""},
		{"negative size", alice, "cid-neg", -1, nil, nil, "cid-neg"},
		{"size mismatch other account", bob, "cid-existing", 43, []string{"node-2"}, ErrSizeMismatch, ""},
		{"size mismatch same account", alice, "cid-existing", 41, []string{"node-2"}, ErrSizeMismatch, ""},
		{"unknown node on existing cid", bob, "cid-existing", 42, []string{"node-2", "node-missing"}, ErrNotFound, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			created, err := r.RecordPin(ctx, tc.account, tc.cid, tc.size, tc.holders)
			if err == nil {
				t.Fatalf("RecordPin succeeded (created=%v), want error", created)
			}
			if created {
				t.Errorf("RecordPin error %v but created = true", err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("RecordPin err = %v, want errors.Is %v", err, tc.is)
			}
			if tc.checkCID != "" {
				if info, err := r.Pin(ctx, tc.checkCID); !errors.Is(err, ErrNotFound) {
					t.Errorf("after failed RecordPin, Pin(%q) = %+v, %v; want ErrNotFound", tc.checkCID, info, err)
				}
			}
			// The existing pin is untouched by every failure.
			after, err := r.Pin(ctx, "cid-existing")
			if err != nil {
				t.Fatalf("Pin(cid-existing): %v", err)
			}
			if after.Size != before.Size || !after.CreatedAt.Equal(before.CreatedAt) ||
				!slices.Equal(holderIDs(after), holderIDs(before)) {
				t.Errorf("Pin(cid-existing) changed: %+v, was %+v", after, before)
			}
		})
	}

	// bob's failed pins left no pin for bob: pinning now is a creation.
	t.Run("failed pins left no account pin", func(t *testing.T) {
		if !mustPin(t, r, bob, "cid-existing", 42) {
			t.Fatal("bob's pin of cid-existing not created after earlier failures")
		}
		if !mustPin(t, r, alice, "cid-new", 7) {
			t.Fatal("alice's pin of cid-new not created after earlier failures")
		}
		// cid-new's size was never fixed by the failed attempts (which used size 1).
		info, err := r.Pin(ctx, "cid-new")
		if err != nil || info.Size != 7 || len(info.Holders) != 0 {
			t.Fatalf("Pin(cid-new) = %+v, %v; want size 7, no holders", info, err)
		}
	})
}

func testRecordPinHolders(t *testing.T, r Registry) {
	ctx := context.Background()
	alice := mustAccount(t, r, "alice")
	bob := mustAccount(t, r, "bob")
	for _, id := range []string{"n3", "n1", "n2", "n4"} {
		mustNode(t, r, id, "region-"+id)
	}
	steps := []struct {
		name    string
		account string
		holders []string
		want    []string
	}{
		{"no holders", alice, nil, nil},
		{"one holder", alice, []string{"n3"}, []string{"n3"}},
		{"duplicates in one call", alice, []string{"n1", "n1", "n3", "n1"}, []string{"n1", "n3"}},
		{"other account adds", bob, []string{"n2"}, []string{"n1", "n2", "n3"}},
		{"existing holders again", bob, []string{"n3", "n2", "n1"}, []string{"n1", "n2", "n3"}},
		{"new and old", alice, []string{"n4", "n1"}, []string{"n1", "n2", "n3", "n4"}},
	}
	for _, tc := range steps {
		t.Run(tc.name, func(t *testing.T) {
			mustPin(t, r, tc.account, "cid-h", 9, tc.holders...)
			info, err := r.Pin(ctx, "cid-h")
			if err != nil {
				t.Fatalf("Pin: %v", err)
			}
			if got := holderIDs(info); !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Fatalf("holders = %v, want %v", got, tc.want)
			}
			for _, h := range info.Holders {
				if h.Region != "region-"+h.NodeID || h.URL != "https://"+h.NodeID+".example:4433" {
					t.Errorf("holder %+v not joined with its node's region/url", h)
				}
			}
		})
	}

	t.Run("holders follow node updates", func(t *testing.T) {
		if err := r.UpsertNode(ctx, Node{ID: "n2", Region: "moved", URL: "https://new:1", PublicKey: []byte{2}}); err != nil {
			t.Fatalf("UpsertNode: %v", err)
		}
		info, err := r.Pin(ctx, "cid-h")
		if err != nil {
			t.Fatalf("Pin: %v", err)
		}
		want := Holder{NodeID: "n2", Region: "moved", URL: "https://new:1", Status: StatusPinned}
		if len(info.Holders) != 4 || !sameHolder(info.Holders[1], want) {
			t.Fatalf("holders = %+v, want [1] = %+v", info.Holders, want)
		}
	})
}

func testPin(t *testing.T, r Registry) {
	ctx := context.Background()
	alice := mustAccount(t, r, "alice")
	bob := mustAccount(t, r, "bob")
	mustNode(t, r, "node-1", "eu")

	t.Run("unknown cid", func(t *testing.T) {
		info, err := r.Pin(ctx, "cid-unknown")
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("Pin(unknown) = %+v, %v; want ErrNotFound", info, err)
		}
	})

	t0 := time.Now().UTC()
	mustPin(t, r, alice, "cid-p", 1234, "node-1")
	t1 := time.Now().UTC()
	time.Sleep(5 * time.Millisecond)
	mustPin(t, r, bob, "cid-p", 1234)

	info, err := r.Pin(ctx, "cid-p")
	if err != nil {
		t.Fatalf("Pin: %v", err)
	}
	want := PinInfo{CID: "cid-p", Size: 1234, Status: "pinned",
		Holders: []Holder{{NodeID: "node-1", Region: "eu", URL: "https://node-1.example:4433", Status: "pinned"}}}
	if info.CID != want.CID || info.Size != want.Size || info.Status != want.Status || info.Replicas != 0 ||
		!slices.EqualFunc(info.Holders, want.Holders, sameHolder) {
		t.Fatalf("Pin = %+v, want %+v", info, want)
	}
	if h := info.Holders[0]; h.UpdatedAt.Before(t0.Add(-time.Second)) || h.UpdatedAt.After(t1) ||
		h.UpdatedAt.Location() != time.UTC {
		t.Fatalf("holder UpdatedAt = %v, want UTC in [%v, %v]", h.UpdatedAt, t0, t1)
	}
	// CreatedAt is the earliest pin (alice's), not bob's later one.
	if info.CreatedAt.Before(t0.Add(-time.Second)) || info.CreatedAt.After(t1) {
		t.Fatalf("CreatedAt = %v, want alice's pin time in [%v, %v]", info.CreatedAt, t0, t1)
	}
	if info.CreatedAt.Location() != time.UTC {
		t.Fatalf("CreatedAt location = %v, want UTC", info.CreatedAt.Location())
	}
	t.Run("prefix of cid is not found", func(t *testing.T) {
		if _, err := r.Pin(ctx, "cid-"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Pin(cid-) err = %v, want ErrNotFound", err)
		}
	})
}

func testConcurrentRecordPin(t *testing.T, r Registry) {
	ctx := context.Background()
	const workers = 32
	nodeIDs := []string{"node-0", "node-1", "node-2", "node-3"}
	for _, id := range nodeIDs {
		mustNode(t, r, id, "eu")
	}
	accounts := make([]string, workers)
	for i := range accounts {
		accounts[i] = mustAccount(t, r, fmt.Sprintf("acct-%d", i))
	}
	shared := mustAccount(t, r, "shared")

	type result struct {
		own, common, same bool
		err               error
	}
	results := make([]result, workers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			var res result
			holder := nodeIDs[i%len(nodeIDs)]
			// A CID only this worker pins.
			if res.own, res.err = r.RecordPin(ctx, accounts[i], fmt.Sprintf("cid-own-%d", i), int64(i), []string{holder}); res.err == nil {
				// A CID every worker pins with its own account.
				if res.common, res.err = r.RecordPin(ctx, accounts[i], "cid-common", 777, []string{holder}); res.err == nil {
					// A CID every worker pins with the same account.
					res.same, res.err = r.RecordPin(ctx, shared, "cid-same", 5, []string{holder})
				}
			}
			results[i] = res
		}()
	}
	close(start)
	wg.Wait()

	sameCreated := 0
	for i, res := range results {
		if res.err != nil {
			t.Fatalf("worker %d: %v", i, res.err)
		}
		if !res.own || !res.common {
			t.Errorf("worker %d: created own=%v common=%v, want true", i, res.own, res.common)
		}
		if res.same {
			sameCreated++
		}
	}
	if sameCreated != 1 {
		t.Errorf("shared account pin created %d times, want exactly 1", sameCreated)
	}
	for i := range workers {
		info, err := r.Pin(ctx, fmt.Sprintf("cid-own-%d", i))
		if err != nil || info.Size != int64(i) || !slices.Equal(holderIDs(info), []string{nodeIDs[i%len(nodeIDs)]}) {
			t.Fatalf("Pin(cid-own-%d) = %+v, %v", i, info, err)
		}
	}
	for _, cid := range []string{"cid-common", "cid-same"} {
		info, err := r.Pin(ctx, cid)
		if err != nil || !slices.Equal(holderIDs(info), nodeIDs) {
			t.Fatalf("Pin(%s) = %+v, %v; want held by %v", cid, info, err, nodeIDs)
		}
	}
	// Every worker's account pinned cid-common: pinning again is not a creation.
	for i := range workers {
		if mustPin(t, r, accounts[i], "cid-common", 777) {
			t.Fatalf("account %d re-pin of cid-common reported created", i)
		}
	}
}
