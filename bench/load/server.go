package load

import (
	"context"
	"crypto/x509"
	"fmt"
	"time"
)

// serverUnderTest is an HTTP/3 server the suite measures the same way
// whatever it is: the bare handler, Caddy or a dStor node.
type serverUnderTest struct {
	name       string // "bare http3", "Caddy", "dStor cached"
	pool       *x509.CertPool
	pid        int    // for its CPU use
	small, big string // URLs of the small and large bodies; "" skips
	keys       figureKeys
	// observe, when set, starts just before a measured run; what it
	// returns then describes the server's side of the run for the note.
	observe func(ctx context.Context) func() string
}

// observed starts t's observer, if any.
func (t serverUnderTest) observed(ctx context.Context) func() string {
	if t.observe == nil {
		return func() string { return "" }
	}
	return t.observe(ctx)
}

// figureKeys are the keys its figures are recorded under.
type figureKeys struct {
	smallRPS, smallP50, smallP99, big, bigTTFB string
}

func (s *suite) serverFigures(ctx context.Context, t serverUnderTest) error {
	if t.small != "" {
		if err := s.smallFigures(ctx, t); err != nil {
			return err
		}
	}
	if t.big != "" {
		return s.bigFigures(ctx, t)
	}
	return nil
}

// smallFigures: Concurrency closed-loop clients over Conns connections
// read the small body for Warmup, then for Duration, measured.
func (s *suite) smallFigures(ctx context.Context, t serverUnderTest) error {
	cl, err := newClient(t.pool, s.cfg.Conns)
	if err != nil {
		return err
	}
	defer cl.Close()
	size := int64(s.cfg.SmallSize)
	s.quiet(ctx)
	if _, err := hammer(ctx, cl, t.small, size, s.cfg.Concurrency, s.cfg.Warmup); err != nil {
		return fmt.Errorf("%s warm-up: %w", t.name, err)
	}
	s.clientSetup(cl)
	cpu, obs := startCPU(t.pid), t.observed(ctx)
	r, err := hammer(ctx, cl, t.small, size, s.cfg.Concurrency, s.cfg.Duration)
	if err != nil {
		return fmt.Errorf("%s: %w", t.name, err)
	}
	what := fmt.Sprintf("%s %s", t.name, sizeName(size))
	s.add(Figure{
		Key: t.keys.smallRPS, Name: fmt.Sprintf("%s, %d clients", what, s.cfg.Concurrency), Unit: ReqPS,
		Value: r.perSec(), Note: joinNotes(fmt.Sprintf("%d requests over %d conns", r.ops, s.cfg.Conns), cpu.note(s.cfg.Duration), obs()),
	})
	s.add(Figure{Key: t.keys.smallP50, Name: what + " p50", Unit: Millis, Value: millis(r.p50)})
	s.add(Figure{Key: t.keys.smallP99, Name: what + " p99", Unit: Millis, Value: millis(r.p99)})
	return nil
}

// bigFigures: one client reads the large body once unmeasured, then
// Reads times, one after another; the figures are the medians.
func (s *suite) bigFigures(ctx context.Context, t serverUnderTest) error {
	cl, err := newClient(t.pool, 1)
	if err != nil {
		return err
	}
	defer cl.Close()
	hc := cl.HTTP(0)
	s.quiet(ctx)
	if _, _, err := sequentialReads(ctx, hc, t.big, s.cfg.BigSize, 1); err != nil {
		return fmt.Errorf("%s warm-up: %w", t.name, err)
	}
	cpu, obs := startCPU(t.pid), t.observed(ctx)
	start := time.Now()
	mbps, ttfb, err := sequentialReads(ctx, hc, t.big, s.cfg.BigSize, s.cfg.Reads)
	if err != nil {
		return fmt.Errorf("%s: %w", t.name, err)
	}
	what := fmt.Sprintf("%s %s read", t.name, sizeName(s.cfg.BigSize))
	s.add(Figure{
		Key: t.keys.big, Name: what, Unit: MBps, Value: mbps,
		Note: joinNotes(fmt.Sprintf("median of %d", s.cfg.Reads), cpu.note(time.Since(start)), obs()),
	})
	s.add(Figure{Key: t.keys.bigTTFB, Name: what + " TTFB", Unit: Millis, Value: millis(ttfb)})
	return nil
}
