package load

import (
	"context"
	"fmt"
)

// measureCold reads the shared large blob from a cluster node that holds
// it on disk, Reads times, each after evicting the blob and its outboard
// from the page cache. The cluster's nodes have a cache budget
// (CacheBytes) whose item limit the large blob exceeds, so every read
// comes from the disk and is verified there; the node's read_bytes in
// /proc/<pid>/io shows it did.
func measureCold(ctx context.Context, s *suite) error {
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
	hc := e.api.HTTP(0)
	if err := warmConn(ctx, hc, nodeURL+"/healthz"); err != nil {
		return err
	}
	path := node.blobPath(id)
	buf := make([]byte, readBufSize)
	var rates []float64
	var disk int64
	var note string
	for range s.cfg.Reads {
		s.quiet(ctx)
		for _, p := range []string{path, path + ".obao"} {
			if err := dropPageCache(p); err != nil {
				return err
			}
		}
		rb0, err := diskReadBytes(node.pid)
		if err != nil {
			return err
		}
		cpu := startCPU(node.pid)
		f, err := get(ctx, hc, nodeURL+"/ipfs/"+id.String(), s.cfg.BigSize, buf, false)
		if err != nil {
			return err
		}
		rb1, err := diskReadBytes(node.pid)
		if err != nil {
			return err
		}
		rates = append(rates, megabytesPerSec(f.bytes, f.total))
		disk += rb1 - rb0
		note = cpu.note(f.total)
	}
	s.add(Figure{
		Key: keyCold, Name: fmt.Sprintf("dStor cold %s read", sizeName(s.cfg.BigSize)), Unit: MBps, Value: median(rates),
		Note: joinNotes(fmt.Sprintf("median of %d; node read %.1f MiB from disk per read", s.cfg.Reads, float64(disk)/float64(s.cfg.Reads)/(1<<20)),
			note),
	})
	return nil
}
