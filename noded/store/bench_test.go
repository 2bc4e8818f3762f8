package store

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"

	"dstor/shared/cid"
)

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
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "blobs/s")
}

func BenchmarkCommit4KiB(b *testing.B)  { benchmarkCommit(b, 4<<10) }
func BenchmarkCommit16MiB(b *testing.B) { benchmarkCommit(b, 16<<20) }

// BenchmarkCommit4KiBParallel commits distinct 4 KiB blobs from 64
// goroutines; blobs/s is the figure to compare with the 2,500 committed
// blobs/s a node must sustain. In a fresh store nearly every commit also
// makes its shard directory (65,536 of them); "shards" measures a store
// that has them all, as a node has after a few hundred thousand blobs.
func BenchmarkCommit4KiBParallel(b *testing.B) {
	b.Run("fresh", func(b *testing.B) { benchmarkCommitParallel(b, false) })
	b.Run("shards", func(b *testing.B) { benchmarkCommitParallel(b, true) })
}

func benchmarkCommitParallel(b *testing.B, shards bool) {
	const writers, size = 64, 4 << 10
	dir := b.TempDir()
	base := blobOf(size, 401)
	blob := func(i uint64, data []byte) []byte {
		copy(data, base)
		binary.LittleEndian.PutUint64(data, i)
		return data
	}
	if shards {
		// Make the shard directories of the blobs to come; opening the
		// store then syncs them.
		data := make([]byte, size)
		for i := range uint64(b.N) {
			if err := os.MkdirAll(filepath.Join(dir, "blobs", shardOf(cid.Sum(blob(i, data)))), 0o700); err != nil {
				b.Fatal(err)
			}
		}
	}
	d, err := OpenDisk(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	var next atomic.Uint64
	b.SetBytes(size)
	b.SetParallelism((writers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		data := make([]byte, size)
		for pb.Next() {
			// Hashing the blob stands for the CID an upload announces.
			blob(next.Add(1)-1, data)
			c := cid.Sum(data)
			w, err := d.Create()
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := w.Write(data); err != nil {
				b.Error(err)
				return
			}
			if err := w.Commit(c, size); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "blobs/s")
}
