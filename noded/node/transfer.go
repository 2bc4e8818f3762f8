package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
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
// Beside the gateway it asks its nearest measured peer for the blob at
// once: one that has it and answers first saves the lookup's round trip
// (a peer near the reader, which fetched a popular blob before, is often
// nearer than the gateway), and serves the blob with no gateway in reach.
// The size such a peer gives is checked only as its groups verify: one
// that lies about it can cut a response short, never pass a bad byte, and
// is reported.
func (n *Node) fetch(ctx context.Context, t *transfer) error {
	temp := n.tempBlobs()
	defer temp.close()
	var near *guess
	if t.holders == nil {
		near = n.askNearest(ctx, t.id)
	}
	defer near.close()
	type listed struct {
		hr  wire.HoldersResponse
		err error
	}
	lc := make(chan listed, 1)
	go func() {
		hr, err := n.holders(ctx, t)
		lc <- listed{hr, err}
	}()
	var errs []error
	failed := func(h wire.Holder, err error) {
		n.log.Warn("peer fetch failed", "cid", t.id, "peer", h.ID, "err", err)
		if errors.Is(err, proof.ErrMismatch) {
			n.background(func(ctx context.Context) { n.report(ctx, t.id, h.ID, err.Error()) })
		}
		errs = append(errs, fmt.Errorf("%s: %w", h.ID, err))
	}
	var l listed
	answered := near.answered()
wait:
	for {
		select {
		case <-answered:
			answered = nil
			if near.a.err != nil {
				continue // not there: the gateway's list decides
			}
			a := near.take()
			t.setSize(a.body.Size)
			err := n.streamFrom(ctx, t, temp, a, a.body.Size)
			if err == nil {
				n.log.Info("fetched blob from peer", "cid", t.id, "peer", a.h.ID, "size", a.body.Size, "neighbour", true)
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			failed(a.h, err)
		case l = <-lc:
			break wait
		}
	}
	if l.err != nil {
		return l.err
	}
	t.setSize(l.hr.Size)
	// The peer asked already goes first if it holds the blob: its answer
	// is on its way, and a second holder sending at once would only
	// compete with it.
	hs := n.orderHolders(ctx, l.hr.Holders)
	if i := slices.IndexFunc(hs, func(h wire.Holder) bool { return near.is(h.ID) }); i > 0 {
		h := hs[i]
		copy(hs[1:i+1], hs[:i])
		hs[0] = h
	}
	for _, h := range hs {
		var a asked
		switch {
		case !near.is(h.ID):
			a = n.ask(ctx, t.id, h)
		case near.used:
			continue // streamed from above
		default:
			if a = near.take(); a.err != nil {
				a = n.ask(ctx, t.id, h)
			}
		}
		err := a.err
		if err == nil {
			err = n.streamFrom(ctx, t, temp, a, l.hr.Size)
		}
		if err == nil {
			n.log.Info("fetched blob from peer", "cid", t.id, "peer", h.ID, "size", l.hr.Size)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		failed(h, err)
	}
	if len(errs) == 0 {
		return store.ErrNotFound
	}
	return errors.Join(errs...)
}

// guess is a fetch's ask of the nearest peer this node has measured, in
// flight or answered. One peer, not more: two that both hold the blob
// would both start sending, and one's bytes would be thrown away.
type guess struct {
	id   string
	done chan struct{}
	a    asked // once done
	used bool  // taken to stream from
}

// askNearest asks the nearest measured peer for blob id, or returns nil.
func (n *Node) askNearest(ctx context.Context, id cid.CID) *guess {
	h, ok := n.rtts.nearest()
	if !ok {
		return nil
	}
	g := &guess{id: h.ID, done: make(chan struct{})}
	go func() {
		g.a = n.ask(ctx, id, h)
		close(g.done)
	}()
	return g
}

// answered is closed when the answer is in (nil, never, for no guess).
func (g *guess) answered() <-chan struct{} {
	if g == nil {
		return nil
	}
	return g.done
}

// is reports whether the peer id was asked.
func (g *guess) is(id string) bool { return g != nil && g.id == id }

// take waits for the answer and marks it used.
func (g *guess) take() asked {
	<-g.done
	g.used = true
	return g.a
}

// close abandons the answer if no one streamed from it.
func (g *guess) close() {
	if g == nil || g.used {
		return
	}
	go func() {
		<-g.done
		if g.a.err == nil {
			g.a.body.Close()
		}
	}()
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

// asked is a peer's answer to a fetch: the bytes to come and their lead,
// or why not.
type asked struct {
	h    wire.Holder
	t    wire.Target
	body *wire.Body
	lead wire.Lead
	err  error
}

// ask sends peer h the fetch of blob id. The answer's frame and lead must
// come within peerAnswer; the bytes after them are paced by peerStall per
// read.
func (n *Node) ask(ctx context.Context, id cid.CID, h wire.Holder) asked {
	addr, err := hostPort(h.URL)
	if err != nil {
		return asked{h: h, err: err}
	}
	target := wire.Target{Addr: addr, Peer: identity.Peer{Role: identity.RoleNode, ID: h.ID}}
	actx, cancel := context.WithTimeout(ctx, peerAnswer)
	defer cancel()
	body, lead, err := n.client.Fetch(actx, target, id, outboardHead)
	return asked{h: h, t: target, body: body, lead: lead, err: err}
}

// tempBlobs hands a fetch's attempts their temp blobs, the first made
// while the first requests are out.
type tempBlobs struct {
	n     *Node
	first chan created
}

type created struct {
	w   store.Writer
	err error
}

func (n *Node) tempBlobs() *tempBlobs {
	tb := &tempBlobs{n: n, first: make(chan created, 1)}
	go func() {
		w, err := n.store.CreateVerified()
		tb.first <- created{w, err}
	}()
	return tb
}

func (tb *tempBlobs) next() (store.Writer, error) {
	if tb.first != nil {
		c := <-tb.first
		tb.first = nil
		return c.w, c.err
	}
	return tb.n.store.CreateVerified()
}

// close drops the first temp blob if no attempt took it.
func (tb *tempBlobs) close() {
	if tb.first != nil {
		if c := <-tb.first; c.err == nil {
			c.w.Abort()
		}
	}
}

// streamFrom streams the blob of size bytes from a peer's answer into a
// new temp blob. The answer leads with the head of the outboard and the
// chunk values of the first group, so the first KiB is checked and out one
// round trip after the request, without waiting for its whole group to
// cross the network (a 16 KiB group does not fit the sender's first burst
// of packets, and its pacer holds the rest back at least a millisecond).
// The rest of the outboard is asked for once the head is in, on a stream
// of its own, so its megabyte does not hold up the first bytes. The
// outboard is drained into memory as fast as it arrives, whatever the
// verifier needs yet: unread, it would hold the connection's flow-control
// credit and stall the bytes that verification waits for. Verified bytes
// reach the temp blob (and the waiting readers) in batches that grow from
// one group to a few hundred KiB.
func (n *Node) streamFrom(ctx context.Context, t *transfer, temp *tempBlobs, a asked, size int64) error {
	body, lead := a.body, a.lead
	defer body.Close()
	w, err := temp.next()
	if err != nil {
		return err
	}
	t.swap(w)
	want := proof.OutboardSize(size)
	if body.Size != size || body.Length != size || int64(len(lead.Outboard)) > want {
		return fmt.Errorf("%w: peer has a %d-byte blob and sends %d bytes of it and %d of outboard, want %d", proof.ErrMismatch, body.Size, body.Length, len(lead.Outboard), size)
	}
	got := int64(len(lead.Outboard))
	tree := drain(want, lead.Outboard, func() (*wire.Body, error) {
		rest, err := n.client.OutboardRange(ctx, a.t, t.id, got, 0)
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
	dst, src := &progress{t: t, w: w}, &stallReader{body}
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
	return w.CommitVerified(t.id, ob)
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
