package registry

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"dstor/shared/registry/pgtest"
)

// BenchmarkRecordAudits records batches of 1,000 audits over 20 nodes, as
// the auditor's record does after each round of challenges: per-call with
// the single-write methods (UpdateReputation per node, then RecordAudit and
// AccrueStorage, or MarkAccrual and SetHolderStatus, per audit), and batch
// with one RecordAudits. It reports µs per recorded audit.
func BenchmarkRecordAudits(b *testing.B) {
	backends := []struct {
		name string
		open func(b *testing.B) Registry
	}{
		{"sqlite", func(b *testing.B) Registry {
			r, err := OpenSQLite(filepath.Join(b.TempDir(), "registry.db"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { r.Close() })
			return r
		}},
		{"postgres", func(b *testing.B) Registry {
			r, err := OpenPostgres(context.Background(), pgtest.Start(b))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { r.Close() })
			return r
		}},
	}
	for _, be := range backends {
		for _, mode := range []string{"per-call", "batch"} {
			b.Run(be.name+"/"+mode, func(b *testing.B) {
				benchRecordAudits(b, be.open(b), mode == "batch")
			})
		}
	}
}

func benchRecordAudits(b *testing.B, r Registry, batched bool) {
	const nodes, perNode, replicas = 20, 50, 3
	ctx := context.Background()
	acct, err := r.CreateAccount(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]string, nodes)
	for i := range ids {
		ids[i] = fmt.Sprintf("node-%02d", i)
		if err := r.UpsertNode(ctx, Node{ID: ids[i], Region: "eu", URL: "https://" + ids[i] + ":4433"}); err != nil {
			b.Fatal(err)
		}
	}
	// Every node holds 3 x 50 copies; one round audits 50 on each node.
	held := make([][]string, nodes)
	for c := range nodes * perNode {
		cid := fmt.Sprintf("cid-%04d", c)
		var hs []string
		for k := range replicas {
			n := (c + k) % nodes
			hs = append(hs, ids[n])
			held[n] = append(held[n], cid)
		}
		if _, err := r.RecordPin(ctx, acct, cid, 1<<20, hs); err != nil {
			b.Fatal(err)
		}
	}
	// Each round: per node, one failure, one restore, passes otherwise.
	round := func(iter int) []NodeAudits {
		at := time.Now().Add(time.Duration(iter) * time.Minute)
		batch := make([]NodeAudits, nodes)
		for n, node := range ids {
			res := make([]AuditResult, perNode)
			for j := range res {
				cid := held[n][(iter*perNode+j)%len(held[n])]
				res[j] = AuditResult{Audit: Audit{NodeID: node, CID: cid, Auditor: "bench", At: at, Outcome: AuditPass,
					Latency: time.Millisecond, Deadline: time.Second}, Accrue: true}
				switch j {
				case 0:
					res[j].Audit.Outcome, res[j].Audit.Reason, res[j].Accrue, res[j].Fail = AuditFail, "bad proof", false, true
				case 1:
					res[j].Accrue, res[j].Restore = false, true
				}
			}
			batch[n] = NodeAudits{NodeID: node, Update: countUpdate(res), Results: res}
		}
		return batch
	}

	iter := 0
	for b.Loop() {
		batch := round(iter)
		iter++
		if batched {
			if _, err := r.RecordAudits(ctx, batch); err != nil {
				b.Fatal(err)
			}
			continue
		}
		for _, na := range batch {
			if _, err := r.UpdateReputation(ctx, na.NodeID, na.Update); err != nil {
				b.Fatal(err)
			}
			for _, res := range na.Results {
				a := res.Audit
				if _, err := r.RecordAudit(ctx, a); err != nil {
					b.Fatal(err)
				}
				switch {
				case res.Accrue:
					if _, err := r.AccrueStorage(ctx, a.CID, a.NodeID, a.At); err != nil {
						b.Fatal(err)
					}
				case res.Restore, res.Fail:
					status := StatusPinned
					if res.Fail {
						status = StatusFailed
					}
					if err := r.MarkAccrual(ctx, a.CID, a.NodeID, a.At); err != nil {
						b.Fatal(err)
					}
					if err := r.SetHolderStatus(ctx, a.CID, a.NodeID, status); err != nil {
						b.Fatal(err)
					}
				}
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(iter*nodes*perNode), "µs/audit")
}
