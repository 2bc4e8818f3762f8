package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sync"
	"time"

	"dstor/noded/store"
	"dstor/shared/cid"
	"dstor/shared/identity"
	"dstor/shared/proof"
	"dstor/shared/wire"
)

// Peer fetch limits: the whole transfer, the gateway's answer, and a
// holder that stops sending (the next holder takes over).
const (
	fetchTimeout   = 10 * time.Minute
	holdersTimeout = 5 * time.Second
	peerStall      = 15 * time.Second
	// peerAnswer bounds a holder's answer to a fetch (the response frame,
	// before any byte): a holder that died since the gateway last heard
	// from it, still on a pooled connection, costs this and not the
	// wire's 30 s before the next holder is tried.
	peerAnswer = 3 * time.Second
)

// transfer is one peer fetch of a blob this node lacks, shared by every
// reader that wants it: N concurrent misses cause one fetch. The fetch
// verifies each 16 KiB group against the Bao tree and the CID as it
// arrives and only then makes it visible to readers, so they stream
// verified bytes long before the whole blob is in; when it completes the
// blob is committed to the store and kept.
type transfer struct {
	id cid.CID
	// holders, when a gateway ordered a pull, are where to fetch from
	// without asking a gateway.
	holders  []wire.Holder
	pullSize int64

	mu    sync.Mutex
	cond  *sync.Cond
	size  int64 // -1 until the gateway has said
	w     store.Writer
	have  int64 // verified bytes in w
	done  bool
	err   error
	files sync.RWMutex // readers hold it to read w; the fetch to swap or drop it
}

// transfer returns the running fetch of id, starting one if none runs.
func (n *Node) transfer(id cid.CID) (*transfer, error) {
	return n.transferFrom(id, -1, nil)
}

// transferFrom is transfer with the blob's size and holders already known
// (a pull ordered by a gateway); a fetch already running is joined.
func (n *Node) transferFrom(id cid.CID, size int64, holders []wire.Holder) (*transfer, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if t := n.transfers[id]; t != nil {
		return t, nil
	}
	if n.bgCtx == nil || n.bgCtx.Err() != nil {
		return nil, errors.New("node is shutting down")
	}
	t := &transfer{id: id, size: -1}
	if len(holders) > 0 && size >= 0 {
		t.holders, t.pullSize = holders, size
	}
	t.cond = sync.NewCond(&t.mu)
	n.transfers[id] = t
	n.background(func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
		defer cancel()
		err := n.fetch(ctx, t)
		n.mu.Lock()
		delete(n.transfers, id)
		n.mu.Unlock()
		t.finish(err)
	})
	return t, nil
}

// fetch asks the gateway for holders, orders them by this node's RTT to
// each, and tries them in turn until one sends a blob that verifies.
func (n *Node) fetch(ctx context.Context, t *transfer) error {
	hr, err := n.holders(ctx, t)
	if err != nil {
		return err
	}
	t.setSize(hr.Size)
	var errs []error
	for _, h := range n.orderHolders(ctx, hr.Holders) {
		err := n.fetchFrom(ctx, t, h, hr.Size)
		if err == nil {
			n.log.Info("fetched blob from peer", "cid", t.id, "peer", h.ID, "size", hr.Size)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		n.log.Warn("peer fetch failed", "cid", t.id, "peer", h.ID, "err", err)
		if errors.Is(err, proof.ErrMismatch) {
			n.background(func(ctx context.Context) { n.report(ctx, t.id, h.ID, err.Error()) })
		}
		errs = append(errs, fmt.Errorf("%s: %w", h.ID, err))
	}
	if len(errs) == 0 {
		return store.ErrNotFound
	}
	return errors.Join(errs...)
}

// holders are where to fetch t from: what the ordering gateway said, else
// the gateway's answer now.
func (n *Node) holders(ctx context.Context, t *transfer) (wire.HoldersResponse, error) {
	if t.holders != nil {
		return wire.HoldersResponse{Size: t.pullSize, Holders: t.holders}, nil
	}
	hctx, cancel := context.WithTimeout(ctx, holdersTimeout)
	hr, err := n.client.Holders(hctx, n.gateway, t.id)
	cancel()
	if errors.Is(err, wire.ErrNotFound) {
		return hr, store.ErrNotFound
	} else if err != nil {
		return hr, fmt.Errorf("ask gateway for holders: %w", err)
	}
	return hr, nil
}

// fetchFrom streams the blob from one holder into a new temp blob. The
// answer leads with the head of the outboard and the chunk values of the
// first group, so the first KiB is checked and out one round trip after
// the request, without waiting for its whole group to cross the network
// (a 16 KiB group does not fit the sender's first burst of packets, and
// its pacer holds the rest back at least a millisecond). The rest of the
// outboard is asked for once the head is in, on a stream of its own, so
// its megabyte does not hold up the first bytes. The outboard is drained into memory as fast as it arrives, whatever the
// verifier needs yet: unread, it would hold the connection's flow-control
// credit and stall the bytes that verification waits for. Verified bytes
// reach the temp blob (and the waiting readers) in batches that grow from
// one group to a few hundred KiB.
func (n *Node) fetchFrom(ctx context.Context, t *transfer, h wire.Holder, size int64) error {
	u, err := url.Parse(h.URL)
	if err != nil {
		return err
	}
	target := wire.Target{Addr: u.Host, Peer: identity.Peer{Role: identity.RoleNode, ID: h.ID}}
	want := proof.OutboardSize(size)
	// The temp blob is made while the request is out, not before.
	type created struct {
		w   store.Writer
		err error
	}
	wc := make(chan created, 1)
	go func() {
		w, err := n.store.CreateVerified()
		wc <- created{w, err}
	}()
	// The answer's frame and the outboard's head must come within
	// peerAnswer; the bytes after them are paced by peerStall per read.
	actx, cancel := context.WithTimeout(ctx, peerAnswer)
	body, lead, err := n.client.Fetch(actx, target, t.id, min(want, outboardHead))
	cancel()
	c := <-wc
	if err == nil {
		defer body.Close()
	}
	if c.err == nil {
		t.swap(c.w)
	}
	if err != nil {
		return err
	}
	if c.err != nil {
		return c.err
	}
	if body.Size != size || body.Length != size {
		return fmt.Errorf("%w: peer has a %d-byte blob and sends %d bytes of it, want %d", proof.ErrMismatch, body.Size, body.Length, size)
	}
	got := int64(len(lead.Outboard))
	tree := drain(want, lead.Outboard, func() (*wire.Body, error) {
		rest, err := n.client.OutboardRange(ctx, target, t.id, got, 0)
		if err == nil && (rest.Size != size || rest.Length != want-got) {
			rest.Close()
			err = fmt.Errorf("%w: peer has a %d-byte blob with %d bytes of outboard after the head, want %d with %d", proof.ErrMismatch, rest.Size, rest.Length, size, want-got)
		}
		return rest, err
	})
	defer tree.stop()
	v, err := proof.NewVerifier(t.id.Digest(), size, tree, want)
	if err != nil {
		return err
	}
	bufp := n.aheadBufs.Get()
	dst, src := &progress{t: t, w: c.w}, &stallReader{body}
	if len(lead.Chunks) > 0 {
		err = v.StreamChunked(dst, src, *bufp, lead.Chunks)
	} else {
		err = v.Stream(dst, src, *bufp)
	}
	n.aheadBufs.Put(bufp)
	if err != nil {
		return err
	}
	ob, err := tree.all()
	if err != nil {
		return err
	}
	return c.w.CommitVerified(t.id, ob)
}

// stallReader fails a read that waits longer than peerStall for bytes.
type stallReader struct{ b *wire.Body }

func (s *stallReader) Read(p []byte) (int, error) {
	s.b.SetReadDeadline(time.Now().Add(peerStall))
	return s.b.Read(p)
}

// progress writes verified groups to the temp blob and wakes readers.
type progress struct {
	t *transfer
	w store.Writer
}

func (p *progress) Write(b []byte) (int, error) {
	k, err := p.w.Write(b)
	p.t.mu.Lock()
	p.t.have += int64(k)
	p.t.mu.Unlock()
	p.t.cond.Broadcast()
	return k, err
}

func (t *transfer) setSize(size int64) {
	t.mu.Lock()
	t.size = size
	t.mu.Unlock()
	t.cond.Broadcast()
}

// swap makes w the blob readers read from, dropping an earlier attempt's.
func (t *transfer) swap(w store.Writer) {
	t.files.Lock()
	old := t.w
	t.mu.Lock()
	t.w, t.have = w, 0
	t.mu.Unlock()
	t.files.Unlock()
	if old != nil {
		old.Abort()
	}
}

func (t *transfer) finish(err error) {
	t.files.Lock()
	if t.w != nil {
		t.w.Abort() // a no-op after a commit
	}
	t.mu.Lock()
	t.done, t.err = true, err
	t.mu.Unlock()
	t.files.Unlock()
	t.cond.Broadcast()
}

// waitSize waits until the blob's size is known (or the fetch failed).
func (t *transfer) waitSize(ctx context.Context) (int64, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for t.size < 0 && !t.done && ctx.Err() == nil {
		t.cond.Wait()
	}
	if t.size < 0 {
		if t.err != nil {
			return 0, t.err
		}
		return 0, ctx.Err()
	}
	return t.size, nil
}

// wait waits for the whole fetch.
func (t *transfer) wait(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for !t.done && ctx.Err() == nil {
		t.cond.Wait()
	}
	if !t.done {
		return ctx.Err()
	}
	return t.err
}

// transferSource serves a range from a transfer in progress, waiting for
// the fetch to verify each byte before sending it.
type transferSource struct {
	n *Node
	t *transfer
}

func (s *transferSource) WriteRange(w io.Writer, off, length int64) error {
	t, end := s.t, off+length
	bufp := s.n.copyBufs.Get().(*[]byte)
	defer s.n.copyBufs.Put(bufp)
	buf := *bufp
	for off < end {
		t.mu.Lock()
		for t.have <= off && !t.done {
			t.cond.Wait()
		}
		done, err := t.done, t.err
		t.mu.Unlock()
		if done {
			if err != nil {
				return err
			}
			// Committed: the rest comes from the store, verified again.
			return (&diskSource{n: s.n, id: t.id}).WriteRange(w, off, end-off)
		}
		// Under files, have counts bytes of the current attempt's blob
		// (a retry resets it), so re-read it there.
		t.files.RLock()
		t.mu.Lock()
		have := t.have
		t.mu.Unlock()
		if t.w == nil || have <= off {
			t.files.RUnlock()
			continue
		}
		k := min(have, end, off+int64(len(buf))) - off
		m, err := t.w.ReadAt(buf[:k], off)
		t.files.RUnlock()
		if int64(m) < k {
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("read fetched bytes: %w", err)
		}
		if _, err := w.Write(buf[:k]); err != nil {
			return err
		}
		off += k
	}
	return nil
}
