package node

import (
	"errors"
	"fmt"
	"io"

	"dstor/noded/store"
	"dstor/shared/cid"
	"dstor/shared/identity"
	"dstor/shared/proof"
	"dstor/shared/wire"
)

func (n *Node) wireMux() wire.Mux {
	return wire.Mux{
		wire.OpPing:      n.handlePing,
		wire.OpPut:       n.handlePut,
		wire.OpGet:       n.handleGet,
		wire.OpOutboard:  n.handleOutboard,
		wire.OpHas:       n.handleHas,
		wire.OpPull:      n.handlePull,
		wire.OpChallenge: n.handleChallenge,
		wire.OpServed:    n.handleServed,
		wire.OpDelete:    n.handleDelete,
	}
}

// status is what the node reports to gateways on every probe.
func (n *Node) status() wire.Status {
	st := wire.Status{
		ID:          n.id,
		Region:      n.cfg.Region,
		Blobs:       n.store.Count(),
		Used:        n.store.Used(),
		InFlight:    n.inFlight.Load(),
		BytesServed: n.served.Load(),
		CacheHits:   n.cache.hits.Load(),
		CacheMisses: n.cache.misses.Load(),
		Reserve:     max(n.cfg.Reserve, 0),
		Operator:    n.cfg.Operator,
		Draining:    n.cfg.Draining,
		Peers:       n.rtts.report(),
	}
	st.Capacity, st.Free, _ = n.store.Space()
	st.Accepting = st.Free > st.Reserve && !n.cfg.Draining
	return st
}

// handlePing answers a probe with the node's status and, for a gateway,
// starts measuring the peers it names (reported in later answers).
func (n *Node) handlePing(req *wire.Request) error {
	var pr wire.PingRequest
	if err := req.Decode(&pr); err != nil {
		return wire.Errorf(wire.CodeBadRequest, "bad ping: %v", err)
	}
	if req.Peer.Role == identity.RoleGateway && len(pr.Probe) > 0 {
		n.probePeers(pr.Probe)
	}
	_, err := req.Reply(n.status())
	return err
}

// handlePull fetches a blob from the holders a gateway names, through the
// peer-fetch path (verified group by group), and answers once the copy is
// durable. A blob already here answers at once.
func (n *Node) handlePull(req *wire.Request) error {
	if req.Peer.Role != identity.RoleGateway && req.Peer.Role != identity.RoleAuditor {
		return wire.Errorf(wire.CodeForbidden, "%s may not order pulls", req.Peer.Role)
	}
	var pr wire.PullRequest
	if err := req.Decode(&pr); err != nil || !pr.CID.Defined() || pr.Size < 0 {
		return wire.Errorf(wire.CodeBadRequest, "bad pull request: %v", err)
	}
	if size, ok := n.store.Has(pr.CID); ok {
		_, err := req.Reply(wire.PutResponse{CID: pr.CID, Size: size})
		return err
	}
	if n.cfg.Draining {
		return wire.Errorf(wire.CodeNoSpace, "node is draining")
	}
	if _, free, err := n.store.Space(); err == nil && free-pr.Size < n.cfg.Reserve {
		return wire.Errorf(wire.CodeNoSpace, "node is full: %d bytes free, reserve %d", free, n.cfg.Reserve)
	}
	t, err := n.transferFrom(pr.CID, pr.Size, pr.Holders)
	if err != nil {
		return err
	}
	if err := t.wait(req.Context()); err != nil {
		return putErr(err)
	}
	size, ok := n.store.Has(pr.CID)
	if !ok {
		return fmt.Errorf("pulled %s but it is not in the store", pr.CID)
	}
	n.log.Debug("pulled blob", "cid", pr.CID, "size", size, "for", req.Peer.ID)
	_, err = req.Reply(wire.PutResponse{CID: pr.CID, Size: size})
	return err
}

// handlePut stores a blob streamed by a gateway or a peer. Nothing is kept
// unless the bytes hash to the announced CID; a node under its free-space
// reserve takes no new blobs.
func (n *Node) handlePut(req *wire.Request) error {
	if req.Peer.Role != identity.RoleGateway && req.Peer.Role != identity.RoleNode {
		return wire.Errorf(wire.CodeForbidden, "%s may not store blobs", req.Peer.Role)
	}
	var pr wire.PutRequest
	if err := req.Decode(&pr); err != nil {
		return wire.Errorf(wire.CodeBadRequest, "%v", err)
	}
	if _, free, err := n.store.Space(); err == nil && (free <= n.cfg.Reserve || pr.Size >= 0 && free-pr.Size < n.cfg.Reserve) {
		return wire.Errorf(wire.CodeNoSpace, "node is full: %d bytes free, reserve %d", free, n.cfg.Reserve)
	}
	w, err := n.store.Create()
	if err != nil {
		return putErr(err)
	}
	defer w.Abort()
	body := req.Chunks()
	buf := n.copyBufs.Get().(*[]byte)
	err = copyFull(w, body, *buf)
	n.copyBufs.Put(buf)
	if errors.Is(err, store.ErrNoSpace) {
		return putErr(err)
	} else if err != nil {
		return wire.Errorf(wire.CodeBadRequest, "upload cut off after %d bytes: %v", w.Len(), err)
	}
	var tr wire.PutTrailer
	if err := body.Trailer(&tr); err != nil || !tr.CID.Defined() {
		return wire.Errorf(wire.CodeBadRequest, "bad trailer: %v", err)
	}
	size := w.Len()
	if err := w.Commit(tr.CID, pr.Size); err != nil {
		return putErr(err)
	}
	n.log.Debug("stored blob", "cid", tr.CID, "size", size, "from", req.Peer.ID)
	_, err = req.Reply(wire.PutResponse{CID: tr.CID, Size: size})
	return err
}

func putErr(err error) error {
	switch {
	case errors.Is(err, store.ErrNoSpace):
		return wire.Errorf(wire.CodeNoSpace, "%v", err)
	case errors.Is(err, store.ErrHashMismatch), errors.Is(err, store.ErrSizeMismatch):
		return wire.Errorf(wire.CodeHashMismatch, "%v", err)
	}
	return err
}

// handleGet sends a range of a stored blob, verified group by group: a
// peer never receives a byte that fails verification here.
func (n *Node) handleGet(req *wire.Request) error {
	var gr wire.GetRequest
	if err := req.Decode(&gr); err != nil || !gr.CID.Defined() || gr.Outboard < 0 {
		return wire.Errorf(wire.CodeBadRequest, "bad get request: %v", err)
	}
	b, err := n.store.Open(gr.CID)
	if err != nil {
		return storeErr(err)
	}
	defer b.Close()
	if gr.Offset < 0 || gr.Offset > b.Size || gr.Length < -1 {
		return wire.Errorf(wire.CodeBadRequest, "range %d+%d outside a %d-byte blob", gr.Offset, gr.Length, b.Size)
	}
	length := b.Size - gr.Offset
	if gr.Length >= 0 {
		length = min(length, gr.Length)
	}
	// Check the outboard before promising anything.
	v, err := proof.NewVerifier(gr.CID.Digest(), b.Size, b.Outboard, b.OutboardSize)
	var l lead
	if err == nil && (gr.Outboard > 0 || gr.Chunks) {
		bufp := n.copyBufs.Get().(*[]byte)
		defer n.copyBufs.Put(bufp)
		l, err = fetchLead(v, b, gr, length, *bufp)
	}
	if errors.Is(err, proof.ErrMismatch) {
		n.quarantine(gr.CID, err)
		return wire.Errorf(wire.CodeNotFound, "blob failed verification here")
	} else if err != nil {
		return err
	}
	out, err := req.Reply(wire.GetResponse{Size: b.Size, Length: length, Outboard: int64(len(l.bytes)) - l.chunks, Chunks: l.chunks})
	if err != nil {
		return err
	}
	if _, err := out.Write(l.bytes); err != nil {
		return err
	}
	cw := &countedWriter{w: out, n: &n.served}
	if _, err = cw.Write(l.first); err == nil && length > int64(len(l.first)) {
		err = n.verify(gr.CID, b, b.Data, gr.Offset+int64(len(l.first)), length-int64(len(l.first)), cw)
	}
	// A gateway's read is a reader's (?redirect=0), billed to the blob; a
	// peer's (a fetch or a repair) is not.
	billed := cid.CID{}
	if req.Peer.Role == identity.RoleGateway {
		billed = gr.CID
	}
	n.egress.add(billed, cw.sent)
	return err
}

// lead is what a fetch asks to come before its bytes, all in the answer's
// first flight: the outboard's head and the first group's chunk values,
// and then the first group itself, checked here, so the fetcher can check
// and release its first KiB as soon as it arrives.
type lead struct {
	bytes  []byte // the outboard's head, then the chunk values
	chunks int64  // how many of bytes are chunk values
	first  []byte // the range's first bytes: its first group
}

// fetchLead reads a fetch's lead into buf (which must hold two groups or
// more): up to outboardHead bytes of the outboard's head, then, when asked
// and the range starts a blob longer than one group, that group's chunk
// values and the range's bytes in it, checked with v.
func fetchLead(v *proof.Verifier, b *store.Blob, gr wire.GetRequest, length int64, buf []byte) (lead, error) {
	head := min(gr.Outboard, b.OutboardSize, outboardHead)
	if _, err := b.Outboard.ReadAt(buf[:head], 0); err != nil {
		return lead{}, fmt.Errorf("read outboard: %w", err)
	}
	l := lead{bytes: buf[:head]}
	if !gr.Chunks || gr.Offset != 0 || b.Size <= proof.GroupSize {
		return l, nil
	}
	group := buf[len(buf)-proof.GroupSize:]
	if _, err := b.Data.ReadAt(group, 0); err != nil {
		return lead{}, fmt.Errorf("read first group: %w", err)
	}
	var err error
	if l.bytes, err = v.FirstGroup(l.bytes, group); err != nil {
		return lead{}, err
	}
	l.chunks, l.first = proof.ChunkCVsSize, group[:min(length, proof.GroupSize)]
	return l, nil
}

// handleOutboard sends a blob's outboard tree, or a range of it.
func (n *Node) handleOutboard(req *wire.Request) error {
	var or wire.OutboardRequest
	if err := req.Decode(&or); err != nil || !or.CID.Defined() || or.Offset < 0 || or.Length < 0 {
		return wire.Errorf(wire.CodeBadRequest, "bad outboard request: %v", err)
	}
	b, err := n.store.Open(or.CID)
	if err != nil {
		return storeErr(err)
	}
	defer b.Close()
	if or.Offset > b.OutboardSize {
		return wire.Errorf(wire.CodeBadRequest, "range %d+%d outside a %d-byte outboard", or.Offset, or.Length, b.OutboardSize)
	}
	length := b.OutboardSize - or.Offset
	if or.Length > 0 {
		length = min(length, or.Length)
	}
	out, err := req.Reply(wire.OutboardResponse{Size: b.Size, Length: length})
	if err != nil {
		return err
	}
	_, err = io.Copy(out, io.NewSectionReader(b.Outboard, or.Offset, length))
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

// copyFull copies src to dst through buf, filling buf before each write:
// a stream read returns what has arrived (tens of KB), and fewer, larger
// writes cost the file system and the hasher less per byte.
func copyFull(dst io.Writer, src io.Reader, buf []byte) error {
	for {
		n := 0
		var rerr error
		for n < len(buf) && rerr == nil {
			var k int
			k, rerr = src.Read(buf[n:])
			n += k
		}
		if n > 0 {
			if _, err := dst.Write(buf[:n]); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			return nil
		} else if rerr != nil {
			return rerr
		}
	}
}
