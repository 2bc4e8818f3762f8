package load

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// rate is the outcome of a closed-loop run.
type rate struct {
	ops      int           // completed within the run's duration
	window   time.Duration // the run's duration
	p50, p99 time.Duration // latency of those operations
}

func (r rate) perSec() float64 { return float64(r.ops) / r.window.Seconds() }

// closedLoop runs workers loops of op for dur, each loop starting its
// next op as soon as the previous one returns, and reports the ops that
// completed within dur. The first error stops every loop and is
// returned.
func closedLoop(ctx context.Context, workers int, dur time.Duration, op func(ctx context.Context, worker int) error) (rate, error) {
	until := time.Now().Add(dur)
	var (
		mu        sync.Mutex
		latencies []time.Duration
	)
	g, ctx := errgroup.WithContext(ctx)
	for w := range workers {
		g.Go(func() error {
			var mine []time.Duration
			for ctx.Err() == nil && time.Now().Before(until) {
				start := time.Now()
				if err := op(ctx, w); err != nil {
					return err
				}
				if end := time.Now(); end.Before(until) {
					mine = append(mine, end.Sub(start))
				}
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return rate{}, err
	}
	slices.Sort(latencies)
	return rate{
		ops:    len(latencies),
		window: dur,
		p50:    percentile(latencies, 0.50),
		p99:    percentile(latencies, 0.99),
	}, nil
}

// hammer has workers closed-loop clients GET url for dur, client i over
// connection i mod Conns of cl.
func hammer(ctx context.Context, cl *Client, url string, size int64, workers int, dur time.Duration) (rate, error) {
	bufs := make([][]byte, workers)
	for i := range bufs {
		bufs[i] = make([]byte, max(size, 1))
	}
	return closedLoop(ctx, workers, dur, func(ctx context.Context, w int) error {
		_, err := get(ctx, cl.HTTP(w), url, size, bufs[w], false)
		return err
	})
}

// concurrentReads has workers clients read url at the same time, client
// i over connection i mod Conns of cl, each until it has the whole body or
// limit (0: none) has passed. It returns the aggregate throughput in MB/s
// and how many reads completed.
func concurrentReads(ctx context.Context, cl *Client, url string, size int64, workers int, limit time.Duration) (float64, int, error) {
	rctx := ctx
	if limit > 0 {
		var cancel context.CancelFunc
		rctx, cancel = context.WithTimeout(ctx, limit)
		defer cancel()
	}
	var total, complete atomic.Int64
	g, gctx := errgroup.WithContext(rctx)
	start := time.Now()
	for i := range workers {
		hc := cl.HTTP(i)
		g.Go(func() error {
			f, err := get(gctx, hc, url, size, make([]byte, readBufSize), false)
			total.Add(f.bytes)
			switch {
			case err == nil:
				complete.Add(1)
			case rctx.Err() != nil && ctx.Err() == nil:
				// Stopped at the limit.
			default:
				return err
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return 0, 0, err
	}
	return megabytesPerSec(total.Load(), time.Since(start)), int(complete.Load()), nil
}
