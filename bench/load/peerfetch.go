package load

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"dstor/shared/cid"
)

// fetchedLog is what a node logs (at INFO) when a peer fetch completes.
const fetchedLog = `msg="fetched blob from peer"`

// measurePeerFetch reads new large blobs from cluster nodes that do not
// hold them, so each read makes the node fetch the blob from a holder
// over dstor/1 while it serves it:
//   - one reader, over a warm connection, Reads times (each a new blob):
//     end-to-end throughput and time to first byte, medians;
//   - Concurrency readers (each stopped after ReadLimit) of another new
//     blob on another such node: how many peer fetches its log shows for
//     that blob (the aim is one).
func measurePeerFetch(ctx context.Context, s *suite) error {
	e, err := s.env(ctx)
	if err != nil {
		return err
	}
	size := s.cfg.BigSize
	var node daemonNode
	var rates, ttfbs []float64
	var note string
	fetches := 0
	buf := make([]byte, readBufSize)
	for range max(s.cfg.Reads, 1) {
		id, err := e.upload(ctx, size)
		if err != nil {
			return err
		}
		var nodeURL string
		node, nodeURL, err = e.clusterNode(ctx, id, false)
		if err != nil {
			return err
		}
		hc := e.api.HTTP(0)
		if err := warmConn(ctx, hc, nodeURL+"/healthz"); err != nil {
			return err
		}
		s.quiet(ctx)
		cpu := startCPU(e.pids()...)
		f, err := get(ctx, hc, nodeURL+"/ipfs/"+id.String(), size, buf, false)
		if err != nil {
			return err
		}
		note = cpu.note(f.total)
		rates = append(rates, megabytesPerSec(f.bytes, f.total))
		ttfbs = append(ttfbs, millis(f.ttfb))
		e.log("  peer fetch of %s: %s, TTFB %s; %s", id, MBps.format(rates[len(rates)-1]), Millis.format(ttfbs[len(ttfbs)-1]), note)
		if err := getVerified(ctx, hc, nodeURL, id, size); err != nil {
			return fmt.Errorf("read back what the node fetched: %w", err)
		}
		k, err := countLog(node.log, fetchedLog, id)
		if err != nil {
			return err
		}
		fetches += k
	}
	name := fmt.Sprintf("dStor peer-fetch miss %s", sizeName(size))
	s.add(Figure{Key: keyFetch, Name: name, Unit: MBps, Value: median(rates),
		Note: joinNotes(fmt.Sprintf("end to end, median of %d new blobs (%s), %d fetch(es) logged", len(rates), spread(rates, MBps), fetches), note)})
	s.add(Figure{Key: keyFetchTTFB, Name: name + " TTFB", Unit: Millis, Value: median(ttfbs),
		Note: fmt.Sprintf("median of %d (%s)", len(ttfbs), spread(ttfbs, Millis))})

	id2, err := e.upload(ctx, size)
	if err != nil {
		return err
	}
	node2, node2URL, err := e.clusterNode(ctx, id2, false, node.id)
	if err != nil {
		return err
	}
	cl, err := newClient(e.pool, s.cfg.Conns)
	if err != nil {
		return err
	}
	defer cl.Close()
	s.quiet(ctx)
	cpu := startCPU(e.pids()...)
	start := time.Now()
	mbps, complete, err := concurrentReads(ctx, cl, node2URL+"/ipfs/"+id2.String(), size, s.cfg.Concurrency, s.cfg.ReadLimit)
	if err != nil {
		return err
	}
	note = joinNotes(readsNote(complete, s.cfg.Concurrency, s.cfg.ReadLimit, mbps), cpu.note(time.Since(start)))
	// Readers stopped at the limit leave the fetch running: wait for it to
	// be logged, and a little longer for any duplicate.
	err = waitFor(ctx, nil, time.Minute, func() error {
		n, err := countLog(node2.log, fetchedLog, id2)
		if err == nil && n == 0 {
			err = errors.New("no completed peer fetch logged")
		}
		return err
	})
	if err != nil {
		return err
	}
	time.Sleep(time.Second)
	fetches, err = countLog(node2.log, fetchedLog, id2)
	if err != nil {
		return err
	}
	failed, err := countLog(node2.log, `msg="peer fetch failed"`, id2)
	if err != nil {
		return err
	}
	s.add(Figure{Key: keyFetchCount, Name: fmt.Sprintf("peer fetches, %d readers of a miss", s.cfg.Concurrency), Unit: Count,
		Value: float64(fetches), Note: fmt.Sprintf("%d failed fetches logged", failed)})
	s.add(Figure{Key: keyFetchShared, Name: fmt.Sprintf("%d readers of a miss, aggregate", s.cfg.Concurrency), Unit: MBps,
		Value: mbps, Note: note})
	return nil
}

// countLog counts the lines of a node's log that contain what and name
// blob id.
func countLog(path, what string, id cid.CID) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, what) && strings.Contains(line, "cid="+id.String()) {
			n++
		}
	}
	return n, nil
}

// spread is the range of xs, as a note says it.
func spread(xs []float64, u Unit) string {
	return u.format(slices.Min(xs)) + ".." + u.format(slices.Max(xs))
}
