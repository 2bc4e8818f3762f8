package gateway

import (
	"errors"

	"dstor/shared/identity"
	"dstor/shared/registry"
	"dstor/shared/wire"
)

func (g *Gateway) wireMux() wire.Mux {
	return wire.Mux{wire.OpPing: g.handlePing, wire.OpHolders: g.handleHolders, wire.OpReport: g.handleReport}
}

// handlePing answers a ping with the gateway's id and region; nodes use it
// to keep a warm connection for holder lookups.
func (g *Gateway) handlePing(req *wire.Request) error {
	_, err := req.Reply(wire.Status{ID: g.id, Region: g.cfg.Region})
	return err
}

// handleHolders tells a node where a blob is: live holders first, so a
// peer fetch does not start with a dead node.
func (g *Gateway) handleHolders(req *wire.Request) error {
	if req.Peer.Role != identity.RoleNode && req.Peer.Role != identity.RoleAuditor {
		return wire.Errorf(wire.CodeForbidden, "%s may not ask for holders", req.Peer.Role)
	}
	var br wire.BlobRequest
	if err := req.Decode(&br); err != nil || !br.CID.Defined() {
		return wire.Errorf(wire.CodeBadRequest, "bad holders request: %v", err)
	}
	// The pin cache: a reader's redirect has usually just read this pin.
	cp, err := g.pins.get(req.Context(), g.reg, br.CID.String())
	if errors.Is(err, registry.ErrNotFound) {
		return wire.Errorf(wire.CodeNotFound, "no pin for %s", br.CID)
	} else if err != nil {
		return err
	}
	pin := cp.info
	up := map[string]bool{}
	for _, n := range g.nodes.live() {
		up[n.ID] = true
	}
	resp := wire.HoldersResponse{Size: pin.Size}
	var down []wire.Holder
	for _, h := range pin.Holders {
		wh := wire.Holder{ID: h.NodeID, Region: h.Region, URL: h.URL, Up: up[h.NodeID]}
		if wh.Up {
			resp.Holders = append(resp.Holders, wh)
		} else {
			down = append(down, wh)
		}
	}
	resp.Holders = append(resp.Holders, down...)
	_, err = req.Reply(resp)
	return err
}

// handleReport takes a node's word that a copy of a blob failed
// verification: its own (it has removed the copy and is repairing it) or
// a peer's (which sent bad bytes). It is logged for the operator; auditd
// turns such failures into reputation and repair.
func (g *Gateway) handleReport(req *wire.Request) error {
	if req.Peer.Role != identity.RoleNode {
		return wire.Errorf(wire.CodeForbidden, "%s may not report", req.Peer.Role)
	}
	var r wire.Report
	if err := req.Decode(&r); err != nil || !r.CID.Defined() || r.Node == "" {
		return wire.Errorf(wire.CodeBadRequest, "bad report: %v", err)
	}
	g.metrics.reports.Add(1)
	g.log.Warn("copy failed verification", "cid", r.CID, "node", r.Node, "reporter", req.Peer.ID, "reason", r.Reason)
	_, err := req.Reply(struct{}{})
	return err
}
