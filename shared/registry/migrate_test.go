package registry

import (
	"context"
	"testing"
	"time"
)

// checkMigratedAuditState checks the audit state of a registry migrated
// from a schema without it, holding node n1 with a holder of cid-1 (size 5)
// added at unix nanosecond 4: the holder was never audited, its accrual mark
// is when it was added, and the new tables work.
func checkMigratedAuditState(t *testing.T, r Registry) {
	t.Helper()
	ctx := context.Background()
	h := mustHolder(t, r, "cid-1", "n1")
	if !h.LastAudit.IsZero() || h.LastOutcome != "" || h.AccruedAt.UnixNano() != 4 {
		t.Fatalf("migrated holder = %+v, want never audited, AccruedAt = added_at", h)
	}
	if got, err := r.AccrueStorage(ctx, "cid-1", "n1", time.Unix(0, 4).Add(2*time.Hour)); err != nil || got != 10 {
		t.Fatalf("AccrueStorage on a migrated holder = %v, %v; want 10 byte-hours", got, err)
	}
	if _, err := r.RecordAudit(ctx, Audit{NodeID: "n1", CID: "cid-1", Outcome: AuditPass}); err != nil {
		t.Fatalf("RecordAudit: %v", err)
	}
	if rep, err := r.Reputation(ctx, "n1"); err != nil || rep != NewNodeRep("n1") {
		t.Fatalf("Reputation = %+v, %v; want the defaults", rep, err)
	}
}
