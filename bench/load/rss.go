package load

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// measureRSS has Concurrency clients read the shared large blob at once
// (for at most ReadLimit) from a cluster node that holds it (cache budget
// CacheBytes, which the blob exceeds, so every read streams from its
// store) and records the node's peak resident memory: VmHWM, reset just
// before (clear_refs), and the highest VmRSS sampled every 20 ms.
func measureRSS(ctx context.Context, s *suite) error {
	e, err := s.env(ctx)
	if err != nil {
		return err
	}
	id, err := e.sharedBig(ctx, s.cfg.BigSize)
	if err != nil {
		return err
	}
	node, nodeURL, err := e.clusterNode(ctx, id, true)
	if err != nil {
		return err
	}
	cl, err := newClient(e.pool, s.cfg.Conns)
	if err != nil {
		return err
	}
	defer cl.Close()
	s.quiet(ctx)
	since := "since reset"
	if err := resetPeakRSS(node.pid); err != nil {
		since = "since start (reset failed: " + err.Error() + ")"
	}
	base, err := procStatus(node.pid, "VmRSS")
	if err != nil {
		return err
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var sampled int64
	wg.Go(func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if rss, err := procStatus(node.pid, "VmRSS"); err == nil {
				sampled = max(sampled, rss)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	})
	cpu := startCPU(node.pid)
	start := time.Now()
	mbps, complete, err := concurrentReads(ctx, cl, nodeURL+"/ipfs/"+id.String(), s.cfg.BigSize, s.cfg.Concurrency, s.cfg.ReadLimit)
	close(stop)
	wg.Wait()
	if err != nil {
		return err
	}
	hwm, err := procStatus(node.pid, "VmHWM")
	if err != nil {
		return err
	}
	s.add(Figure{
		Key: keyRSS, Name: fmt.Sprintf("node peak RSS, %d reads of %s", s.cfg.Concurrency, sizeName(s.cfg.BigSize)),
		Unit: MiB, Value: float64(hwm) / (1 << 20),
		Note: joinNotes(fmt.Sprintf("VmHWM %s; RSS before %.0f MiB, sampled peak %.0f MiB; cache budget %s",
			since, float64(base)/(1<<20), float64(sampled)/(1<<20), sizeName(node.budget)),
			readsNote(complete, s.cfg.Concurrency, s.cfg.ReadLimit, mbps), cpu.note(time.Since(start))),
	})
	return nil
}

// readsNote describes a concurrentReads run.
func readsNote(complete, readers int, limit time.Duration, mbps float64) string {
	if complete == readers {
		return fmt.Sprintf("%d whole reads at %.0f MB/s aggregate", readers, mbps)
	}
	return fmt.Sprintf("%d of %d reads whole, the rest stopped at %s; %.0f MB/s aggregate", complete, readers, limit, mbps)
}
