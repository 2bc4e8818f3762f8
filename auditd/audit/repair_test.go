package audit

import (
	"context"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

func TestWaitBytes(t *testing.T) {
	ctx := context.Background()
	if err := waitBytes(ctx, nil, 1<<40); err != nil {
		t.Errorf("no limit: %v", err)
	}
	// A blob larger than the burst is taken a burst at a time (WaitN
	// refuses more than the burst at once).
	fast := rate.NewLimiter(rate.Limit(1e12), 1<<20)
	if err := waitBytes(ctx, fast, 10<<20+5); err != nil {
		t.Errorf("10 MiB through a 1 MiB burst: %v", err)
	}
	// A limit too slow for the deadline fails at once, having let
	// through what the bucket held.
	slow := rate.NewLimiter(rate.Limit(1), 1<<20)
	dctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := waitBytes(dctx, slow, 2<<20); err == nil {
		t.Error("2 MiB at 1 byte/s within a minute: no error")
	}
	if tokens := slow.Tokens(); tokens > 1 {
		t.Errorf("%v tokens left: the first MiB was not taken", tokens)
	}
}
