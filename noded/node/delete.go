package node

import (
	"time"

	"dstor/shared/identity"
	"dstor/shared/wire"
)

// handleDelete deletes the copy of a blob no account pins any more, as a
// gateway or auditor orders after the unpin's grace, unless the copy was
// committed since the unpin (the same bytes were uploaded or pulled
// again): the store decides that under the blob's lock.
func (n *Node) handleDelete(req *wire.Request) error {
	if req.Peer.Role != identity.RoleGateway && req.Peer.Role != identity.RoleAuditor {
		return wire.Errorf(wire.CodeForbidden, "%s may not delete blobs", req.Peer.Role)
	}
	var dr wire.DeleteRequest
	if err := req.Decode(&dr); err != nil || !dr.CID.Defined() || dr.Before <= 0 {
		return wire.Errorf(wire.CodeBadRequest, "bad delete request: %v", err)
	}
	deleted, err := n.store.RemoveCommittedBefore(dr.CID, time.Unix(0, dr.Before))
	if err != nil {
		return storeErr(err)
	}
	if deleted {
		n.cache.del(dr.CID)
		n.log.Info("deleted unpinned blob", "cid", dr.CID, "by", req.Peer.ID)
	}
	_, err = req.Reply(wire.DeleteResponse{Deleted: deleted})
	return err
}
