package challenge

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"lukechampine.com/blake3/bao"

	"dstor/shared/cid"
)

// gib is a 1 GiB blob whose bytes are a function of their offset, so its
// outboard (4 MiB) is built once without holding the blob in memory.
var gib = sync.OnceValue(func() stored {
	const size = 1 << 30
	ob := make([]byte, bao.EncodedSize(size, Group, true))
	root, err := bao.Encode(writerAt(ob), io.NewSectionReader(synth{}, 0, size), size, Group, true)
	if err != nil {
		panic(err)
	}
	return stored{ob: ob, id: cid.FromDigest(root)}
})

const gibSize = 1 << 30

// synth is an endless deterministic byte source: each 8-byte word is a
// hash of its index.
type synth struct{}

func (synth) ReadAt(p []byte, off int64) (int, error) {
	var w [8]byte
	for i := 0; i < len(p); {
		at := off + int64(i)
		x := uint64(at/8) * 0x9e3779b97f4a7c15
		x ^= x >> 31
		x *= 0xbf58476d1ce4e5b9
		x ^= x >> 29
		binary.LittleEndian.PutUint64(w[:], x)
		i += copy(p[i:], w[at%8:])
	}
	return len(p), nil
}

type writerAt []byte

func (w writerAt) WriteAt(p []byte, off int64) (int, error) { return copy(w[off:], p), nil }

// BenchmarkVerify8x1KiBIn1GiB is auditd's CPU per challenge of a 1 GiB
// blob: deriving 8 ranges of 1 KiB and verifying the answer (8 slices of
// one 1 KiB chunk and 20 tree nodes each). Answers to 64 nonces are
// prepared first.
func BenchmarkVerify8x1KiBIn1GiB(b *testing.B) {
	g := gib()
	type challenge struct {
		nonce  [32]byte
		answer []byte
	}
	var cs []challenge
	for i := range uint64(64) {
		rs := Ranges(nonceOf(i), g.id, "node-a", gibSize, 8, 1024)
		var w bytes.Buffer
		if err := Answer(&w, synth{}, bytes.NewReader(g.ob), gibSize, rs); err != nil {
			b.Fatal(err)
		}
		cs = append(cs, challenge{nonceOf(i), w.Bytes()})
	}
	b.SetBytes(int64(len(cs[0].answer)))
	b.ReportAllocs()
	defer reportCPU(b, cpuTime())
	i := 0
	for b.Loop() {
		c := cs[i%len(cs)]
		i++
		rs := Ranges(c.nonce, g.id, "node-a", gibSize, 8, 1024)
		if _, err := Verify(g.id.Digest(), gibSize, rs, c.answer); err != nil {
			b.Fatal(err)
		}
	}
}

// cpuTime is the CPU time the process has used. On a shared machine it is
// a steadier measure of a CPU-bound operation's cost than ns/op.
func cpuTime() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the process's CPU time per op since start.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N)/1e3, "cpu-µs/op")
}

// BenchmarkAnswer8x1KiBIn1GiB is a node's answer to one challenge of a
// 1 GiB blob from files on disk, into memory: warm with the files in the
// page cache, cold with both evicted (posix_fadvise DONTNEED, untimed)
// before every answer, so each one reads the device. It reports the p99.
func BenchmarkAnswer8x1KiBIn1GiB(b *testing.B) {
	g := gib()
	dir := b.TempDir()
	data := writeFile(b, filepath.Join(dir, "blob"), io.NewSectionReader(synth{}, 0, gibSize))
	ob := writeFile(b, filepath.Join(dir, "blob.obao"), bytes.NewReader(g.ob))
	for _, cold := range []bool{false, true} {
		name := map[bool]string{false: "warm", true: "cold"}[cold]
		b.Run(name, func(b *testing.B) {
			var (
				w     bytes.Buffer
				times []time.Duration
				i     uint64
			)
			for b.Loop() {
				if cold {
					b.StopTimer()
					for _, f := range []*os.File{data, ob} {
						if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
							b.Fatal(err)
						}
					}
					b.StartTimer()
				}
				w.Reset()
				i++
				start := time.Now()
				rs := Ranges(nonceOf(i), g.id, "node-a", gibSize, 8, 1024)
				if err := Answer(&w, data, ob, gibSize, rs); err != nil {
					b.Fatal(err)
				}
				times = append(times, time.Since(start))
			}
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)*99/100].Microseconds()), "p99-µs")
		})
	}
}

// writeFile writes r to a new file at path, syncs it and opens it for
// reading.
func writeFile(b *testing.B, path string, r io.Reader) *os.File {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.CopyBuffer(f, r, make([]byte, 4<<20)); err != nil {
		b.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	f, err = os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	return f
}
