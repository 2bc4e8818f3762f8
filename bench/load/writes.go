package load

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"

	"dstor/shared/api"
	"dstor/shared/cid"
)

// measureWrites measures small durable writes with Concurrency writers of
// distinct new blobs, each writer starting its next as soon as the last
// is acknowledged:
//   - through the gateway (POST /v1/blobs over HTTP/3): acknowledged
//     uploads per second, each committed on W nodes;
//   - on one node directly (a dstor/1 put, as the gateway sends it, from
//     a gateway identity the cluster's CA issues): commits per second.
func measureWrites(ctx context.Context, s *suite) error {
	e, err := s.env(ctx)
	if err != nil {
		return err
	}
	size := s.cfg.SmallSize
	blobs := newBlobMaker(s.cfg.Concurrency, size)

	cl, err := newClient(e.pool, s.cfg.Conns)
	if err != nil {
		return err
	}
	defer cl.Close()
	var replicas atomic.Int64
	upload := func(ctx context.Context, w int) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.c.Env.Gateway+"/v1/blobs", bytes.NewReader(blobs.next(w)))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+e.c.Env.APIKey)
		resp, err := cl.HTTP(w).Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if err := expect(resp, http.StatusCreated); err != nil {
			return fmt.Errorf("upload: %w", err)
		}
		var br api.BlobResponse
		if err := json.NewDecoder(resp.Body).Decode(&br); err != nil {
			return err
		}
		replicas.Store(int64(br.Replicas))
		return nil
	}
	s.quiet(ctx)
	if _, err := closedLoop(ctx, s.cfg.Concurrency, s.cfg.Warmup, upload); err != nil {
		return fmt.Errorf("gateway warm-up: %w", err)
	}
	cpu := startCPU(e.pids()...)
	r, err := closedLoop(ctx, s.cfg.Concurrency, s.cfg.Duration, upload)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	what := fmt.Sprintf("%d writers of %s", s.cfg.Concurrency, sizeName(int64(size)))
	s.add(Figure{Key: keyWritesGateway, Name: "gateway uploads, " + what, Unit: BlobsPS, Value: r.perSec(),
		Note: joinNotes(fmt.Sprintf("p50 %.1f ms, p99 %.1f ms", millis(r.p50), millis(r.p99)), "server: every dStor daemon", cpu.note(s.cfg.Duration))})
	s.add(Figure{Key: keyWritesCommits, Name: "node commits through the gateway", Unit: BlobsPS, Value: r.perSec() * float64(replicas.Load()),
		Note: fmt.Sprintf("uploads x %d replicas each, spread over the nodes", replicas.Load())})

	up, err := e.nodes(ctx)
	if err != nil {
		return err
	}
	node := e.procs[0]
	t, err := target(node.id, up[node.id])
	if err != nil {
		return err
	}
	wc, err := e.wireClient()
	if err != nil {
		return err
	}
	put := func(ctx context.Context, w int) error {
		data := blobs.next(w)
		u, err := wc.Put(ctx, t, int64(len(data)))
		if err != nil {
			return err
		}
		if _, err := u.Write(data); err != nil {
			u.Abort()
			return err
		}
		_, err = u.Commit(cid.Sum(data))
		return err
	}
	s.quiet(ctx)
	if _, err := closedLoop(ctx, s.cfg.Concurrency, s.cfg.Warmup, put); err != nil {
		return fmt.Errorf("node warm-up: %w", err)
	}
	cpu = startCPU(node.pid)
	r, err = closedLoop(ctx, s.cfg.Concurrency, s.cfg.Duration, put)
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	s.add(Figure{Key: keyWritesNode, Name: "one node's commits, " + what, Unit: BlobsPS, Value: r.perSec(),
		Note: joinNotes(fmt.Sprintf("dstor/1 puts, one QUIC connection; p50 %.1f ms, p99 %.1f ms", millis(r.p50), millis(r.p99)), cpu.note(s.cfg.Duration))})
	return nil
}
