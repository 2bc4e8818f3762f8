package node

import (
	"context"
	"errors"
	"io"
	"time"

	"golang.org/x/time/rate"

	"dstor/shared/cid"
	"dstor/shared/proof"
)

// ScrubResult counts one scrub pass.
type ScrubResult struct {
	Blobs   int   // blobs checked
	Bytes   int64 // bytes read
	Corrupt int   // blobs that failed and were quarantined
}

// Scrub re-hashes every stored blob against its CID at up to rate bytes/s
// (<= 0: Config.ScrubRate), quarantining and repairing any that fail. One
// pass runs at a time; the background loop calls it, and tests call it to
// trigger a pass and wait for it.
func (n *Node) Scrub(ctx context.Context, bytesPerSec int64) (ScrubResult, error) {
	n.scrubMu.Lock()
	defer n.scrubMu.Unlock()
	if bytesPerSec <= 0 {
		bytesPerSec = n.cfg.ScrubRate
	}
	burst := 16 * proof.GroupSize
	lim := rate.NewLimiter(rate.Limit(bytesPerSec), burst)
	var res ScrubResult
	var ids []cid.CID
	n.store.Walk(func(c cid.CID, size int64) error {
		ids = append(ids, c)
		return nil
	})
	for _, id := range ids {
		b, err := n.store.Open(id)
		if err != nil {
			continue // removed meanwhile
		}
		err = n.verify(id, b, &limitedReaderAt{r: b.Data, lim: lim, ctx: ctx, burst: burst}, 0, b.Size, io.Discard)
		b.Close()
		res.Blobs++
		res.Bytes += b.Size
		switch {
		case errors.Is(err, proof.ErrMismatch):
			res.Corrupt++ // verify quarantined it
		case ctx.Err() != nil:
			return res, ctx.Err()
		case err != nil:
			n.log.Warn("scrub could not read a blob", "cid", id, "err", err)
		}
	}
	return res, nil
}

// scrubLoop runs a pass per ScrubInterval, paced to spread it over the
// interval (at most ScrubRate).
func (n *Node) scrubLoop(ctx context.Context) {
	for {
		start := time.Now()
		pace := n.store.Used() / max(int64(n.cfg.ScrubInterval/time.Second), 1)
		pace = min(max(pace, 64<<10), n.cfg.ScrubRate)
		res, err := n.Scrub(ctx, pace)
		if err != nil {
			return
		}
		n.log.Info("scrub pass done", "blobs", res.Blobs, "bytes", res.Bytes, "corrupt", res.Corrupt, "took", time.Since(start).Round(time.Second))
		select {
		case <-ctx.Done():
			return
		case <-time.After(max(n.cfg.ScrubInterval-time.Since(start), time.Minute)):
		}
	}
}

// limitedReaderAt paces reads through a rate limiter.
type limitedReaderAt struct {
	r     io.ReaderAt
	lim   *rate.Limiter
	ctx   context.Context
	burst int
}

func (l *limitedReaderAt) ReadAt(p []byte, off int64) (int, error) {
	for done := 0; done < len(p); {
		k := min(len(p)-done, l.burst)
		if err := l.lim.WaitN(l.ctx, k); err != nil {
			return done, err
		}
		m, err := l.r.ReadAt(p[done:done+k], off+int64(done))
		done += m
		if err != nil {
			return done, err
		}
	}
	return len(p), nil
}
