package load

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"

	"dstor/shared/cid"
	"dstor/shared/identity"
	"dstor/shared/wire"
)

// wireClient returns a dstor/1 client with a fresh gateway identity that
// the cluster's CA issues, so it may store blobs on nodes directly and
// ask them for their status.
func (e *dstorEnv) wireClient() (*wire.Client, error) {
	if e.wire != nil {
		return e.wire, nil
	}
	c, err := e.clientAs(identity.RoleGateway)
	if err != nil {
		return nil, err
	}
	e.wire = c
	return c, nil
}

// target is how the wire client reaches the node with id at nodeURL.
func target(id, nodeURL string) (wire.Target, error) {
	u, err := url.Parse(nodeURL)
	if err != nil {
		return wire.Target{}, err
	}
	return wire.Target{Addr: u.Host, Peer: identity.Peer{Role: identity.RoleNode, ID: id}}, nil
}

// cacheStats returns a node's cache hit and miss counts so far.
func (e *dstorEnv) cacheStats(ctx context.Context, id, nodeURL string) (hits, misses int64, err error) {
	wc, err := e.wireClient()
	if err != nil {
		return 0, 0, err
	}
	t, err := target(id, nodeURL)
	if err != nil {
		return 0, 0, err
	}
	st, err := wc.Ping(ctx, t)
	return st.CacheHits, st.CacheMisses, err
}

// warmCache reads blob from a node until a read is served from its cache:
// the first read may come from a peer, the next from its disk, which then
// fills the cache. The node's first answer is verified against the CID.
func (e *dstorEnv) warmCache(ctx context.Context, node, nodeURL string, blob cid.CID, size int64) error {
	if k := node + "/" + blob.String(); !e.verified[k] {
		if err := getVerified(ctx, e.api.HTTP(0), nodeURL, blob, size); err != nil {
			return err
		}
		e.verified[k] = true
	}
	buf := make([]byte, readBufSize)
	for range 5 {
		h0, _, err := e.cacheStats(ctx, node, nodeURL)
		if err != nil {
			return err
		}
		if _, err := get(ctx, e.api.HTTP(0), nodeURL+"/ipfs/"+blob.String(), size, buf, false); err != nil {
			return err
		}
		h1, _, err := e.cacheStats(ctx, node, nodeURL)
		if err != nil {
			return err
		}
		if h1 > h0 {
			return nil
		}
	}
	return fmt.Errorf("%s still not served from the cache of %s after 5 reads", blob, nodeURL)
}

// cacheObserver pings the node before and after a run and describes its
// cache hits and misses in between.
func (e *dstorEnv) cacheObserver(id, nodeURL string) func(ctx context.Context) func() string {
	return func(ctx context.Context) func() string {
		wc, err := e.wireClient()
		if err != nil {
			return func() string { return "cache: " + err.Error() }
		}
		t, err := target(id, nodeURL)
		if err != nil {
			return func() string { return "cache: " + err.Error() }
		}
		before, err := wc.Ping(ctx, t)
		return func() string {
			if err != nil {
				return "cache: " + err.Error()
			}
			after, err := wc.Ping(ctx, t)
			if err != nil {
				return "cache: " + err.Error()
			}
			hits, misses := after.CacheHits-before.CacheHits, after.CacheMisses-before.CacheMisses
			return fmt.Sprintf("node cache %d hits, %d misses", hits, misses)
		}
	}
}

// clientAs returns a dstor/1 client with a fresh identity of role that
// the cluster's CA issues.
func (e *dstorEnv) clientAs(role identity.Role) (*wire.Client, error) {
	ca, err := identity.LoadOrCreateCA(filepath.Join(e.dir, "gateway", "ca"))
	if err != nil {
		return nil, err
	}
	cert, _, err := ca.NewIdentity(role, []string{"127.0.0.1"})
	if err != nil {
		return nil, err
	}
	return wire.NewClient(cert, ca.Pool()), nil
}
