package node

import (
	"errors"
	"io"

	"dstor/noded/store"
	"dstor/shared/identity"
	"dstor/shared/wire"
)

func (n *Node) wireMux() wire.Mux {
	return wire.Mux{
		wire.OpPing:     n.handlePing,
		wire.OpPut:      n.handlePut,
		wire.OpGet:      n.handleGet,
		wire.OpOutboard: n.handleOutboard,
		wire.OpHas:      n.handleHas,
	}
}

func (n *Node) status() wire.Status {
	st := wire.Status{ID: n.id, Region: n.cfg.Region, Blobs: n.store.Count(), InFlight: n.inFlight.Load()}
	st.Capacity, st.Free, _ = n.store.Space()
	return st
}

func (n *Node) handlePing(req *wire.Request) error {
	_, err := req.Reply(n.status())
	return err
}

// handlePut stores a blob streamed by a gateway or a peer. Nothing is kept
// unless the bytes hash to the announced CID.
func (n *Node) handlePut(req *wire.Request) error {
	if req.Peer.Role != identity.RoleGateway && req.Peer.Role != identity.RoleNode {
		return wire.Errorf(wire.CodeForbidden, "%s may not store blobs", req.Peer.Role)
	}
	var pr wire.PutRequest
	if err := req.Decode(&pr); err != nil {
		return wire.Errorf(wire.CodeBadRequest, "%v", err)
	}
	w, err := n.store.Create()
	if err != nil {
		return err
	}
	body := req.Chunks()
	buf := copyBufs.Get().(*[]byte)
	_, err = io.CopyBuffer(w, body, *buf)
	copyBufs.Put(buf)
	if err != nil {
		w.Abort()
		return wire.Errorf(wire.CodeBadRequest, "upload cut off after %d bytes: %v", w.Len(), err)
	}
	var tr wire.PutTrailer
	if err := body.Trailer(&tr); err != nil || !tr.CID.Defined() {
		w.Abort()
		return wire.Errorf(wire.CodeBadRequest, "bad trailer: %v", err)
	}
	size := w.Len()
	if err := w.Commit(tr.CID, pr.Size); err != nil {
		if errors.Is(err, store.ErrHashMismatch) || errors.Is(err, store.ErrSizeMismatch) {
			return wire.Errorf(wire.CodeHashMismatch, "%v", err)
		}
		return err
	}
	n.log.Debug("stored blob", "cid", tr.CID, "size", size, "from", req.Peer.ID)
	_, err = req.Reply(wire.PutResponse{CID: tr.CID, Size: size})
	return err
}

func (n *Node) handleGet(req *wire.Request) error {
	var gr wire.GetRequest
	if err := req.Decode(&gr); err != nil || !gr.CID.Defined() {
		return wire.Errorf(wire.CodeBadRequest, "bad get request: %v", err)
	}
	f, size, err := n.store.Open(gr.CID)
	if err != nil {
		return storeErr(err)
	}
	defer f.Close()
	if gr.Offset < 0 || gr.Offset > size || gr.Length < -1 {
		return wire.Errorf(wire.CodeBadRequest, "range %d+%d outside a %d-byte blob", gr.Offset, gr.Length, size)
	}
	length := size - gr.Offset
	if gr.Length >= 0 {
		length = min(length, gr.Length)
	}
	out, err := req.Reply(wire.GetResponse{Size: size, Length: length})
	if err != nil {
		return err
	}
	buf := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(buf)
	_, err = io.CopyBuffer(out, io.NewSectionReader(f, gr.Offset, length), *buf)
	return err
}

func (n *Node) handleOutboard(req *wire.Request) error {
	var br wire.BlobRequest
	if err := req.Decode(&br); err != nil || !br.CID.Defined() {
		return wire.Errorf(wire.CodeBadRequest, "bad outboard request: %v", err)
	}
	size, ok := n.store.Has(br.CID)
	if !ok {
		return storeErr(store.ErrNotFound)
	}
	f, length, err := n.store.OpenOutboard(br.CID)
	if err != nil {
		return storeErr(err)
	}
	defer f.Close()
	out, err := req.Reply(wire.OutboardResponse{Size: size, Length: length})
	if err != nil {
		return err
	}
	_, err = io.Copy(out, f)
	return err
}

func (n *Node) handleHas(req *wire.Request) error {
	var br wire.BlobRequest
	if err := req.Decode(&br); err != nil || !br.CID.Defined() {
		return wire.Errorf(wire.CodeBadRequest, "bad has request: %v", err)
	}
	size, ok := n.store.Has(br.CID)
	_, err := req.Reply(wire.HasResponse{Has: ok, Size: size})
	return err
}

func storeErr(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return wire.Errorf(wire.CodeNotFound, "blob not stored here")
	}
	return err
}
