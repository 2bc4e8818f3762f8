package load

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"dstor/auditd/audit"
	"dstor/shared/cid"
	"dstor/shared/registry"
	"dstor/shared/wire"
)

// auditBatch is the targets of one AuditTargets call: one second's worth
// for an auditor at the 2,000 challenges/s (SampleHolders gives
// fewer when there are fewer pairs).
const auditBatch = 2000

// fullAuditor runs auditd's Auditor in this process on the cluster's
// registry (SQLite; the gateway has it open too) with its loops paused,
// and for auditRun feeds it batches sampled as its audit loop samples
// them: the rate of audits recorded (history, reputation, ledger).
func (s *suite) fullAuditor(ctx context.Context, e *dstorEnv, wc *wire.Client) error {
	gw := filepath.Join(e.dir, "gateway")
	token, err := os.ReadFile(filepath.Join(gw, "enroll-token"))
	if err != nil {
		return err
	}
	regPath := filepath.Join(gw, "registry.db")
	warns := &warnCounter{}
	a, err := audit.New(audit.Config{
		Dir:         filepath.Join(e.dir, "bench-auditor"),
		Registry:    regPath,
		Gateway:     e.c.Env.Gateway,
		CAFile:      e.c.Env.CA,
		EnrollToken: strings.TrimSpace(string(token)),
		Rate:        auditBatch,
		Parallel:    s.cfg.Concurrency,
		Logger:      slog.New(warns),
	})
	if err != nil {
		return err
	}
	a.Audits.Pause()
	a.Repairs.Pause()
	a.Surveys.Pause()
	actx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(actx) }()
	defer func() { stop(); <-done }()
	select {
	case <-a.Ready():
	case err := <-done:
		done <- err
		return fmt.Errorf("auditor: %w", err)
	case <-ctx.Done():
		return ctx.Err()
	}
	reg, err := registry.Open(ctx, regPath)
	if err != nil {
		return err
	}
	defer reg.Close()

	// One unmeasured batch: connections to every node. Then where a
	// batch's time goes: the same targets challenged alone (no registry),
	// then through AuditTargets; the difference is recording them.
	if _, err := auditBatchOnce(ctx, a, reg); err != nil {
		return err
	}
	split, err := s.auditSplit(ctx, a, reg, wc)
	if err != nil {
		return err
	}
	s.quiet(ctx)
	cpu := startCPU(e.pids()...)
	var (
		st      auditStats
		batches int
	)
	start := time.Now()
	for time.Since(start) < auditRun {
		b, err := auditBatchOnce(ctx, a, reg)
		if err != nil {
			return err
		}
		st.add(b)
		batches++
	}
	took := time.Since(start)
	if st.pass == 0 {
		return fmt.Errorf("no audit passed: %s", st)
	}
	s.add(Figure{Key: keyAuditFull, Name: "full auditor, audits recorded", Unit: AuditsPS, Value: float64(st.total) / took.Seconds(),
		Note: joinNotes(fmt.Sprintf("audit.Auditor in the bench process, Parallel %d; %d batches of up to %d from SampleHolders (%.0f ms each: sample %.0f ms, AuditTargets %.0f ms); %s; %d warnings logged%s",
			s.cfg.Concurrency, batches, auditBatch, millis(took)/float64(batches), millis(st.sample)/float64(batches), millis(st.audit)/float64(batches), st, warns.count(), warns.lastNote()),
			split, "server: every dStor daemon", cpu.note(took))})
	return nil
}

// auditSplit times one sampled batch challenged alone, Parallel at once,
// then the same batch through AuditTargets, and describes the difference.
func (s *suite) auditSplit(ctx context.Context, a *audit.Auditor, reg registry.Registry, wc *wire.Client) (string, error) {
	targets, err := reg.SampleHolders(ctx, auditBatch)
	if err != nil {
		return "", err
	}
	t0 := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.cfg.Concurrency)
	for _, t := range targets {
		g.Go(func() error {
			id, err := cid.Parse(t.CID)
			if err != nil {
				return err
			}
			tg, err := target(t.NodeID, t.URL)
			if err != nil {
				return err
			}
			_, err = challengeOnce(gctx, wc, auditPair{id: id, size: t.Size, target: tg})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return "", err
	}
	alone := time.Since(t0)
	t1 := time.Now()
	a.AuditTargets(ctx, targets)
	full := time.Since(t1)
	rec := full - alone
	return fmt.Sprintf("one batch of %d: challenges alone %.0f ms, AuditTargets %.0f ms, so recording about %.0f ms (%.0f µs per audit)",
		len(targets), millis(alone), millis(full), millis(rec), float64(rec.Microseconds())/float64(max(len(targets), 1))), nil
}

// auditStats sums batches.
type auditStats struct {
	total, pass   int
	outcomes      map[string]int
	sample, audit time.Duration
}

func (s *auditStats) add(b auditStats) {
	s.total += b.total
	s.pass += b.pass
	s.sample += b.sample
	s.audit += b.audit
	if s.outcomes == nil {
		s.outcomes = map[string]int{}
	}
	for k, v := range b.outcomes {
		s.outcomes[k] += v
	}
}

func (s auditStats) String() string {
	var parts []string
	for k, v := range s.outcomes {
		parts = append(parts, fmt.Sprintf("%d %s", v, k))
	}
	return "outcomes " + strings.Join(parts, ", ")
}

// auditBatchOnce samples a batch and audits it.
func auditBatchOnce(ctx context.Context, a *audit.Auditor, reg registry.Registry) (auditStats, error) {
	t0 := time.Now()
	targets, err := reg.SampleHolders(ctx, auditBatch)
	if err != nil {
		return auditStats{}, err
	}
	t1 := time.Now()
	vs := a.AuditTargets(ctx, targets)
	st := auditStats{total: len(vs), sample: t1.Sub(t0), audit: time.Since(t1), outcomes: map[string]int{}}
	for _, v := range vs {
		st.outcomes[v.Outcome]++
		if v.Outcome == registry.AuditPass {
			st.pass++
		}
	}
	if ctx.Err() != nil {
		return st, ctx.Err()
	}
	return st, nil
}

// warnCounter is a slog.Handler that counts warnings and errors (the
// auditor logs a failed registry write as one) and keeps the last.
type warnCounter struct {
	mu   sync.Mutex
	n    int
	last string
}

func (w *warnCounter) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (w *warnCounter) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	w.mu.Lock()
	w.n++
	w.last = b.String()
	w.mu.Unlock()
	return nil
}

func (w *warnCounter) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w *warnCounter) WithGroup(string) slog.Handler      { return w }

func (w *warnCounter) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// lastNote is the last warning, for the figure's note.
func (w *warnCounter) lastNote() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.last == "" {
		return ""
	}
	return " (last: " + w.last + ")"
}
