package testnet

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"dstor/shared/challenge"
	"dstor/shared/identity"
	"dstor/shared/wire"
)

// TestChallenge: a node proves it holds a blob, and cannot once its copy
// is corrupt or gone; only auditors may challenge.
func TestChallenge(t *testing.T) {
	n := Start(t, Options{Regions: []string{"r1"}, NodesPerRegion: 1, Writes: 1})
	nd := n.Nodes[0]
	auditor := n.WireClientAs(t, identity.RoleAuditor)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	for _, size := range []int{1, 100, challenge.GroupSize, challenge.GroupSize + 1, 1<<20 + 3} {
		data := blob(uint64(size), size)
		id := MustParse(t, n.Upload(t, data).CID)
		nonce := newNonce(t)
		p, err := auditor.Challenge(ctx, nd.Target(), id, int64(size), nonce, 8, 1024)
		if err != nil {
			t.Fatalf("honest %d-byte blob: %v", size, err)
		}
		for i, r := range p.Ranges {
			if !slices.Equal(p.Data[i], data[r.Off:r.Off+r.Len]) {
				t.Fatalf("range %+v: wrong bytes", r)
			}
		}
		t.Logf("%d-byte blob: %d ranges proved in %v", size, len(p.Ranges), p.Elapsed)

		_, err = auditor.Challenge(ctx, nd.Target(), id, int64(size)+1, nonce, 8, 1024)
		if !errors.Is(err, challenge.ErrBadProof) {
			t.Fatalf("challenge for the wrong size: %v, want ErrBadProof", err)
		}
	}

	data := blob(7, 1<<20+3)
	id := MustParse(t, n.Upload(t, data).CID)
	size := int64(len(data))
	for _, role := range []identity.Role{identity.RoleGateway, identity.RoleNode} {
		_, err := n.WireClientAs(t, role).Challenge(ctx, nd.Target(), id, size, newNonce(t), 8, 1024)
		if !errors.Is(err, &wire.Error{Code: wire.CodeForbidden}) {
			t.Errorf("challenge from a %s: %v, want CodeForbidden", role, err)
		}
	}
	_, err := auditor.Challenge(ctx, nd.Target(), id, size, newNonce(t), challenge.MaxRanges+1, 1024)
	if !errors.Is(err, &wire.Error{Code: wire.CodeBadRequest}) {
		t.Errorf("too many ranges: %v, want CodeBadRequest", err)
	}

	// A byte flipped in a challenged range fails that challenge.
	nonce := newNonce(t)
	rs := challenge.Ranges(nonce, id, nd.ID(), size, 8, 1024)
	flip(t, nd, id, rs[3].Off+rs[3].Len/2)
	if _, err := auditor.Challenge(ctx, nd.Target(), id, size, nonce, 8, 1024); !errors.Is(err, challenge.ErrBadProof) {
		t.Fatalf("flipped byte: %v, want ErrBadProof", err)
	}

	// A node without the blob on disk cannot answer, whatever it could
	// fetch or has cached.
	if err := os.Remove(nd.BlobPath(id)); err != nil {
		t.Fatal(err)
	}
	if _, err := auditor.Challenge(ctx, nd.Target(), id, size, newNonce(t), 8, 1024); !errors.Is(err, wire.ErrNotFound) {
		t.Fatalf("deleted blob: %v, want CodeNotFound", err)
	}
}

func newNonce(t testing.TB) (n [32]byte) {
	if _, err := rand.Read(n[:]); err != nil {
		t.Fatal(err)
	}
	return n
}

// BenchmarkChallengeRoundTrip is an auditor challenging a node for 8
// ranges of 1 KiB in a 256 MiB blob over loopback QUIC, one challenge at
// a time: warm with the blob in the page cache, cold with the node's
// files evicted (posix_fadvise DONTNEED, untimed) before each challenge.
// ns/op includes the auditor's verification; the p50 and p99 metrics are
// the time to the answer's last byte (wire.Proof.Elapsed).
func BenchmarkChallengeRoundTrip(b *testing.B) {
	n := Start(b, Options{Regions: []string{"r1"}, NodesPerRegion: 1, Writes: 1})
	nd := n.Nodes[0]
	data := blob(1, 256<<20)
	id := MustParse(b, n.Upload(b, data).CID)
	size := int64(len(data))
	auditor := n.WireClientAs(b, identity.RoleAuditor)
	files := []string{nd.BlobPath(id), nd.BlobPath(id) + ".obao"}
	for _, cold := range []bool{false, true} {
		b.Run(map[bool]string{false: "warm", true: "cold"}[cold], func(b *testing.B) {
			var times []time.Duration
			for b.Loop() {
				if cold {
					b.StopTimer()
					for _, f := range files {
						evict(b, f)
					}
					b.StartTimer()
				}
				p, err := auditor.Challenge(b.Context(), nd.Target(), id, size, newNonce(b), 8, 1024)
				if err != nil {
					b.Fatal(err)
				}
				times = append(times, p.Elapsed)
			}
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(times[len(times)*99/100].Microseconds()), "p99-µs")
		})
	}
}

// evict drops a file's pages from the page cache.
func evict(b *testing.B, path string) {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		b.Fatal(err)
	}
}
