package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
)

// testTwoHandles checks that two handles on one database see each other's
// writes.
func testTwoHandles(t *testing.T, a, b Registry) {
	ctx := context.Background()
	acctA := mustAccount(t, a, "via-a")
	t.Run("b sees a's writes", func(t *testing.T) {
		if err := b.AddAPIKey(ctx, acctA, hashOf("k-a")); err != nil {
			t.Fatalf("b.AddAPIKey for account made via a: %v", err)
		}
		mustNode(t, a, "node-a", "eu")
		nodes, err := b.Nodes(ctx)
		if err != nil || len(nodes) != 1 || nodes[0].ID != "node-a" {
			t.Fatalf("b.Nodes = %+v, %v; want node-a", nodes, err)
		}
	})
	t.Run("a sees b's writes", func(t *testing.T) {
		if got, err := a.AccountByKey(ctx, hashOf("k-a")); err != nil || got != acctA {
			t.Fatalf("a.AccountByKey = %q, %v; want %q", got, err, acctA)
		}
		if err := b.AddEnrollToken(ctx, hashOf("tok-b")); err != nil {
			t.Fatal(err)
		}
		if err := a.CheckEnrollToken(ctx, hashOf("tok-b")); err != nil {
			t.Fatalf("a.CheckEnrollToken: %v", err)
		}
		mustNode(t, b, "node-b", "us")
		mustPin(t, b, acctA, "cid-b", 3, "node-a", "node-b")
		if err := b.SetHolderStatus(ctx, "cid-b", "node-a", StatusFailed); err != nil {
			t.Fatal(err)
		}
		if err := b.SetReplicas(ctx, "cid-b", 2); err != nil {
			t.Fatal(err)
		}
		info, err := a.Pin(ctx, "cid-b")
		if err != nil || !slices.Equal(holderStatuses(info), []string{"node-a=failed", "node-b=pinned"}) ||
			info.Holders[1].Region != "us" || info.Replicas != 2 {
			t.Fatalf("a.Pin = %+v, %v", info, err)
		}
	})
	t.Run("size mismatch across handles", func(t *testing.T) {
		_, err := a.RecordPin(ctx, acctA, "cid-b", 4, nil)
		if !errors.Is(err, ErrSizeMismatch) {
			t.Fatalf("a.RecordPin with other size = %v, want ErrSizeMismatch", err)
		}
	})
}

// testTwoHandlesConcurrentRecordPin has many goroutines on two handles pin
// one CID with different holders, as gateways sharing a database would: no
// call fails, the holders are the union, and each account's pin is created
// once.
func testTwoHandlesConcurrentRecordPin(t *testing.T, a, b Registry) {
	ctx := context.Background()
	const workers = 32
	var nodeIDs []string
	for i := range 8 {
		nodeIDs = append(nodeIDs, fmt.Sprintf("node-%d", i))
		mustNode(t, a, nodeIDs[i], "eu")
	}
	shared := mustAccount(t, a, "shared")
	// Some holders are mid-copy when the commits arrive.
	mustPin(t, a, shared, "cid-u", 321)
	for _, id := range nodeIDs[:4] {
		if err := a.SetHolderStatus(ctx, "cid-u", id, StatusPinning); err != nil {
			t.Fatal(err)
		}
	}

	var (
		wg                      sync.WaitGroup
		mu                      sync.Mutex
		sharedCreated, acctsNew int
	)
	start := make(chan struct{})
	errs := make(chan error, 2*workers)
	for i := range workers {
		r := []Registry{a, b}[i%2]
		holders := []string{nodeIDs[i%8], nodeIDs[(i+3)%8]}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			acct, err := r.CreateAccount(ctx, fmt.Sprintf("acct-%d", i))
			if err != nil {
				errs <- fmt.Errorf("worker %d: %w", i, err)
				return
			}
			own, err := r.RecordPin(ctx, acct, "cid-u", 321, holders)
			if err != nil {
				errs <- fmt.Errorf("worker %d own account: %w", i, err)
				return
			}
			again, err := r.RecordPin(ctx, shared, "cid-u", 321, holders[:1])
			if err != nil {
				errs <- fmt.Errorf("worker %d shared account: %w", i, err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if own {
				acctsNew++
			}
			if again {
				sharedCreated++
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if acctsNew != workers || sharedCreated != 0 {
		t.Errorf("created: %d own pins (want %d), %d shared (want 0: pinned before)", acctsNew, workers, sharedCreated)
	}
	var want []string
	for _, id := range nodeIDs {
		want = append(want, id+"="+StatusPinned)
	}
	for name, r := range map[string]Registry{"a": a, "b": b} {
		info, err := r.Pin(ctx, "cid-u")
		if err != nil || info.Size != 321 || !slices.Equal(holderStatuses(info), want) {
			t.Errorf("%s.Pin(cid-u) = %+v, %v; want holders %v", name, info, err, want)
		}
	}
}
