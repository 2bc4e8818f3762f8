package node

import (
	"context"
	"time"

	"dstor/shared/cid"
	"dstor/shared/wire"
)

// report tells the gateway that node's copy of id failed verification.
func (n *Node) report(ctx context.Context, id cid.CID, node, reason string) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := n.client.Report(ctx, n.gateway, wire.Report{CID: id, Node: node, Reason: reason}); err != nil {
		n.log.Warn("could not report a bad copy to the gateway", "cid", id, "node", node, "err", err)
	}
}
