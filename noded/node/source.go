package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"dstor/noded/store"
	"dstor/shared/cid"
	"dstor/shared/httpblob"
	"dstor/shared/proof"
)

// local returns a source for a blob on this node's store. Blobs small
// enough for the cache are loaded whole, verified, once for concurrent
// readers, and cached (when load is set); larger ones are verified group by
// group as they stream. A blob that fails verification is quarantined.
func (n *Node) local(ctx context.Context, id cid.CID, size int64, load bool) (httpblob.Source, error) {
	if load && n.cache.fits(size) {
		v, err, _ := n.loads.Do(key(id), func() (any, error) {
			data, err := n.readVerified(id)
			if err != nil {
				return nil, err
			}
			b := httpblob.NewBlob(id, data)
			n.cache.add(b)
			return b, nil
		})
		if err != nil {
			return nil, err
		}
		return v.(*httpblob.Blob), nil
	}
	return &diskSource{n: n, id: id}, nil
}

// readVerified reads a whole blob from the store and checks it.
func (n *Node) readVerified(id cid.CID) ([]byte, error) {
	b, err := n.store.Open(id)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	data := make([]byte, b.Size)
	if _, err := b.Data.ReadAt(data, 0); err != nil && !(errors.Is(err, io.EOF) && b.Size == 0) {
		return nil, err
	}
	if err := n.verify(id, b, bytes.NewReader(data), 0, b.Size, io.Discard); err != nil {
		return nil, err
	}
	return data, nil
}

// maxOutboardRead is the largest outboard a read loads whole (that of a
// 4 GiB blob); larger ones are read node by node.
const maxOutboardRead = 16 << 20

// verify streams [off, off+length) of blob b, read through data, to w,
// checked against its outboard; a mismatch quarantines the blob. A read of
// more than a few groups reads the outboard in pages as the walk reaches
// them rather than one read per tree node (and not all of it before the
// first byte can go). A long read sent somewhere (not discarded) reads and
// verifies ahead while it is being sent.
func (n *Node) verify(id cid.CID, b *store.Blob, data io.ReaderAt, off, length int64, w io.Writer) error {
	var ob io.ReaderAt = b.Outboard
	if length > 4*proof.GroupSize && b.OutboardSize <= maxOutboardRead {
		ob = newPagedReader(b.Outboard, b.OutboardSize)
	}
	v, err := proof.NewVerifier(id.Digest(), b.Size, ob, b.OutboardSize)
	switch {
	case err != nil:
	case length > 2*aheadChunk && w != io.Discard:
		err = n.verifyAhead(v, data, off, length, w)
	default:
		buf := n.verifyBufs.Get().(*[]byte)
		err = v.Range(w, data, off, length, *buf)
		n.verifyBufs.Put(buf)
	}
	if errors.Is(err, proof.ErrMismatch) {
		n.quarantine(id, err)
	}
	return err
}

// verifyAhead is v.RangeAhead with pooled buffers.
func (n *Node) verifyAhead(v *proof.Verifier, data io.ReaderAt, off, length int64, w io.Writer) error {
	var held [aheadBufs]*[]byte
	bufs := make([][]byte, aheadBufs)
	for i := range held {
		held[i] = n.aheadBufs.Get()
		bufs[i] = *held[i]
	}
	err := v.RangeAhead(w, data, off, length, bufs)
	for _, p := range held {
		n.aheadBufs.Put(p)
	}
	return err
}

// diskSource serves ranges of a stored blob, verified as they stream.
type diskSource struct {
	n  *Node
	id cid.CID
}

func (s *diskSource) WriteRange(w io.Writer, off, length int64) error {
	b, err := s.n.store.Open(s.id)
	if err != nil {
		return err
	}
	defer b.Close()
	if off+length > b.Size {
		return fmt.Errorf("range %d+%d outside a %d-byte blob", off, length, b.Size)
	}
	if f, ok := b.Data.(*os.File); ok && length >= 1<<20 {
		// Tell the kernel to read ahead far while we verify and send.
		unix.Fadvise(int(f.Fd()), off, length, unix.FADV_SEQUENTIAL)
	}
	return s.n.verify(s.id, b, b.Data, off, length, w)
}

// quarantine removes a blob that failed verification, tells the gateway,
// and fetches a good copy from a peer in the background.
func (n *Node) quarantine(id cid.CID, reason error) {
	n.cache.del(id)
	if err := n.store.Remove(id); errors.Is(err, store.ErrNotFound) {
		return // someone else got here first
	} else if err != nil {
		n.log.Error("cannot remove corrupt blob", "cid", id, "err", err)
	}
	n.log.Error("blob failed verification: removed, repairing from a peer", "cid", id, "err", reason)
	n.background(func(ctx context.Context) {
		n.report(ctx, id, n.id, reason.Error())
		t, err := n.transfer(id)
		if err == nil {
			err = t.wait(ctx)
		}
		if err != nil {
			n.log.Error("repair failed", "cid", id, "err", err)
			return
		}
		n.log.Info("repaired blob from a peer", "cid", id)
	})
}
