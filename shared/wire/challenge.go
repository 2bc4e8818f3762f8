package wire

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"dstor/shared/challenge"
	"dstor/shared/cid"
)

// ChallengeRequest asks a node to prove it stores a blob (OpChallenge).
// The node derives the ranges itself with challenge.Ranges from the nonce,
// the CID and its own identity, as the auditor does: an auditor cannot
// direct a node's reads, and a node cannot know the ranges before the
// nonce arrives.
type ChallengeRequest struct {
	CID    cid.CID `json:"cid"`
	Nonce  Nonce   `json:"nonce"`
	Ranges int     `json:"ranges"` // how many: 1 to challenge.MaxRanges
	Length int     `json:"length"` // bytes each: 1 to challenge.GroupSize
}

// ChallengeResponse precedes the answer, the ranges' Bao slices (1 KiB
// chunk granularity: about 2.3 KiB a range in a 1 GiB blob) as
// challenge.Answer writes them: Size is the blob's length on the node,
// Length the answer's (challenge.AnswerSize).
type ChallengeResponse = GetResponse

// Nonce is a challenge's fresh random value, in hex in JSON.
type Nonce [32]byte

func (n Nonce) MarshalText() ([]byte, error) { return hex.AppendEncode(nil, n[:]), nil }

func (n *Nonce) UnmarshalText(b []byte) error {
	if len(b) != hex.EncodedLen(len(n)) {
		return fmt.Errorf("nonce of %d hex digits, want %d", len(b), hex.EncodedLen(len(n)))
	}
	_, err := hex.Decode(n[:], b)
	return err
}

// Proof is a node's verified answer to a challenge.
type Proof struct {
	Ranges []challenge.Range
	Data   [][]byte // the verified bytes of each range
	// Elapsed runs from the request's dispatch (after any dial) to the
	// answer's last byte, before verification: what a deadline bounds.
	Elapsed time.Duration
}

// Challenge asks node t, whose identity (t.Peer.ID) the ranges depend on,
// to prove it stores blob id of size bytes: k ranges of length bytes
// derived from nonce. It reads exactly the answer those ranges call for,
// times it, then verifies it against id alone. ctx's deadline (at most
// ResponseTimeout) bounds the whole exchange.
//
// A node that answers for another size, with an answer of another length
// (nothing of it is read) or one that does not verify fails with an error
// wrapping challenge.ErrBadProof; the node's refusal is its *Error
// (CodeNotFound: it does not have the blob); a timeout is a net.Error. An
// answer that arrived whole has its Elapsed set even if it fails.
func (c *Client) Challenge(ctx context.Context, t Target, id cid.CID, size int64, nonce [32]byte, k, length int) (Proof, error) {
	if t.Peer.ID == "" {
		return Proof{}, errors.New("challenge: the node's identity is needed to derive the ranges")
	}
	p := Proof{Ranges: challenge.Ranges(nonce, id, t.Peer.ID, size, k, length)}
	want := challenge.AnswerSize(size, p.Ranges)
	s, r, err := c.open(ctx, t, OpChallenge, ChallengeRequest{CID: id, Nonce: nonce, Ranges: k, Length: length})
	if err != nil {
		return p, err
	}
	start := time.Now()
	s.Close()
	defer s.CancelRead(0)
	var resp ChallengeResponse
	if err := readHead(ctx, s, r, &resp); err != nil {
		return p, c.failed(t, err)
	}
	if _, ok := ctx.Deadline(); !ok {
		s.SetReadDeadline(start.Add(ResponseTimeout))
	}
	if resp.Size != size || resp.Length != want {
		return p, fmt.Errorf("%w: node answers %d bytes for a %d-byte blob, want %d for %d bytes", challenge.ErrBadProof, resp.Length, resp.Size, want, size)
	}
	answer := make([]byte, want)
	if _, err := io.ReadFull(r, answer); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("%w: answer cut short: %w", challenge.ErrBadProof, io.ErrUnexpectedEOF)
		}
		return p, c.failed(t, err)
	}
	p.Elapsed = time.Since(start)
	verify := c.ChallengeVerifier
	if verify == nil {
		verify = challenge.Verify
	}
	p.Data, err = verify(id.Digest(), size, p.Ranges, answer)
	return p, err
}
