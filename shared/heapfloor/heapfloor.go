// Package heapfloor keeps a daemon's garbage collector from running
// before its heap reaches a floor: with a small live heap, GOGC's doubling
// collects every few MB allocated, dozens of times a second under load.
package heapfloor

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// Default is the heap the daemons let grow before they collect garbage:
// 64 MiB (a node's memory budget is its cache plus 256 MiB).
const Default = 64 << 20

// Keep keeps the garbage collector from running before the heap
// reaches floor bytes: with a small live heap (a node serving cached
// reads holds a few MB) GOGC's doubling would collect every few MB
// allocated, dozens of times a second under load, each time stopping the
// world and taking CPU from the requests. Above floor/2 of live heap it
// changes nothing. It sets GOGC after every collection until stop is
// called, and leaves GOGC=off (and GOMEMLIMIT, which still applies)
// alone. GOGC is process-wide: main calls this, once.
func Keep(floor uint64) (stop func()) {
	base := debug.SetGCPercent(100)
	debug.SetGCPercent(base)
	if base < 0 {
		return func() {}
	}
	t := &heapFloor{floor: floor, base: base}
	t.arm()
	return func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		t.stopped = true
		debug.SetGCPercent(base)
	}
}

type heapFloor struct {
	floor uint64
	base  int

	mu      sync.Mutex
	stopped bool
}

// sentinel is garbage as soon as it is made: its cleanup runs after the
// next collection. (Large enough not to come from the tiny allocator,
// whose objects may never be cleaned up.)
type sentinel struct{ _ [32]byte }

func (t *heapFloor) arm() {
	runtime.AddCleanup(new(sentinel), (*heapFloor).collected, t)
}

// collected sets GOGC so that the next collection comes when the heap
// reaches the floor, or when it doubles if that is later.
func (t *heapFloor) collected() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	debug.SetGCPercent(gcPercent(s[0].Value.Uint64(), t.floor, t.base))
	t.arm()
}

// gcPercent is the GOGC under which a heap of live bytes grows to floor
// before the next collection, and at least base.
func gcPercent(live, floor uint64, base int) int {
	if live == 0 || live >= floor {
		return base
	}
	return max(base, int(min((floor-live)*100/live, 1_000_000)))
}
