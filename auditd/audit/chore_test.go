package audit

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestChore(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var runs atomic.Int64
	c := NewChore(time.Hour, func(context.Context) { runs.Add(1) })
	c.Pause()
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	for i := 1; i <= 3; i++ {
		if err := c.TriggerWait(ctx); err != nil {
			t.Fatal(err)
		}
		if got := runs.Load(); got != int64(i) {
			t.Fatalf("after %d triggers, %d runs", i, got)
		}
	}
	c.Resume() // runs once at once
	deadline := time.Now().Add(5 * time.Second)
	for runs.Load() != 4 {
		if time.Now().After(deadline) {
			t.Fatalf("Resume did not run the chore: %d runs", runs.Load())
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	if err := c.TriggerWait(ctx); err == nil {
		t.Error("TriggerWait on a stopped chore succeeded")
	}
}
