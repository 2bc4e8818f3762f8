package challenge

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"lukechampine.com/blake3/bao"

	"dstor/shared/cid"
)

// blob is size deterministic bytes.
func blob(size int, seed uint64) []byte {
	b := make([]byte, size)
	r := rand.New(rand.NewPCG(seed, 1))
	for i := 0; i < size; i += 8 {
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], r.Uint64())
		copy(b[i:], w[:])
	}
	return b
}

// stored is a blob as a node keeps it, and (ob0) the Bao outboard at
// chunk granularity that bao.ExtractSlice cuts the same slices from.
type stored struct {
	data, ob, ob0 []byte
	id            cid.CID
}

func store(data []byte) stored {
	ob, root := bao.EncodeBuf(data, Group, true)
	ob0, root0 := bao.EncodeBuf(data, 0, true)
	if root0 != root {
		panic("the root depends on the group size")
	}
	return stored{data: data, ob: ob, ob0: ob0, id: cid.FromDigest(root)}
}

// chunksOf is the extent of the chunks holding r in a size-byte blob.
func chunksOf(size int64, r Range) (start, end int64) {
	return r.Off / ChunkSize * ChunkSize, min(size, (r.Off+r.Len+ChunkSize-1)/ChunkSize*ChunkSize)
}

// proofLen is the length of r's slice before its chunks (when it holds
// one chunk: a range of at most a chunk on a chunk boundary).
func proofLen(size int64, r Range) int64 {
	start, end := chunksOf(size, r)
	return SliceSize(size, r) - (end - start)
}

// baoSlice is bao.ExtractSlice's slice of r, at chunk granularity.
func (s stored) baoSlice(t testing.TB, r Range) []byte {
	t.Helper()
	var b bytes.Buffer
	start, end := chunksOf(s.size(), r)
	if err := bao.ExtractSlice(&b, bytes.NewReader(s.data[start:end]), bytes.NewReader(s.ob0), 0, uint64(r.Off), uint64(r.Len)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func (s stored) size() int64 { return int64(len(s.data)) }

func (s stored) ranges(nonce uint64, node string) []Range {
	return Ranges(nonceOf(nonce), s.id, node, s.size(), 8, 1024)
}

func (s stored) answer(t testing.TB, rs []Range) []byte {
	t.Helper()
	var w bytes.Buffer
	if err := Answer(&w, bytes.NewReader(s.data), bytes.NewReader(s.ob), s.size(), rs); err != nil {
		t.Fatal(err)
	}
	if int64(w.Len()) != AnswerSize(s.size(), rs) {
		t.Fatalf("answer of %d bytes, AnswerSize says %d", w.Len(), AnswerSize(s.size(), rs))
	}
	return w.Bytes()
}

func nonceOf(n uint64) (b [32]byte) {
	binary.LittleEndian.PutUint64(b[:], n)
	b[31] = 0x5a
	return b
}

var testSizes = []int{0, 1, 1000, GroupSize - 1, GroupSize, GroupSize + 1, 3*GroupSize + 7, 64 * GroupSize, 1<<20 + 3}

func randomSizes(n int) []int {
	r := rand.New(rand.NewPCG(9, 9))
	s := make([]int, n)
	for i := range s {
		s[i] = 1 + r.IntN(3<<20)
	}
	return s
}

// TestAnswerIsBaoSlice: Answer's positioned reads of the 16 KiB-group
// outboard and the groups give exactly the slice bao.ExtractSlice gives
// at chunk granularity from a group-0 outboard, for the ranges challenges
// derive, of any length, and for any range inside one group.
func TestAnswerIsBaoSlice(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for _, size := range append(testSizes[1:], randomSizes(10)...) {
		s := store(blob(size, uint64(size)))
		var rs []Range
		for nonce := range uint64(4) {
			for _, length := range []int{1, 100, 1024, 1500, 4096, GroupSize} {
				rs = append(rs, Ranges(nonceOf(nonce), s.id, "node-a", s.size(), 8, length)...)
			}
		}
		for range 50 {
			rs = append(rs, randomRange(r, s.size()))
		}
		for _, r := range rs {
			want := s.baoSlice(t, r)
			if got := s.answer(t, []Range{r}); !bytes.Equal(got, want) {
				t.Fatalf("size %d, range %+v: answer differs from bao.ExtractSlice", size, r)
			}
			got, err := Verify(s.id.Digest(), s.size(), []Range{r}, want)
			if err != nil || !bytes.Equal(got[0], s.data[r.Off:r.Off+r.Len]) {
				t.Fatalf("size %d, range %+v: err %v", size, r, err)
			}
		}
	}
}

// randomRange is any range inside one group of a size-byte blob.
func randomRange(r *rand.Rand, size int64) Range {
	off := r.Int64N(size)
	end := min(size, (off/GroupSize+1)*GroupSize)
	return Range{Off: off, Len: 1 + r.Int64N(end-off)}
}

func TestVerifyHonest(t *testing.T) {
	for _, size := range append(testSizes, randomSizes(20)...) {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			s := store(blob(size, uint64(size)+1))
			for nonce := range uint64(8) {
				rs := s.ranges(nonce, "node-a")
				got, err := Verify(s.id.Digest(), s.size(), rs, s.answer(t, rs))
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(rs) {
					t.Fatalf("%d ranges verified, want %d", len(got), len(rs))
				}
				for i, r := range rs {
					if !bytes.Equal(got[i], s.data[r.Off:r.Off+r.Len]) {
						t.Fatalf("range %+v: wrong bytes", r)
					}
				}
			}
		})
	}
}

// TestVerifyCatches: every way of answering without the right bytes fails
// with ErrBadProof.
func TestVerifyCatches(t *testing.T) {
	for _, size := range append(testSizes[1:], randomSizes(5)...) {
		s := store(blob(size, uint64(size)+2))
		rs := s.ranges(1, "node-a")
		honest := s.answer(t, rs)
		// Where the last range's slice starts, and its first range byte:
		// its chunk ends it.
		last := rs[len(rs)-1]
		at := int64(len(honest)) - SliceSize(s.size(), last)
		chunkAt := at + proofLen(s.size(), last)
		dataAt := chunkAt + last.Off%ChunkSize
		// Ranges of 100 bytes leave chunk bytes out of them.
		rs100 := Ranges(nonceOf(1), s.id, "node-a", s.size(), 8, 100)
		honest100 := s.answer(t, rs100)

		flip := func(i int64) []byte {
			b := bytes.Clone(honest)
			b[i] ^= 0x01
			return b
		}
		other := store(blob(size, uint64(size)+3))
		cases := []struct {
			name   string
			ranges []Range
			answer []byte
		}{
			{"flipped range byte", rs, flip(dataAt)},
			{"flipped last range byte", rs, flip(dataAt + last.Len - 1)},
			{"flipped length header", rs, flip(at)},
			{"truncated", rs, honest[:len(honest)-1]},
			{"one slice missing", rs, honest[:at]},
			{"empty", rs, nil},
			{"bytes left over", rs, append(bytes.Clone(honest), 0)},
			{"another blob's answer", rs, other.answer(t, rs)},
		}
		if chunkAt > at+8 {
			cases = append(cases, struct {
				name   string
				ranges []Range
				answer []byte
			}{"flipped tree node", rs, flip(chunkAt - 1)}, struct {
				name   string
				ranges []Range
				answer []byte
			}{"flipped top tree node", rs, flip(at + 8)})
		}
		if l := rs100[len(rs100)-1]; l.Off+l.Len < min(s.size(), l.Off+ChunkSize) {
			b := bytes.Clone(honest100)
			b[len(b)-1] ^= 0x80
			cases = append(cases, struct {
				name   string
				ranges []Range
				answer []byte
			}{"flipped chunk byte outside the range", rs100, b})
		}
		// A slice holds a range's whole chunks: only an answer for other
		// chunks can be told apart (and it is never the wrong bytes).
		if rs2 := s.ranges(2, "node-a"); !slices.Equal(chunkStarts(rs), chunkStarts(rs2)) {
			cases = append(cases, struct {
				name   string
				ranges []Range
				answer []byte
			}{"answer to other ranges", rs, s.answer(t, rs2)})
		}
		for _, tt := range cases {
			t.Run(fmt.Sprintf("%d/%s", size, tt.name), func(t *testing.T) {
				for name, verify := range verifiers {
					got, err := verify(s.id.Digest(), s.size(), tt.ranges, tt.answer)
					if !errors.Is(err, ErrBadProof) || got != nil {
						t.Fatalf("%s: got %d ranges, err %v; want ErrBadProof", name, len(got), err)
					}
				}
			})
		}
	}
}

// verifiers are the two Verifiers, which must agree on every answer.
var verifiers = map[string]Verifier{"Verify": Verify, "VerifyBao": VerifyBao}

// baoVerdict is bao.VerifySlice's verdict on each slice of an answer of
// the expected length (nil if the length is wrong), with the length
// headers checked as Verify does (bao takes the header's word for it: a
// slice of the first groups verifies whatever length it claims).
func baoVerdict(s stored, rs []Range, answer []byte) []bool {
	if int64(len(answer)) != AnswerSize(s.size(), rs) {
		return nil
	}
	var v []bool
	for _, r := range rs {
		n := SliceSize(s.size(), r)
		sl := answer[:n]
		answer = answer[n:]
		got, ok := bao.VerifySlice(sl, 0, uint64(r.Off), uint64(r.Len), s.id.Digest())
		ok = ok && binary.LittleEndian.Uint64(sl) == uint64(s.size())
		if ok && !bytes.Equal(got, s.data[r.Off:r.Off+r.Len]) {
			panic("bao verified the wrong bytes")
		}
		v = append(v, ok)
	}
	return v
}

// TestVerifyAgreesWithBao: Verify accepts an answer with a byte changed
// anywhere exactly when bao.VerifySlice (group 0) accepts each of its
// slices, for ranges of a chunk and ranges over several.
func TestVerifyAgreesWithBao(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for _, size := range append(testSizes[1:], randomSizes(10)...) {
		for _, length := range []int{1024, 5000} {
			s := store(blob(size, uint64(size)+4))
			rs := Ranges(nonceOf(uint64(size)), s.id, "node-a", s.size(), 8, length)
			honest := s.answer(t, rs)
			// Every byte of the last slice's header and tree nodes, then
			// random bytes anywhere.
			last := rs[len(rs)-1]
			from := len(honest) - int(SliceSize(s.size(), last))
			proof := int(proofLen(s.size(), last))
			agree(t, r, s, rs, honest, from, proof)
		}
	}
}

// agree flips every byte of honest in [from, from+proof), then 200 random
// ones, one at a time, and checks Verify and bao.VerifySlice agree.
func agree(t *testing.T, r *rand.Rand, s stored, rs []Range, honest []byte, from, proof int) {
	t.Helper()
	for i := range proof + 200 {
		a := bytes.Clone(honest)
		at := from + i
		if i >= proof {
			at = r.IntN(len(a))
		}
		a[at] ^= byte(1 + r.IntN(255))
		_, err := Verify(s.id.Digest(), s.size(), rs, a)
		if bv := baoVerdict(s, rs, a); !slices.Contains(bv, false) != (err == nil) {
			t.Fatalf("size %d: bao says %v, Verify %v", s.size(), bv, err)
		}
		if _, errBao := VerifyBao(s.id.Digest(), s.size(), rs, a); (errBao == nil) != (err == nil) || errBao != nil && !errors.Is(errBao, ErrBadProof) {
			t.Fatalf("size %d: VerifyBao %v, Verify %v", s.size(), errBao, err)
		}
	}
}

func chunkStarts(rs []Range) []int64 {
	c := make([]int64, len(rs))
	for i, r := range rs {
		c[i], _ = chunksOf(1<<62, r)
	}
	return c
}

func TestEmptyBlob(t *testing.T) {
	s := store(nil)
	if rs := s.ranges(1, "node-a"); rs != nil {
		t.Fatalf("ranges %v for an empty blob", rs)
	}
	if a := s.answer(t, nil); len(a) != 0 {
		t.Fatalf("answer of %d bytes for an empty blob", len(a))
	}
	if _, err := Verify(s.id.Digest(), 0, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(s.id.Digest(), 0, nil, []byte{0}); !errors.Is(err, ErrBadProof) {
		t.Fatalf("a non-empty answer for an empty blob: %v", err)
	}
}

func TestVerifyRejectsImpossibleRanges(t *testing.T) {
	s := store(blob(3*GroupSize, 4))
	for _, r := range []Range{{-1, 1}, {0, 0}, {GroupSize - 1, 2}, {3*GroupSize - 1, 2}, {0, GroupSize + 1}} {
		if _, err := Verify(s.id.Digest(), s.size(), []Range{r}, nil); err == nil || errors.Is(err, ErrBadProof) {
			t.Errorf("range %+v: err %v, want a caller's error", r, err)
		}
		if err := Answer(&bytes.Buffer{}, bytes.NewReader(s.data), bytes.NewReader(s.ob), s.size(), []Range{r}); err == nil {
			t.Errorf("Answer took range %+v", r)
		}
	}
}

// TestSmallBlobNoOutboard: a blob of one group needs no outboard.
func TestSmallBlobNoOutboard(t *testing.T) {
	s := store(blob(GroupSize, 5))
	rs := s.ranges(1, "node-a")
	var w bytes.Buffer
	if err := Answer(&w, bytes.NewReader(s.data), nil, s.size(), rs); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(s.id.Digest(), s.size(), rs, w.Bytes()); err != nil {
		t.Fatal(err)
	}
	big := store(blob(GroupSize+1, 5))
	if err := Answer(&w, bytes.NewReader(big.data), nil, big.size(), big.ranges(1, "node-a")); err == nil {
		t.Fatal("answered for a two-group blob without its outboard")
	}
}

func TestRanges(t *testing.T) {
	id := cid.Sum([]byte("x"))
	for _, size := range append(testSizes[1:], randomSizes(50)...) {
		size := int64(size)
		groups := (size + GroupSize - 1) / GroupSize
		for _, k := range []int{1, 4, 8, MaxRanges, MaxRanges + 5} {
			for _, length := range []int{1, 1024, GroupSize, GroupSize + 1} {
				rs := Ranges(nonceOf(uint64(size)), id, "n", size, k, length)
				if want := min(k, MaxRanges); len(rs) != want {
					t.Fatalf("size %d k %d: %d ranges", size, k, len(rs))
				}
				seen := map[int64]bool{}
				for i, r := range rs {
					if err := check(size, r); err != nil {
						t.Fatal(err)
					}
					g := r.Off / GroupSize
					glen := min(GroupSize, size-g*GroupSize)
					a := r.Off - g*GroupSize
					full := min(int64(length), GroupSize, glen)
					// On a chunk boundary; cut short only at the group's end,
					// by less than a chunk.
					if r.Off%ChunkSize != 0 || r.Len != min(full, glen-a) || full-r.Len >= ChunkSize {
						t.Fatalf("size %d length %d: range %+v", size, length, r)
					}
					if i > 0 && rs[i-1].Off > r.Off {
						t.Fatalf("ranges not sorted: %v", rs)
					}
					seen[g] = true
				}
				if int64(len(seen)) != min(int64(len(rs)), groups) {
					t.Fatalf("size %d k %d: %d distinct groups of %d", size, k, len(seen), groups)
				}
			}
		}
	}
	for _, bad := range [][3]int64{{0, 8, 1024}, {100, 0, 1024}, {100, 8, 0}} {
		if rs := Ranges(nonceOf(1), id, "n", bad[0], int(bad[1]), int(bad[2])); rs != nil {
			t.Errorf("Ranges(size %d, k %d, length %d) = %v", bad[0], bad[1], bad[2], rs)
		}
	}
}

// TestRangesDependOnEverything: the same inputs give the same ranges; a
// different nonce, CID or node gives different ones; fewer ranges are a
// subset of more.
func TestRangesDependOnEverything(t *testing.T) {
	const size = 1 << 30
	a, b := cid.Sum([]byte("a")), cid.Sum([]byte("b"))
	base := Ranges(nonceOf(1), a, "node-a", size, 8, 1024)
	if !slices.Equal(base, Ranges(nonceOf(1), a, "node-a", size, 8, 1024)) {
		t.Fatal("same inputs, different ranges")
	}
	for name, rs := range map[string][]Range{
		"nonce": Ranges(nonceOf(2), a, "node-a", size, 8, 1024),
		"cid":   Ranges(nonceOf(1), b, "node-a", size, 8, 1024),
		"node":  Ranges(nonceOf(1), a, "node-b", size, 8, 1024),
	} {
		if slices.Equal(base, rs) {
			t.Errorf("ranges do not depend on the %s", name)
		}
	}
	for _, r := range Ranges(nonceOf(1), a, "node-a", size, 4, 1024) {
		if !slices.Contains(base, r) {
			t.Errorf("range %+v of k=4 not among k=8's", r)
		}
	}
}

// TestRangesUniform: over many challenges every group, and every chunk of
// a whole group, is asked about equally often (a loose chi-square check;
// with these counts a fair draw exceeds the bounds with probability <
// 1e-9); the last chunk of a short group is asked about too.
func TestRangesUniform(t *testing.T) {
	const (
		groups  = 61
		size    = groups*GroupSize - 5000 // a short last group
		trials  = 20000
		k       = 8
		buckets = GroupSize / ChunkSize
	)
	id := cid.Sum([]byte("uniform"))
	perGroup := make([]float64, groups)
	perPlace := make([]float64, buckets)
	lastChunk := false
	for i := range uint64(trials) {
		for _, r := range Ranges(nonceOf(i), id, "node-a", size, k, 1024) {
			g := r.Off / GroupSize
			perGroup[g]++
			if g < groups-1 {
				perPlace[(r.Off-g*GroupSize)/ChunkSize]++
			} else if r.Off+r.Len == size {
				lastChunk = true
			}
		}
	}
	if !lastChunk {
		t.Error("the short last chunk is never asked about")
	}
	chi2 := func(obs []float64) float64 {
		var sum, x float64
		for _, o := range obs {
			sum += o
		}
		e := sum / float64(len(obs))
		for _, o := range obs {
			x += (o - e) * (o - e) / e
		}
		return x
	}
	// Chi-square with d degrees of freedom: mean d, sd sqrt(2d).
	if x := chi2(perGroup); x > 60+8*11 {
		t.Errorf("groups: chi-square %.1f over %d groups: %v", x, groups, perGroup)
	}
	if x := chi2(perPlace); x > 15+8*5.5 {
		t.Errorf("places in a group: chi-square %.1f: %v", x, perPlace)
	}
}

// countingReaderAt counts reads and bytes read.
type countingReaderAt struct {
	r            *bytes.Reader
	mu           sync.Mutex
	reads, bytes int
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.mu.Lock()
	c.reads++
	c.bytes += n
	c.mu.Unlock()
	return n, err
}

// TestAnswerReadsLittle: an answer reads each range's group and the tree
// nodes above it, not the outboard.
func TestAnswerReadsLittle(t *testing.T) {
	s := store(blob(64<<20, 6))
	rs := s.ranges(1, "node-a")
	data := &countingReaderAt{r: bytes.NewReader(s.data)}
	ob := &countingReaderAt{r: bytes.NewReader(s.ob)}
	var w bytes.Buffer
	if err := Answer(&w, data, ob, s.size(), rs); err != nil {
		t.Fatal(err)
	}
	depth := len(pathTo(s.size(), 0, nil).nodes) // 12 for 4096 groups
	if data.reads != len(rs) || data.bytes != len(rs)*GroupSize {
		t.Errorf("data: %d reads of %d bytes, want %d of one group each", data.reads, data.bytes, len(rs))
	}
	if ob.reads > len(rs)*depth || ob.bytes > ob.reads*maxSpan {
		t.Errorf("outboard: %d reads of %d bytes; want at most %d reads of %d bytes", ob.reads, ob.bytes, len(rs)*depth, maxSpan)
	}
	t.Logf("8 ranges in 64 MiB: %d data reads, %d outboard reads of %d bytes (outboard is %d bytes)", data.reads, ob.reads, ob.bytes, len(s.ob))
}
