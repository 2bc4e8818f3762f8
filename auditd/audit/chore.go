package audit

import (
	"context"
	"sync"
	"time"
)

// Chore runs a function every interval until its context ends. Tests
// pause it and trigger single runs instead of sleeping (as Storj's
// sync2.Cycle): Pause stops the timer, TriggerWait runs one cycle now and
// waits for it, Resume restarts the timer.
type Chore struct {
	interval time.Duration
	fn       func(ctx context.Context)

	mu      sync.Mutex
	paused  bool
	trigger chan chan struct{}
	resume  chan struct{}
}

// NewChore returns a chore running fn every interval.
func NewChore(interval time.Duration, fn func(ctx context.Context)) *Chore {
	return &Chore{interval: interval, fn: fn, trigger: make(chan chan struct{}), resume: make(chan struct{}, 1)}
}

// Run runs the chore until ctx ends.
func (c *Chore) Run(ctx context.Context) {
	t := time.NewTicker(c.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case done := <-c.trigger:
			c.fn(ctx)
			close(done)
			continue
		case <-t.C:
		case <-c.resume:
		}
		c.mu.Lock()
		paused := c.paused
		c.mu.Unlock()
		if !paused {
			c.fn(ctx)
		}
	}
}

// Pause stops timed runs until Resume; a run in progress completes.
func (c *Chore) Pause() {
	c.mu.Lock()
	c.paused = true
	c.mu.Unlock()
}

// Resume restarts timed runs, running one at once.
func (c *Chore) Resume() {
	c.mu.Lock()
	c.paused = false
	c.mu.Unlock()
	select {
	case c.resume <- struct{}{}:
	default:
	}
}

// TriggerWait runs one cycle now (paused or not) and waits for it to
// finish, or for ctx to end.
func (c *Chore) TriggerWait(ctx context.Context) error {
	done := make(chan struct{})
	select {
	case c.trigger <- done:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
