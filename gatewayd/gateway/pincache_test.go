package gateway

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"dstor/shared/registry"
)

// countingRegistry is a real registry that counts its Pin reads and can
// hold them until released.
type countingRegistry struct {
	registry.Registry
	pins atomic.Int64
	gate chan struct{} // when set, each Pin waits for a receive from it
}

func (r *countingRegistry) Pin(ctx context.Context, cid string) (registry.PinInfo, error) {
	r.pins.Add(1)
	if r.gate != nil {
		<-r.gate
	}
	return r.Registry.Pin(ctx, cid)
}

// TestPinCache runs the pin cache against a real SQLite registry: fresh
// pins come from memory, stale ones are served at once while one
// background refresh runs, concurrent misses share one registry read, a
// refresh that finds the pin gone drops it, and a change this gateway
// makes during a read is not overwritten by that read.
func TestPinCache(t *testing.T) {
	ctx := context.Background()
	sql, err := registry.OpenSQLite(filepath.Join(t.TempDir(), "reg.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer sql.Close()
	reg := &countingRegistry{Registry: sql}
	acct, err := reg.CreateAccount(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.UpsertNode(ctx, registry.Node{ID: "n1", Region: "eu", URL: "https://127.0.0.1:9001"}); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.RecordPin(ctx, acct, "cid-a", 10, []string{"n1"}); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var clock sync.Mutex
	c := newPinCache(func() time.Time { clock.Lock(); defer clock.Unlock(); return now })
	advance := func(d time.Duration) { clock.Lock(); now = now.Add(d); clock.Unlock() }
	var refreshes sync.WaitGroup
	c.spawn = func(f func(context.Context)) {
		refreshes.Add(1)
		go func() { defer refreshes.Done(); f(ctx) }()
	}
	reads := func(want int64) {
		t.Helper()
		if got := reg.pins.Load(); got != want {
			t.Fatalf("registry Pin reads = %d, want %d", got, want)
		}
	}
	get := func() *cachedPin {
		t.Helper()
		p, err := c.get(ctx, reg, "cid-a")
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	p := get()
	if p.info.Size != 10 || !p.isHolder("n1") {
		t.Fatalf("pin = %+v", p.info)
	}
	reads(1)
	advance(pinTTL - time.Millisecond)
	get()
	reads(1) // fresh: from memory

	// Stale: the old entry is served at once and one refresh runs, however
	// many readers see it stale.
	advance(time.Second)
	reg.gate = make(chan struct{})
	for range 10 {
		if q := get(); q != p {
			t.Fatal("a stale read did not get the cached pin at once")
		}
	}
	reg.gate <- struct{}{}
	refreshes.Wait()
	reg.gate = nil
	reads(2)
	if q := get(); q == p || q.fetched != now {
		t.Fatal("the refresh did not replace the stale pin")
	}
	reads(2)

	// Older than pinMaxStale: read from the registry before answering,
	// once for all concurrent readers.
	advance(pinMaxStale)
	reg.gate = make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() { defer wg.Done(); get() }()
	}
	for reg.pins.Load() < 3 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // let the other readers join the read
	reg.gate <- struct{}{}
	wg.Wait()
	reg.gate = nil
	reads(3)

	// A change by this gateway during a read: the read's result is
	// returned but not kept.
	advance(pinMaxStale)
	reg.gate = make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); get() }()
	for reg.pins.Load() < 4 {
		time.Sleep(time.Millisecond)
	}
	c.forget("cid-a")
	reg.gate <- struct{}{}
	<-done
	reg.gate = nil
	get()
	reads(5)

	// A pin this gateway just wrote is read again in the background, so
	// the first read after it is a hit.
	c.reload(reg, "cid-a")
	refreshes.Wait()
	reads(6)
	advance(time.Second)
	get()
	reads(6)

	// Unpinned (through another gateway): the refresh of the stale entry
	// finds it gone and drops it; the next read is a miss.
	if _, err := reg.Unpin(ctx, acct, "cid-a"); err != nil {
		t.Fatal(err)
	}
	advance(pinTTL)
	get() // stale, served once more, and refreshed
	refreshes.Wait()
	reads(7)
	if _, err := c.get(ctx, reg, "cid-a"); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("read of an unpinned CID = %v, want ErrNotFound", err)
	}
	reads(8)
}
