package store

import (
	"errors"
	"math/rand/v2"
	"sync"
	"testing"

	"lukechampine.com/blake3/bao"

	"dstor/shared/cid"
)

// Conformance cases with concurrent writers; see testStore.

func testConcurrentCommits(t *testing.T, open func(t *testing.T) Store) {
	const n = 32
	s := open(t)
	blobs := make([][]byte, n)
	want := make(map[cid.CID]int64)
	for i := range blobs {
		blobs[i] = blobOf(GroupSize+i*1000, uint64(200+i))
		want[cid.Sum(blobs[i])] = int64(len(blobs[i]))
	}
	var (
		start = make(chan struct{})
		wg    sync.WaitGroup
		errs  = make([]error, n)
	)
	for i := range n {
		wg.Go(func() {
			<-start
			w, err := s.Create()
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
	checkContents(t, s, contents{n, sum(want), want})
	for _, b := range blobs {
		checkBlob(t, s, cid.Sum(b), b)
	}
}

// testConcurrentDuplicateCommits commits the same blob from several
// writers at once, as when two gateways upload identical content or a
// peer fetch races an upload: every commit succeeds, the blob is intact
// and counted once. Several rounds, since the interleaving is up to the
// scheduler; half the writers use CommitVerified.
func testConcurrentDuplicateCommits(t *testing.T, open func(t *testing.T) Store) {
	const rounds, n = 10, 16
	s := open(t)
	want := make(map[cid.CID]int64)
	for round := range rounds {
		data := blobOf(4*GroupSize+1, uint64(300+round))
		ob, _ := bao.EncodeBuf(data, Group, true)
		c := cid.Sum(data)
		writers := make([]Writer, n)
		for i := range writers {
			w, err := s.Create()
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
				if i%2 == 0 {
					errs[i] = w.Commit(c, int64(len(data)))
				} else {
					errs[i] = w.CommitVerified(c, ob)
				}
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("round %d, commit %d: %v", round, i, err)
			}
		}
		want[c] = int64(len(data))
		checkBlob(t, s, c, data)
		checkContents(t, s, contents{int64(len(want)), sum(want), want})
	}
}

// testConcurrentCommitAndRemove commits and removes a few blobs from many
// goroutines at once; in the end the store agrees with itself.
func testConcurrentCommitAndRemove(t *testing.T, open func(t *testing.T) Store) {
	s := open(t)
	blobs := make([][]byte, 6)
	for i := range blobs {
		blobs[i] = blobOf(i*GroupSize/2, uint64(80+i))
	}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 0))
			for range 25 {
				data := blobs[r.IntN(len(blobs))]
				if r.IntN(2) == 0 {
					if err := s.Remove(cid.Sum(data)); err != nil && !errors.Is(err, ErrNotFound) {
						t.Errorf("Remove: %v", err)
					}
					continue
				}
				w, err := s.Create()
				if err != nil {
					t.Errorf("Create: %v", err)
					return
				}
				if _, err := w.Write(data); err != nil {
					t.Errorf("Write: %v", err)
				}
				if err := w.Commit(cid.Sum(data), int64(len(data))); err != nil {
					t.Errorf("Commit: %v", err)
				}
			}
		})
	}
	wg.Wait()
	got := contentsOf(t, s)
	checkConsistent(t, s, got)
	for _, data := range blobs {
		if _, ok := got.blobs[cid.Sum(data)]; ok {
			checkBlob(t, s, cid.Sum(data), data)
		}
	}
}
