package registry

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

func testAccrueStorage(t *testing.T, r Registry) {
	ctx := context.Background()
	alice := mustAccount(t, r, "alice")
	mustNode(t, r, "n1", "eu")
	mustNode(t, r, "n2", "eu")
	mustNode(t, r, "n3", "eu")
	mustPin(t, r, alice, "cid-k", 1000, "n1", "n2")
	mustPin(t, r, alice, "cid-zero", 0, "n1")
	mark0 := mustHolder(t, r, "cid-k", "n1").AccruedAt
	at := func(d time.Duration) time.Time { return mark0.Add(d) }
	tests := []struct {
		name     string
		mark     bool // MarkAccrual instead of AccrueStorage
		cid      string
		node     string
		at       time.Time
		want     float64   // byte-hours credited
		wantMark time.Time // n1's mark on cid-k afterwards
		err      bool
		notFnd   bool
	}{
		{"before the mark", false, "cid-k", "n1", at(-time.Hour), 0, at(0), false, false},
		{"at the mark", false, "cid-k", "n1", at(0), 0, at(0), false, false},
		{"two hours", false, "cid-k", "n1", at(2 * time.Hour), 2000, at(2 * time.Hour), false, false},
		{"same time again", false, "cid-k", "n1", at(2 * time.Hour), 0, at(2 * time.Hour), false, false},
		{"half an hour more", false, "cid-k", "n1", at(150 * time.Minute), 500, at(150 * time.Minute), false, false},
		{"failed audit marks", true, "cid-k", "n1", at(4 * time.Hour), 0, at(4 * time.Hour), false, false},
		{"mark does not go back", true, "cid-k", "n1", at(3 * time.Hour), 0, at(4 * time.Hour), false, false},
		{"earns from the mark only", false, "cid-k", "n1", at(5 * time.Hour), 1000, at(5 * time.Hour), false, false},
		{"other holder has its own mark", false, "cid-k", "n2", at(time.Hour), 1000, at(5 * time.Hour), false, false},
		{"zero size earns nothing", false, "cid-zero", "n1", at(time.Hour), 0, at(5 * time.Hour), false, false},
		{"zero time", false, "cid-k", "n1", time.Time{}, 0, at(5 * time.Hour), true, false},
		{"zero time mark", true, "cid-k", "n1", time.Time{}, 0, at(5 * time.Hour), true, false},
		{"not a holder", false, "cid-k", "n3", at(6 * time.Hour), 0, at(5 * time.Hour), true, true},
		{"mark not a holder", true, "cid-k", "n3", at(6 * time.Hour), 0, at(5 * time.Hour), true, true},
		{"unknown node", false, "cid-k", "n-missing", at(6 * time.Hour), 0, at(5 * time.Hour), true, true},
		{"unknown cid", false, "cid-missing", "n1", at(6 * time.Hour), 0, at(5 * time.Hour), true, true},
		{"mark unknown cid", true, "cid-missing", "n1", at(6 * time.Hour), 0, at(5 * time.Hour), true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var (
				got float64
				err error
			)
			if tc.mark {
				err = r.MarkAccrual(ctx, tc.cid, tc.node, tc.at)
			} else {
				got, err = r.AccrueStorage(ctx, tc.cid, tc.node, tc.at)
			}
			if tc.err != (err != nil) || tc.notFnd != errors.Is(err, ErrNotFound) || got != tc.want {
				t.Fatalf("= %v, %v; want %v, err %v, ErrNotFound %v", got, err, tc.want, tc.err, tc.notFnd)
			}
			if h := mustHolder(t, r, "cid-k", "n1"); !h.AccruedAt.Equal(tc.wantMark) || h.AccruedAt.Location() != time.UTC {
				t.Fatalf("n1 mark = %v, want %v (UTC)", h.AccruedAt, tc.wantMark)
			}
		})
	}
	t.Run("zero size moved its mark", func(t *testing.T) {
		if h := mustHolder(t, r, "cid-zero", "n1"); !h.AccruedAt.Equal(at(time.Hour)) {
			t.Fatalf("mark = %v, want %v", h.AccruedAt, at(time.Hour))
		}
	})
	t.Run("ledger", func(t *testing.T) {
		entries, err := r.Ledger(ctx, "n1", time.Time{}, time.Time{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		want := []LedgerEntry{
			{NodeID: "n1", CID: "cid-k", Kind: LedgerStorage, Amount: 2000, At: at(2 * time.Hour)},
			{NodeID: "n1", CID: "cid-k", Kind: LedgerStorage, Amount: 500, At: at(150 * time.Minute)},
			{NodeID: "n1", CID: "cid-k", Kind: LedgerStorage, Amount: 1000, At: at(5 * time.Hour)},
		}
		if !slices.EqualFunc(entries, want, sameEntry) {
			t.Fatalf("Ledger(n1) = %+v, want %+v", entries, want)
		}
		e, err := r.Earnings(ctx, "n1", time.Time{}, time.Time{})
		if err != nil || e.ByteHours != 3500 || e.EgressBytes != 0 {
			t.Fatalf("Earnings(n1) = %+v, %v; want 3500 byte-hours", e, err)
		}
	})
	t.Run("holder re-added starts a new mark", func(t *testing.T) {
		if err := r.RemoveHolder(ctx, "cid-k", "n2"); err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		mustPin(t, r, alice, "cid-k", 1000, "n2")
		if h := mustHolder(t, r, "cid-k", "n2"); h.AccruedAt.Before(t0.Add(-time.Second)) || !h.AccruedAt.Equal(h.UpdatedAt) {
			t.Fatalf("re-added holder %+v, want AccruedAt = its creation", h)
		}
	})
}

// sameEntry reports whether a and b are equal, comparing At with Equal.
func sameEntry(a, b LedgerEntry) bool {
	if !a.At.Equal(b.At) || a.At.Location() != time.UTC {
		return false
	}
	a.At, b.At = time.Time{}, time.Time{}
	return a == b
}

func testEgressAndEarnings(t *testing.T, r Registry) {
	ctx := context.Background()
	alice := mustAccount(t, r, "alice")
	mustNode(t, r, "n1", "eu")
	mustNode(t, r, "n2", "eu")
	mustPin(t, r, alice, "cid-k", 3600, "n1")
	mark := mustHolder(t, r, "cid-k", "n1").AccruedAt
	t1 := mark.Add(time.Hour)
	t2 := mark.Add(2 * time.Hour)
	t3 := mark.Add(3 * time.Hour)

	egress := []struct {
		name   string
		node   string
		bytes  int64
		at     time.Time
		err    bool
		notFnd bool
	}{
		{"first", "n1", 100, t1, false, false},
		{"second", "n1", 50, t2, false, false},
		{"same time", "n1", 7, t2, false, false},
		{"other node", "n2", 1 << 40, t1, false, false},
		{"zero bytes records nothing", "n1", 0, t1, false, false},
		{"negative bytes", "n1", -1, t1, true, false},
		{"unknown node", "n-missing", 10, t1, true, true},
		{"zero bytes on unknown node", "n-missing", 0, t1, true, true},
	}
	t.Run("RecordEgress/a negative entry records none of its batch", func(t *testing.T) {
		if err := r.RecordEgress(ctx, "n1", []Egress{{CID: "cid-k", Bytes: 9}, {Bytes: -1}}, t1); err == nil {
			t.Fatal("RecordEgress with a negative entry succeeded")
		}
	})
	for _, tc := range egress {
		t.Run("RecordEgress/"+tc.name, func(t *testing.T) {
			err := r.RecordEgress(ctx, tc.node, []Egress{{Bytes: tc.bytes}}, tc.at)
			if tc.err != (err != nil) || tc.notFnd != errors.Is(err, ErrNotFound) {
				t.Fatalf("RecordEgress = %v; want err %v, ErrNotFound %v", err, tc.err, tc.notFnd)
			}
		})
	}
	if _, err := r.AccrueStorage(ctx, "cid-k", "n1", t2); err != nil { // 7200 byte-hours at t2
		t.Fatal(err)
	}

	earnings := []struct {
		name      string
		node      string
		from, to  time.Time
		byteHours float64
		egress    int64
		notFnd    bool
	}{
		{"everything", "n1", time.Time{}, time.Time{}, 7200, 157, false},
		{"from only", "n1", t2, time.Time{}, 7200, 57, false},
		{"to only, exclusive", "n1", time.Time{}, t2, 0, 100, false},
		{"one instant", "n1", t2, t2.Add(1), 7200, 57, false},
		{"empty range", "n1", t2, t2, 0, 0, false},
		{"reversed range", "n1", t3, t1, 0, 0, false},
		{"after everything", "n1", t3, time.Time{}, 0, 0, false},
		{"far bounds", "n1", time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), 7200, 157, false},
		{"large egress", "n2", time.Time{}, time.Time{}, 0, 1 << 40, false},
		{"unknown node", "n-missing", time.Time{}, time.Time{}, 0, 0, true},
	}
	for _, tc := range earnings {
		t.Run("Earnings/"+tc.name, func(t *testing.T) {
			got, err := r.Earnings(ctx, tc.node, tc.from, tc.to)
			if tc.notFnd {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("Earnings = %+v, %v; want ErrNotFound", got, err)
				}
				return
			}
			want := Earnings{NodeID: tc.node, ByteHours: tc.byteHours, EgressBytes: tc.egress, From: tc.from, To: tc.to}
			if err != nil || got != want {
				t.Fatalf("Earnings = %+v, %v; want %+v", got, err, want)
			}
		})
	}

	all := []LedgerEntry{
		{NodeID: "n1", Kind: LedgerEgress, Amount: 100, At: t1},
		{NodeID: "n1", Kind: LedgerEgress, Amount: 50, At: t2},
		{NodeID: "n1", Kind: LedgerEgress, Amount: 7, At: t2},
		{NodeID: "n1", CID: "cid-k", Kind: LedgerStorage, Amount: 7200, At: t2},
	}
	ledger := []struct {
		name     string
		node     string
		from, to time.Time
		limit    int
		want     []LedgerEntry
		notFnd   bool
	}{
		{"all, oldest first", "n1", time.Time{}, time.Time{}, 0, all, false},
		{"limit", "n1", time.Time{}, time.Time{}, 2, all[:2], false},
		{"range", "n1", t2, t3, 0, all[1:], false},
		{"range and limit", "n1", t2, t3, 1, all[1:2], false},
		{"empty range", "n1", t3, time.Time{}, 0, nil, false},
		{"unknown node", "n-missing", time.Time{}, time.Time{}, 0, nil, true},
	}
	for _, tc := range ledger {
		t.Run("Ledger/"+tc.name, func(t *testing.T) {
			got, err := r.Ledger(ctx, tc.node, tc.from, tc.to, tc.limit)
			if tc.notFnd != errors.Is(err, ErrNotFound) || (!tc.notFnd && err != nil) {
				t.Fatalf("Ledger = %+v, %v; want ErrNotFound %v", got, err, tc.notFnd)
			}
			if !slices.EqualFunc(got, tc.want, sameEntry) {
				t.Fatalf("Ledger = %+v, want %+v", got, tc.want)
			}
		})
	}
	t.Run("zero egress time is now", func(t *testing.T) {
		t0 := time.Now()
		if err := r.RecordEgress(ctx, "n2", []Egress{{Bytes: 5}}, time.Time{}); err != nil {
			t.Fatal(err)
		}
		e, err := r.Earnings(ctx, "n2", t0.Add(-time.Second), time.Now().Add(time.Second))
		if err != nil || e.EgressBytes != 5 {
			t.Fatalf("Earnings(n2, around now) = %+v, %v; want 5 bytes", e, err)
		}
	})
}

func testUsage(t *testing.T, r Registry) {
	ctx := context.Background()
	alice := mustAccount(t, r, "alice")
	bob := mustAccount(t, r, "bob")
	carol := mustAccount(t, r, "carol")
	mustNode(t, r, "n1", "eu")
	mustPin(t, r, alice, "cid-a", 100, "n1")
	mustPin(t, r, alice, "cid-b", 250)
	mustPin(t, r, alice, "cid-b", 250) // again: one pin
	mustPin(t, r, bob, "cid-b", 250)
	mustPin(t, r, bob, "cid-zero", 0)
	// The ledger: cid-a's copy on n1 accrues 100 byte-hours; n1 serves
	// 40 bytes of cid-a, 60 of cid-b (alice's and bob's: 30 each), 7 of
	// a blob nobody pins and 5 unattributed.
	at := time.Now().Add(time.Hour) // after the pin's own mark
	if err := r.MarkAccrual(ctx, "cid-a", "n1", at); err != nil {
		t.Fatal(err)
	}
	if got, err := r.AccrueStorage(ctx, "cid-a", "n1", at.Add(time.Hour)); err != nil || got != 100 {
		t.Fatalf("AccrueStorage = %v, %v; want 100", got, err)
	}
	served := []Egress{{CID: "cid-a", Bytes: 40}, {CID: "cid-b", Bytes: 60}, {CID: "cid-gone", Bytes: 7}, {Bytes: 5}}
	if err := r.RecordEgress(ctx, "n1", served, at); err != nil {
		t.Fatal(err)
	}
	if e, err := r.Earnings(ctx, "n1", time.Time{}, time.Time{}); err != nil || e.EgressBytes != 112 {
		t.Fatalf("Earnings(n1) = %+v, %v; want 112 bytes of egress", e, err)
	}
	tests := []struct {
		name    string
		account string
		want    Usage
		notFnd  bool
	}{
		{"two pins", alice, Usage{Account: alice, StoredBytes: 350, Pins: 2, ByteHours: 100, EgressBytes: 70}, false},
		{"shared cid counts for each account, its ledger shared", bob, Usage{Account: bob, StoredBytes: 250, Pins: 2, EgressBytes: 30}, false},
		{"no pins", carol, Usage{Account: carol}, false},
		{"unknown account", "acct_missing", Usage{}, true},
		{"empty account", "", Usage{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.Usage(ctx, tc.account)
			if tc.notFnd != errors.Is(err, ErrNotFound) || (!tc.notFnd && err != nil) {
				t.Fatalf("Usage(%q) = %+v, %v; want ErrNotFound %v", tc.account, got, err, tc.notFnd)
			}
			if got != tc.want {
				t.Fatalf("Usage(%q) = %+v, want %+v", tc.account, got, tc.want)
			}
		})
	}
}
