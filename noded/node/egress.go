package node

import (
	"sync"

	"dstor/shared/cid"
	"dstor/shared/identity"
	"dstor/shared/wire"
)

// maxEgressBlobs bounds the blobs counted between two reports; bytes of
// others count as unattributed.
const maxEgressBlobs = 1 << 16

// egress counts the bytes the node served per blob since an auditor last
// took the counts (OpServed), for the ledger: operators are paid for
// them, and accounts see what their blobs cost. Bytes sent to peers
// (repair and peer fetches) are not a reader's, and count unattributed.
type egress struct {
	mu    sync.Mutex
	blobs map[cid.CID]int64
	other int64
}

// add counts k bytes of blob id (the zero CID: unattributed).
func (e *egress) add(id cid.CID, k int64) {
	if k <= 0 {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !id.Defined() {
		e.other += k
		return
	}
	if e.blobs == nil {
		e.blobs = make(map[cid.CID]int64)
	}
	if _, ok := e.blobs[id]; !ok && len(e.blobs) >= maxEgressBlobs {
		e.other += k
		return
	}
	e.blobs[id] += k
}

// take returns the counts and starts new ones.
func (e *egress) take() wire.ServedReport {
	e.mu.Lock()
	blobs, other := e.blobs, e.other
	e.blobs, e.other = nil, 0
	e.mu.Unlock()
	r := wire.ServedReport{Other: other, Blobs: make([]wire.BlobBytes, 0, len(blobs))}
	for id, k := range blobs {
		r.Blobs = append(r.Blobs, wire.BlobBytes{CID: id, Bytes: k})
	}
	return r
}

// countServed counts k bytes of blob id sent to a reader.
func (n *Node) countServed(id cid.CID, k int64) {
	n.served.Add(k)
	n.egress.add(id, k)
}

// handleServed hands the per-blob counts to an auditor, which credits
// them in the ledger. Taking them resets them.
func (n *Node) handleServed(req *wire.Request) error {
	if req.Peer.Role != identity.RoleAuditor {
		return wire.Errorf(wire.CodeForbidden, "%s may not take the egress counts", req.Peer.Role)
	}
	_, err := req.Reply(n.egress.take())
	return err
}
