// Package adversary is storage nodes that cheat, for the auditor's tests.
// Each Func answers an auditor's challenge in one dishonest way (or, as a
// control, honestly), so a test can check that every cheat is caught and
// that the honest answer is not. The in-process tests (shared/testnet)
// answer with these, and so does the fakenode binary that the process
// tests (devnet/cluster) run beside real nodes.
package adversary

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"sync"

	"dstor/shared/challenge"
	"dstor/shared/cid"
	"dstor/shared/wire"
)

// Func answers one decoded challenge as the node whose id is self: it
// replies (req.Reply) and writes a body, or returns an error the auditor
// gets.
type Func func(self string, req *wire.Request, cr wire.ChallengeRequest) error

// Blob is a whole blob held in memory: its bytes and its Bao outboard, as
// a node's store has them.
type Blob struct {
	ID       cid.CID
	Size     int64
	Data     []byte
	Outboard []byte
}

// Fetch reads blob id and its outboard from the node at from, and checks
// that the bytes hash to id.
func Fetch(ctx context.Context, c *wire.Client, from wire.Target, id cid.CID) (*Blob, error) {
	data, err := GetAll(ctx, c, from, id, 0, -1)
	if err != nil {
		return nil, fmt.Errorf("adversary: fetch %s: %w", id, err)
	}
	if got := cid.Sum(data); got != id {
		return nil, fmt.Errorf("adversary: fetch %s: the bytes hash to %s", id, got)
	}
	ob, err := FetchOutboard(ctx, c, from, id)
	if err != nil {
		return nil, err
	}
	return &Blob{ID: id, Size: int64(len(data)), Data: data, Outboard: ob}, nil
}

// FetchOutboard reads blob id's outboard from the node at from: all a
// relay keeps.
func FetchOutboard(ctx context.Context, c *wire.Client, from wire.Target, id cid.CID) ([]byte, error) {
	body, err := c.Outboard(ctx, from, id)
	if err != nil {
		return nil, fmt.Errorf("adversary: outboard of %s: %w", id, err)
	}
	defer body.Close()
	ob, err := io.ReadAll(body)
	if err != nil {
		return nil, fmt.Errorf("adversary: outboard of %s: %w", id, err)
	}
	return ob, nil
}

// GetAll reads length bytes at off of blob id from the node at t (-1: to
// the end).
func GetAll(ctx context.Context, c *wire.Client, t wire.Target, id cid.CID, off, length int64) ([]byte, error) {
	body, err := c.Get(ctx, t, id, off, length)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	return io.ReadAll(body)
}

// Answer is node's honest answer to a challenge of b, and the ranges it
// proves.
func (b *Blob) Answer(node string, nonce [32]byte, k, length int) ([]byte, []challenge.Range, error) {
	rs := challenge.Ranges(nonce, b.ID, node, b.Size, k, length)
	var buf bytes.Buffer
	err := challenge.Answer(&buf, bytes.NewReader(b.Data), bytes.NewReader(b.Outboard), b.Size, rs)
	return buf.Bytes(), rs, err
}

// Reply sends a challenge answer's header, claiming length bytes of a
// size-byte blob, then body (which may say otherwise).
func Reply(req *wire.Request, size, length int64, body []byte) error {
	w, err := req.Reply(wire.ChallengeResponse{Size: size, Length: length})
	if err != nil {
		return err
	}
	_, err = w.Write(body)
	return err
}

// Honest is the control: the true answer from a whole copy.
const Honest = "honest"

// Forgeries names every way Forge can cheat, and Honest.
var Forgeries = []string{
	Honest,
	"flip-chunk",  // a flipped bit in a challenged range
	"flip-node",   // a flipped bit in a tree node
	"wrong-size",  // a slice header for another size
	"other-blob",  // the proof of another blob of the same size
	"random",      // random bytes of the right length
	"random-tree", // random tree nodes and chunks under honest headers
	"short",       // an answer announced one byte short
	"cut",         // an answer cut off halfway
	"other-nonce", // the honest answer to another nonce
	"replay",      // one stale answer, replayed
	"other-node",  // the honest answer of another node
}

// Forge answers challenges of b in the way mode names (one of
// Forgeries): every answer but Honest's is a bad proof. other is another
// blob of b's size ("other-blob"); otherNode is another node's id
// ("other-node").
func Forge(mode string, b, other *Blob, otherNode string) (Func, error) {
	honest := func(self string, cr wire.ChallengeRequest) ([]byte, []challenge.Range, error) {
		return b.Answer(self, cr.Nonce, cr.Ranges, cr.Length)
	}
	// forged answers with a body derived from the honest one, announced
	// at its own length.
	forged := func(f func(ans []byte, rs []challenge.Range, self string, cr wire.ChallengeRequest) ([]byte, error)) Func {
		return func(self string, req *wire.Request, cr wire.ChallengeRequest) error {
			ans, rs, err := honest(self, cr)
			if err != nil {
				return err
			}
			if ans, err = f(ans, rs, self, cr); err != nil {
				return err
			}
			return Reply(req, b.Size, int64(len(ans)), ans)
		}
	}
	switch mode {
	case Honest:
		return forged(func(ans []byte, _ []challenge.Range, _ string, _ wire.ChallengeRequest) ([]byte, error) {
			return ans, nil
		}), nil
	case "flip-chunk":
		return forged(func(ans []byte, rs []challenge.Range, _ string, _ wire.ChallengeRequest) ([]byte, error) {
			i := mrand.IntN(len(rs))
			_, chunk := b.sliceAt(rs, i)
			ans[chunk+int(rs[i].Off%challenge.ChunkSize)+mrand.IntN(int(rs[i].Len))] ^= 1 << mrand.IntN(8)
			return ans, nil
		}), nil
	case "flip-node":
		return forged(func(ans []byte, rs []challenge.Range, _ string, _ wire.ChallengeRequest) ([]byte, error) {
			start, chunk := b.sliceAt(rs, mrand.IntN(len(rs)))
			if chunk-start <= 8 {
				return nil, fmt.Errorf("adversary: flip-node: a blob of %d bytes has no tree nodes", b.Size)
			}
			ans[start+8+mrand.IntN(chunk-start-8)] ^= 1 << mrand.IntN(8)
			return ans, nil
		}), nil
	case "wrong-size":
		return forged(func(ans []byte, rs []challenge.Range, _ string, _ wire.ChallengeRequest) ([]byte, error) {
			start, _ := b.sliceAt(rs, mrand.IntN(len(rs)))
			binary.LittleEndian.PutUint64(ans[start:], uint64(b.Size+1))
			return ans, nil
		}), nil
	case "other-blob":
		if other == nil || other.Size != b.Size || other.ID == b.ID {
			return nil, fmt.Errorf("adversary: other-blob needs another blob of %d bytes", b.Size)
		}
		return forged(func(_ []byte, _ []challenge.Range, self string, cr wire.ChallengeRequest) ([]byte, error) {
			ans, _, err := other.Answer(self, cr.Nonce, cr.Ranges, cr.Length)
			return ans, err
		}), nil
	case "random":
		return forged(func(ans []byte, _ []challenge.Range, _ string, _ wire.ChallengeRequest) ([]byte, error) {
			rand.Read(ans)
			return ans, nil
		}), nil
	case "random-tree":
		return forged(func(ans []byte, rs []challenge.Range, _ string, _ wire.ChallengeRequest) ([]byte, error) {
			for i := range rs {
				start, _ := b.sliceAt(rs, i)
				rand.Read(ans[start+8 : start+int(challenge.SliceSize(b.Size, rs[i]))])
			}
			return ans, nil
		}), nil
	case "short":
		return forged(func(ans []byte, _ []challenge.Range, _ string, _ wire.ChallengeRequest) ([]byte, error) {
			return ans[:len(ans)-1], nil
		}), nil
	case "cut":
		return func(self string, req *wire.Request, cr wire.ChallengeRequest) error {
			ans, _, err := honest(self, cr)
			if err != nil {
				return err
			}
			return Reply(req, b.Size, int64(len(ans)), ans[:len(ans)/2])
		}, nil
	case "other-nonce":
		return forged(func(_ []byte, _ []challenge.Range, self string, cr wire.ChallengeRequest) ([]byte, error) {
			var nonce [32]byte
			rand.Read(nonce[:])
			ans, _, err := b.Answer(self, nonce, cr.Ranges, cr.Length)
			return ans, err
		}), nil
	case "replay":
		var stale [32]byte
		rand.Read(stale[:])
		return forged(func(_ []byte, _ []challenge.Range, self string, cr wire.ChallengeRequest) ([]byte, error) {
			ans, _, err := b.Answer(self, stale, cr.Ranges, cr.Length)
			return ans, err
		}), nil
	case "other-node":
		if otherNode == "" {
			return nil, fmt.Errorf("adversary: other-node needs another node's id")
		}
		return forged(func(_ []byte, _ []challenge.Range, _ string, cr wire.ChallengeRequest) ([]byte, error) {
			ans, _, err := b.Answer(otherNode, cr.Nonce, cr.Ranges, cr.Length)
			return ans, err
		}), nil
	}
	return nil, fmt.Errorf("adversary: no forgery %q (one of %v)", mode, Forgeries)
}

// sliceAt is where slice i of an answer to rs starts, and where its
// length header and tree nodes end and its chunk starts (a range of at
// most a chunk, on a chunk boundary: one chunk ends its slice).
func (b *Blob) sliceAt(rs []challenge.Range, i int) (start, chunk int) {
	for _, r := range rs[:i] {
		start += int(challenge.SliceSize(b.Size, r))
	}
	c := rs[i].Off - rs[i].Off%challenge.ChunkSize
	return start, start + int(challenge.SliceSize(b.Size, rs[i])) - int(min(b.Size, c+challenge.ChunkSize)-c)
}

// Relay keeps only the outboard of a size-byte blob and, challenged,
// fetches the challenged groups from the holder at from, all at once,
// then answers with the slices they make: a correct answer, one fetch
// later.
func Relay(c *wire.Client, from wire.Target, size int64, outboard []byte) Func {
	return func(self string, req *wire.Request, cr wire.ChallengeRequest) error {
		rs := challenge.Ranges(cr.Nonce, cr.CID, self, size, cr.Ranges, cr.Length)
		groups := make(groupsAt, len(rs))
		var mu sync.Mutex
		var wg sync.WaitGroup
		var failed error
		for _, r := range rs {
			start := r.Off - r.Off%challenge.GroupSize
			wg.Go(func() {
				g, err := GetAll(req.Context(), c, from, cr.CID, start, min(challenge.GroupSize, size-start))
				mu.Lock()
				defer mu.Unlock()
				groups[start] = g
				if err != nil {
					failed = err
				}
			})
		}
		wg.Wait()
		if failed != nil {
			return failed
		}
		var ans bytes.Buffer
		if err := challenge.Answer(&ans, groups, bytes.NewReader(outboard), size, rs); err != nil {
			return err
		}
		return Reply(req, size, int64(ans.Len()), ans.Bytes())
	}
}

// groupsAt is a blob's bytes where only some groups are known, keyed by
// their offset: what a relay fetched for one answer.
type groupsAt map[int64][]byte

func (g groupsAt) ReadAt(p []byte, off int64) (int, error) {
	start := off - off%challenge.GroupSize
	b, ok := g[start]
	if !ok {
		return 0, fmt.Errorf("group at %d not fetched", start)
	}
	n := copy(p, b[off-start:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
