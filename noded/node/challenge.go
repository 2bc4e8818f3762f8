package node

import (
	"bytes"

	"dstor/shared/challenge"
	"dstor/shared/identity"
	"dstor/shared/wire"
)

// handleChallenge proves to an auditor that this node stores a blob: the
// Bao slices of the ranges the nonce picks (challenge.Ranges, with this
// node's identity), cut from the copy in the store at chunk granularity
// (the group holding each range is read and hashed for the tree nodes
// inside it). Never from the cache
// or a peer: a node that lacks the blob on disk answers CodeNotFound, and
// one whose copy is corrupt sends slices that fail verification. The
// answer is built before the reply, so a read error is an error reply,
// and sent in one write.
func (n *Node) handleChallenge(req *wire.Request) error {
	if req.Peer.Role != identity.RoleAuditor {
		return wire.Errorf(wire.CodeForbidden, "%s may not challenge", req.Peer.Role)
	}
	var cr wire.ChallengeRequest
	if err := req.Decode(&cr); err != nil || !cr.CID.Defined() {
		return wire.Errorf(wire.CodeBadRequest, "bad challenge: %v", err)
	}
	if cr.Ranges < 1 || cr.Ranges > challenge.MaxRanges || cr.Length < 1 || cr.Length > challenge.GroupSize {
		return wire.Errorf(wire.CodeBadRequest, "bad challenge: %d ranges of %d bytes", cr.Ranges, cr.Length)
	}
	b, err := n.store.Open(cr.CID)
	if err != nil {
		return storeErr(err)
	}
	defer b.Close()
	ranges := challenge.Ranges(cr.Nonce, cr.CID, n.id, b.Size, cr.Ranges, cr.Length)
	answer := bytes.NewBuffer(make([]byte, 0, challenge.AnswerSize(b.Size, ranges)))
	if err := challenge.Answer(answer, b.Data, b.Outboard, b.Size, ranges); err != nil {
		return err
	}
	out, err := req.Reply(wire.ChallengeResponse{Size: b.Size, Length: int64(answer.Len())})
	if err != nil {
		return err
	}
	_, err = out.Write(answer.Bytes())
	return err
}
