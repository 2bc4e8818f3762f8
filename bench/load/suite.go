package load

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strings"
	"time"
)

// measurement is one selectable part of the suite.
type measurement struct {
	name  string
	about string
	run   func(ctx context.Context, s *suite) error
	// repeat measurements run once per round, interleaved with the other
	// repeated ones, so that baselines and dStor share the machine's
	// drift; the others run once, after the rounds.
	repeat bool
}

// measurements lists the suite in the order it runs.
func measurements() []measurement {
	return []measurement{
		{"q1", "bare quic-go stream on loopback, between processes and in one", measureQ1, true},
		{"bare", "bare quic-go http3 handler: small-body rate and latency, large-body throughput", measureBare, true},
		{"caddy", "Caddy file_server over HTTP/3: the same figures", measureCaddy, true},
		{"cached4k", "dStor node, small blob from its cache: rate and latency", measureCachedSmall, true},
		{"cached256", "dStor node, large blob from its cache: throughput and TTFB", measureCachedBig, true},
		{"cold", "dStor node, large blob from disk, page cache dropped", measureCold, true},
		// Issue 4 (redirect.go, ingest.go); each measures its own baselines.
		{"redirect", "dStor gateway's 307 redirects vs a bare http3 fixed 307: rate and latency", measureRedirect, true},
		{"ingest", "dStor gateway ingest of a large blob (W copies) vs Q1, copies sent, BLAKE3 share", measureIngest, true},
		{"peerfetch", "dStor node without the blob: end to end, TTFB, fetches under concurrent readers", measurePeerFetch, false},
		{"rss", "dStor node's peak RSS while serving concurrent large reads", measureRSS, false},
		{"writes", "small durable writes: through the gateway and on one node", measureWrites, false},
		// Issue 5 (audit.go, auditfull.go).
		{"audit", "one auditor's challenges: raw rate and latency, a node's answer from disk, audits recorded", measureAudit, false},
	}
}

// Names lists the measurements in suite order.
func Names() []string {
	var names []string
	for _, m := range measurements() {
		names = append(names, m.name)
	}
	return names
}

// measurementTimeout bounds one measurement.
const measurementTimeout = 10 * time.Minute

// suite is one run: its configuration, its temporary directory, the
// report, and the servers, each started when a measurement first needs it
// and kept until the end.
type suite struct {
	cfg    Config
	dir    string
	report *Report
	notes  []string
	failed map[string]bool

	bare  *bareServer
	caddy *caddyServer
	dstor *dstorEnv
	gw    gatewayRuns // state of the redirect and ingest measurements
}

// Run runs the selected measurements and prints the report to out. It
// returns an error if a measurement could not complete; figures that miss
// their targets are reported, not errors.
func Run(ctx context.Context, cfg Config, out io.Writer) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	if cfg.CPUProfile != "" {
		f, err := os.Create(cfg.CPUProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	dir, err := os.MkdirTemp("", "dstor-bench-")
	if err != nil {
		return err
	}
	s := &suite{cfg: cfg, dir: dir, report: NewReport(Targets(cfg)), failed: make(map[string]bool)}
	defer s.close()
	started := time.Now()
	for round := 1; round <= cfg.Rounds; round++ {
		for _, m := range measurements() {
			if m.repeat {
				s.runOne(ctx, m, fmt.Sprintf(" (round %d of %d)", round, cfg.Rounds))
			}
		}
	}
	for _, m := range measurements() {
		if !m.repeat {
			s.runOne(ctx, m, "")
		}
	}
	s.header(out, time.Since(started))
	s.report.Print(out)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if n := s.report.Failures(); n > 0 {
		return fmt.Errorf("%d measurement(s) failed", n)
	}
	return nil
}

// runOne runs m if it is selected and has not failed before.
func (s *suite) runOne(ctx context.Context, m measurement, round string) {
	if !s.cfg.selected(m.name) || s.failed[m.name] || ctx.Err() != nil {
		return
	}
	s.progress("%s%s: %s", m.name, round, m.about)
	mctx, cancel := context.WithTimeout(ctx, measurementTimeout)
	defer cancel()
	t0 := time.Now()
	if err := m.run(mctx, s); err != nil {
		s.failed[m.name] = true
		s.report.Fail(m.name, err)
		s.progress("%s failed after %s: %v", m.name, time.Since(t0).Round(time.Millisecond), err)
		return
	}
	s.progress("%s done in %s", m.name, time.Since(t0).Round(time.Millisecond))
}

// quiet waits for the machine to be nearly idle before a measured run.
func (s *suite) quiet(ctx context.Context) {
	if s.cfg.QuietWait <= 0 {
		return
	}
	start := time.Now()
	if ok, busy := waitQuiet(ctx, s.cfg.QuietWait); !ok && ctx.Err() == nil {
		s.progress("  the machine is still busy (%.2f cores) after %s; measuring anyway", busy, s.cfg.QuietWait)
	} else if waited := time.Since(start); waited > time.Second {
		s.progress("  waited %s for the machine to be idle", waited.Round(100*time.Millisecond))
	}
}

// add records a figure and shows it in the progress.
func (s *suite) add(f Figure) {
	s.report.Add(f)
	s.progress("  %s: %s  %s", f.Name, f.Unit.format(f.Value), f.Note)
}

func (s *suite) progress(format string, args ...any) {
	fmt.Fprintf(s.cfg.Progress, "bench: "+format+"\n", args...)
}

// setup records a line about how the figures were obtained, printed once
// above the table.
func (s *suite) setup(line string) {
	if !slices.Contains(s.notes, line) {
		s.notes = append(s.notes, line)
	}
}

// clientSetup records the client's shape and socket buffers.
func (s *suite) clientSetup(cl *Client) {
	gso := "on"
	if v := os.Getenv("QUIC_GO_DISABLE_GSO"); v != "" && v != "0" && v != "false" {
		gso = "off"
	}
	s.setup(fmt.Sprintf("client: %d closed-loop clients over %d QUIC connections (one http3.Transport and UDP socket each); %s; GSO %s",
		s.cfg.Concurrency, s.cfg.Conns, cl.bufferNote(), gso))
}

func (s *suite) header(w io.Writer, took time.Duration) {
	qv := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/quic-go/quic-go" {
				qv = d.Version
			}
		}
	}
	fmt.Fprintf(w, "dStor load suite, %s; %s, GOMAXPROCS %d, %d CPUs; quic-go %s; took %s\n",
		time.Now().Format(time.DateTime), runtime.Version(), runtime.GOMAXPROCS(0), runtime.NumCPU(), qv, took.Round(time.Second))
	fmt.Fprintf(w, "run: %s; %d rounds of the repeated ones (value: median over rounds); request-rate runs %s after %s warm-up; large reads: median of %d\n",
		strings.Join(s.selectedNames(), ","), s.cfg.Rounds, s.cfg.Duration, s.cfg.Warmup, s.cfg.Reads)
	for _, n := range s.notes {
		fmt.Fprintln(w, n)
	}
	fmt.Fprintln(w)
}

func (s *suite) selectedNames() []string {
	var names []string
	for _, n := range Names() {
		if s.cfg.selected(n) {
			names = append(names, n)
		}
	}
	return names
}

func (s *suite) close() {
	if s.dstor != nil {
		s.dstor.close()
	}
	if s.bare != nil {
		s.bare.proc.stop()
	}
	if s.caddy != nil {
		s.caddy.proc.stop()
	}
	if s.cfg.Keep {
		s.progress("kept %s", s.dir)
		return
	}
	os.RemoveAll(s.dir)
}
