package load

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sync/atomic"
	"time"

	"dstor/shared/challenge"
	"dstor/shared/cid"
	"dstor/shared/identity"
	"dstor/shared/wire"
)

// Issue 5's auditor figures (audit.go, auditfull.go). Each challenge asks
// for auditRanges ranges of auditRangeLen bytes, auditd's defaults.
const (
	auditRanges   = 8
	auditRangeLen = 1 << 10
	// auditRun is the measured time of each throughput run.
	auditRun = 5 * time.Second
	// auditColdAnswers is how many challenges the from-disk answer time
	// is the p99 of.
	auditColdAnswers = 300
)

// auditSizes are the blobs the auditor figures challenge: 200 of mixed
// sizes from 4 KiB to 4 MiB, most of them not a power of two (uneven
// trees), each uploaded through the gateway and replicated.
var auditSizes = []struct{ n, size int }{
	{40, 4 << 10}, {40, 40_000}, {40, 300_000}, {40, 1_000_000}, {20, 2_500_000}, {20, 4 << 20},
}

// auditPair is one holder of one blob: what a challenge is sent about.
type auditPair struct {
	id     cid.CID
	size   int64
	target wire.Target
	dir    string // the holder's -dir, to drop its files from the page cache
}

// measureAudit measures one auditor against the cluster:
//   - raw challenges: Concurrency closed-loop challenges from this
//     process (a wire client with an auditor certificate the cluster's CA
//     issues) over every (blob, holder) pair, verified, no registry:
//     challenges/s, p50 and p99 of the whole exchange;
//   - a node's answer from disk: challenges one at a time, each holder's
//     blob and outboard dropped from the page cache first: p99 from the
//     request to the answer's last byte;
//   - the full auditor (auditfull.go): auditd's own audit.Auditor in this
//     process on the cluster's registry, batches from SampleHolders
//     through AuditTargets, verdicts recorded: audits/s.
func measureAudit(ctx context.Context, s *suite) error {
	e, err := s.env(ctx)
	if err != nil {
		return err
	}
	pairs, err := e.auditPairs(ctx)
	if err != nil {
		return err
	}
	wc, err := e.clientAs(identity.RoleAuditor) // nodes answer an auditor's challenges
	if err != nil {
		return err
	}
	defer wc.Close()
	// Every pair once, unmeasured: connections, and a check that every
	// holder proves every blob.
	for _, p := range pairs {
		if _, err := challengeOnce(ctx, wc, p); err != nil {
			return err
		}
	}
	if err := s.rawChallenges(ctx, e, wc, pairs); err != nil {
		return err
	}
	if err := s.coldAnswers(ctx, wc, pairs); err != nil {
		return err
	}
	return s.fullAuditor(ctx, e, wc)
}

// rawChallenges loads the nodes with Concurrency challengers for auditRun.
func (s *suite) rawChallenges(ctx context.Context, e *dstorEnv, wc *wire.Client, pairs []auditPair) error {
	var next atomic.Int64
	answers := make([][]time.Duration, s.cfg.Concurrency) // per worker
	op := func(ctx context.Context, w int) error {
		p := pairs[int(next.Add(1))%len(pairs)]
		elapsed, err := challengeOnce(ctx, wc, p)
		answers[w] = append(answers[w], elapsed)
		return err
	}
	s.quiet(ctx)
	if _, err := closedLoop(ctx, s.cfg.Concurrency, s.cfg.Warmup, op); err != nil {
		return fmt.Errorf("challenge warm-up: %w", err)
	}
	clear(answers)
	cpu := startCPU(e.nodePids()...)
	r, err := closedLoop(ctx, s.cfg.Concurrency, auditRun, op)
	if err != nil {
		return fmt.Errorf("challenges: %w", err)
	}
	ans := slices.Concat(answers...)
	slices.Sort(ans)
	var answerBytes int64 // what an answer weighs, on average over the pairs
	for _, p := range pairs {
		rs := challenge.Ranges([32]byte{}, p.id, p.target.Peer.ID, p.size, auditRanges, auditRangeLen)
		answerBytes += challenge.AnswerSize(p.size, rs)
	}
	answerBytes /= int64(len(pairs))
	what := fmt.Sprintf("%d challengers, %d ranges of %s", s.cfg.Concurrency, auditRanges, sizeName(auditRangeLen))
	s.setup(fmt.Sprintf("audit: %d blobs of 4 KiB..4 MiB through the gateway, %d (blob, holder) pairs; challenges of %d ranges of %s (auditd's default)",
		countBlobs(), len(pairs), auditRanges, sizeName(auditRangeLen)))
	s.add(Figure{Key: keyAuditRaw, Name: "raw challenges, " + what, Unit: ChallengesPS, Value: r.perSec(),
		Note: joinNotes(fmt.Sprintf("wire.Client in the bench process, verified, no registry; answers of %s on average: %.1f MB/s",
			sizeName(answerBytes>>10<<10), r.perSec()*float64(answerBytes)/1e6), "server: the nodes", cpu.note(auditRun))})
	s.add(Figure{Key: keyAuditRawP50, Name: "raw challenge p50", Unit: Millis, Value: millis(r.p50), Note: "request to verified answer"})
	s.add(Figure{Key: keyAuditRawP99, Name: "raw challenge p99", Unit: Millis, Value: millis(r.p99),
		Note: fmt.Sprintf("node answers under this load: p50 %.2f ms, p99 %.2f ms (request to last byte)", millis(percentile(ans, 0.5)), millis(percentile(ans, 0.99)))})
	return nil
}

// coldAnswers times auditColdAnswers challenges one at a time, each
// holder's copy evicted from the page cache first (untimed).
func (s *suite) coldAnswers(ctx context.Context, wc *wire.Client, pairs []auditPair) error {
	var cold, warm []time.Duration
	s.quiet(ctx)
	for i := range auditColdAnswers {
		p := pairs[(i*7919)%len(pairs)] // spread over blobs and holders
		if p.dir == "" {
			return fmt.Errorf("holder %s of %s is not a node the suite knows", p.target.Peer.ID, p.id)
		}
		path := daemonNode{dir: p.dir}.blobPath(p.id)
		for _, f := range []string{path, path + ".obao"} {
			if err := dropPageCache(f); err != nil && !errors.Is(err, fs.ErrNotExist) { // a one-group blob has no outboard
				return err
			}
		}
		d, err := challengeOnce(ctx, wc, p)
		if err != nil {
			return err
		}
		cold = append(cold, d)
		if d, err = challengeOnce(ctx, wc, p); err != nil { // now warm
			return err
		}
		warm = append(warm, d)
	}
	slices.Sort(cold)
	slices.Sort(warm)
	s.add(Figure{Key: keyAuditAnswerP99, Name: "node answer p99, from disk, one at a time", Unit: Millis, Value: millis(percentile(cold, 0.99)),
		Note: fmt.Sprintf("request to last byte; page cache dropped before each; p50 %.2f ms; warm p50 %.2f ms, p99 %.2f ms",
			millis(percentile(cold, 0.5)), millis(percentile(warm, 0.5)), millis(percentile(warm, 0.99)))})
	return nil
}

// challengeOnce challenges p with a fresh nonce and returns the node's
// answer time (request to last byte, before verification).
func challengeOnce(ctx context.Context, wc *wire.Client, p auditPair) (time.Duration, error) {
	var nonce [32]byte
	rand.Read(nonce[:])
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	proof, err := wc.Challenge(ctx, p.target, p.id, p.size, nonce, auditRanges, auditRangeLen)
	if err != nil {
		return 0, fmt.Errorf("challenge %s of %s on %s: %w", sizeName(p.size), p.id, p.target.Peer.ID, err)
	}
	return proof.Elapsed, nil
}

func countBlobs() int {
	n := 0
	for _, s := range auditSizes {
		n += s.n
	}
	return n
}

// auditPairs uploads the audit blobs, waits for each to be pinned and
// returns every (blob, holder) pair.
func (e *dstorEnv) auditPairs(ctx context.Context) ([]auditPair, error) {
	var ids []cid.CID
	for _, s := range auditSizes {
		got, err := e.uploadMany(ctx, s.n, s.size, 16, 4)
		if err != nil {
			return nil, err
		}
		ids = append(ids, got...)
	}
	dirs := map[string]string{}
	for _, n := range e.procs {
		dirs[n.id] = n.dir
	}
	if e.big != nil {
		dirs[e.big.id] = e.big.dir
	}
	var pairs []auditPair
	for _, id := range ids {
		pr, err := e.settled(ctx, id, time.Minute)
		if err != nil {
			return nil, err
		}
		for _, h := range pr.Holders {
			if h.Status != "pinned" {
				continue
			}
			t, err := target(h.ID, h.URL)
			if err != nil {
				return nil, err
			}
			pairs = append(pairs, auditPair{id: id, size: pr.Size, target: t, dir: dirs[h.ID]})
		}
	}
	return pairs, nil
}

// nodePids are the process ids of the cluster's nodes.
func (e *dstorEnv) nodePids() []int {
	var pids []int
	for _, p := range e.procs {
		pids = append(pids, p.pid)
	}
	if e.big != nil {
		pids = append(pids, e.big.pid)
	}
	return pids
}
