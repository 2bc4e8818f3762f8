package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"time"

	"lukechampine.com/blake3/bao"

	"dstor/noded/store"
	"dstor/shared/cid"
	"dstor/shared/identity"
	"dstor/shared/wire"
)

// fetchTimeout bounds one peer fetch; holdersTimeout the gateway's answer.
const (
	fetchTimeout   = 10 * time.Minute
	holdersTimeout = 5 * time.Second
)

// fetch gets a blob this node lacks from a peer that holds it, verifying
// every 16 KiB group against the Bao tree and the CID while it streams,
// and keeps it. Concurrent misses for one CID share one fetch.
func (n *Node) fetch(ctx context.Context, id cid.CID) error {
	ch := n.fetches.DoChan(id.String(), func() (any, error) {
		// Detached from any one reader: others may be waiting on it.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
		defer cancel()
		return nil, n.fetchAny(fctx, id)
	})
	select {
	case res := <-ch:
		return res.Err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (n *Node) fetchAny(ctx context.Context, id cid.CID) error {
	if _, ok := n.store.Has(id); ok {
		return nil
	}
	hctx, cancel := context.WithTimeout(ctx, holdersTimeout)
	hr, err := n.client.Holders(hctx, n.gateway, id)
	cancel()
	if errors.Is(err, wire.ErrNotFound) {
		return store.ErrNotFound
	} else if err != nil {
		return fmt.Errorf("ask gateway for holders: %w", err)
	}
	holders := hr.Holders
	// Spread load over live holders; those the gateway sees down go last.
	live := 0
	for live < len(holders) && holders[live].Up {
		live++
	}
	rand.Shuffle(live, func(i, j int) { holders[i], holders[j] = holders[j], holders[i] })
	var errs []error
	for _, h := range holders {
		if h.ID == n.id {
			continue
		}
		u, err := url.Parse(h.URL)
		if err != nil {
			continue
		}
		t := wire.Target{Addr: u.Host, Peer: identity.Peer{Role: identity.RoleNode, ID: h.ID}}
		err = n.fetchFrom(ctx, t, id, hr.Size)
		if err == nil {
			n.log.Info("fetched blob from peer", "cid", id, "peer", h.ID, "size", hr.Size)
			return nil
		}
		n.log.Warn("peer fetch failed", "cid", id, "peer", h.ID, "err", err)
		errs = append(errs, fmt.Errorf("%s: %w", h.ID, err))
	}
	if len(errs) == 0 {
		return store.ErrNotFound
	}
	return errors.Join(errs...)
}

// fetchFrom streams one blob from one peer into the store.
func (n *Node) fetchFrom(ctx context.Context, t wire.Target, id cid.CID, size int64) error {
	ob, err := n.client.Outboard(ctx, t, id)
	if err != nil {
		return err
	}
	want := int64(bao.EncodedSize(int(size), store.Group, true))
	if ob.Size != size || ob.Length != want {
		ob.Close()
		return fmt.Errorf("peer announced a %d-byte outboard of a %d-byte blob, want %d of %d", ob.Length, ob.Size, want, size)
	}
	tree := make([]byte, want)
	_, err = io.ReadFull(ob, tree)
	ob.Close()
	if err != nil {
		return fmt.Errorf("read outboard: %w", err)
	}
	body, err := n.client.Get(ctx, t, id, 0, -1)
	if err != nil {
		return err
	}
	defer body.Close()
	if body.Size != size {
		return fmt.Errorf("peer has %d bytes, registry says %d", body.Size, size)
	}
	w, err := n.store.Create()
	if err != nil {
		return err
	}
	ok, err := bao.Decode(w, body, bytes.NewReader(tree), store.Group, id.Digest())
	if err != nil || !ok {
		w.Abort()
		if err == nil {
			err = store.ErrHashMismatch
		}
		return fmt.Errorf("verify stream: %w", err)
	}
	return w.Commit(id, size)
}
