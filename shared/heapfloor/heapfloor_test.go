package heapfloor

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestGCPercent(t *testing.T) {
	tests := []struct {
		name        string
		live, floor uint64
		base, want  int
	}{
		{"small heap waits for the floor", 4 << 20, 64 << 20, 100, 1500},
		{"half the floor", 32 << 20, 64 << 20, 100, 100},
		{"above the floor", 100 << 20, 64 << 20, 100, 100},
		{"higher base kept", 60 << 20, 64 << 20, 200, 200},
		{"no live heap", 0, 64 << 20, 100, 100},
		{"tiny heap capped", 1, 64 << 20, 100, 1_000_000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := gcPercent(tc.live, tc.floor, tc.base); got != tc.want {
				t.Errorf("gcPercent(%d, %d, %d) = %d, want %d", tc.live, tc.floor, tc.base, got, tc.want)
			}
		})
	}
}

func TestKeep(t *testing.T) {
	base := debug.SetGCPercent(100)
	defer debug.SetGCPercent(base)
	stop := Keep(1 << 40)
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC()
		time.Sleep(10 * time.Millisecond) // cleanups run on their own goroutine
		if p := debug.SetGCPercent(-1); p > 100 {
			debug.SetGCPercent(p)
			break
		} else {
			debug.SetGCPercent(p)
		}
		if time.Now().After(deadline) {
			t.Fatal("GOGC was not raised after collections")
		}
	}
	stop()
	if p := debug.SetGCPercent(100); p != 100 {
		t.Errorf("GOGC %d after stop, want 100 back", p)
	}
}
