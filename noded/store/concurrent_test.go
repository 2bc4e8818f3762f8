package store

import (
	"fmt"
	"sync"
	"testing"

	"dstor/shared/cid"
)

func TestConcurrentCommits(t *testing.T) {
	const n = 32
	d, dir := openTestDisk(t)
	blobs := make([][]byte, n)
	for i := range blobs {
		blobs[i] = blobOf(GroupSize+i*1000, uint64(200+i))
	}
	var (
		start = make(chan struct{})
		wg    sync.WaitGroup
		errs  = make([]error, n)
	)
	for i := range n {
		wg.Go(func() {
			<-start
			w, err := d.Create()
			if err != nil {
				errs[i] = err
				return
			}
			if err := writeInPieces(w, blobs[i]); err != nil {
				errs[i] = err
				return
			}
			errs[i] = w.Commit(cid.Sum(blobs[i]), int64(len(blobs[i])))
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("commit %d: %v", i, err)
		}
	}
	if got := d.Count(); got != n {
		t.Errorf("Count = %d, want %d", got, n)
	}
	for i, b := range blobs {
		t.Run(fmt.Sprint(i), func(t *testing.T) { checkBlob(t, d, cid.Sum(b), b) })
	}
	if got := filesUnder(t, dir, "tmp"); len(got) != 0 {
		t.Errorf("tmp/ holds %q, want nothing", got)
	}
}

// TestConcurrentDuplicateCommits commits the same blob from several
// writers at once, as when two gateways upload identical content or a
// peer fetch races an upload: every commit succeeds, the blob is intact
// and counted once. Several rounds, since the interleaving is up to the
// scheduler.
func TestConcurrentDuplicateCommits(t *testing.T) {
	const rounds, n = 10, 16
	d, dir := openTestDisk(t)
	for round := range rounds {
		data := blobOf(4*GroupSize+1, uint64(300+round))
		c := cid.Sum(data)
		writers := make([]*Writer, n)
		for i := range writers {
			w, err := d.Create()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(data); err != nil {
				t.Fatal(err)
			}
			writers[i] = w
		}
		var (
			start = make(chan struct{})
			wg    sync.WaitGroup
			errs  = make([]error, n)
		)
		for i, w := range writers {
			wg.Go(func() {
				<-start
				errs[i] = w.Commit(c, int64(len(data)))
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("round %d, commit %d: %v", round, i, err)
			}
		}
		checkBlob(t, d, c, data)
		if got := filesUnder(t, dir, "tmp"); len(got) != 0 {
			t.Errorf("round %d: tmp/ holds %q, want nothing", round, got)
		}
		if got, want := d.Count(), int64(round+1); got != want {
			t.Fatalf("round %d: Count = %d after %d concurrent commits of one blob, want %d", round, got, n, want)
		}
	}
}

func benchmarkCommit(b *testing.B, size int) {
	d, err := OpenDisk(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	data := blobOf(size, 400)
	b.SetBytes(int64(size))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Distinct content each time, so no commit is a duplicate.
		b.StopTimer()
		data[0], data[1], data[2], data[3] = byte(i), byte(i>>8), byte(i>>16), byte(i>>24)
		c := cid.Sum(data)
		b.StartTimer()
		w, err := d.Create()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			b.Fatal(err)
		}
		if err := w.Commit(c, int64(size)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCommit4KiB(b *testing.B)  { benchmarkCommit(b, 4<<10) }
func BenchmarkCommit16MiB(b *testing.B) { benchmarkCommit(b, 16<<20) }
