package node

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"dstor/shared/identity"
	"dstor/shared/wire"
)

// rttTTL is how long a measured RTT to a peer is trusted.
const rttTTL = time.Minute

// rttTable holds this node's own RTT measurements to its peers.
type rttTable struct {
	mu sync.Mutex
	m  map[string]rttSample
}

type rttSample struct {
	rtt time.Duration
	at  time.Time
}

func (t *rttTable) get(id string) (time.Duration, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.m[id]
	return s.rtt, ok && time.Since(s.at) < rttTTL
}

func (t *rttTable) put(id string, rtt time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = make(map[string]rttSample)
	}
	t.m[id] = rttSample{rtt, time.Now()}
}

// orderHolders sorts holders for a fetch: those the gateway sees live
// first, then by this node's own RTT to each, measured with a ping where
// no fresh measurement exists (all at once, bounded by a second). Holders
// that do not answer go last. This node itself is dropped.
func (n *Node) orderHolders(ctx context.Context, hs []wire.Holder) []wire.Holder {
	hs = slices.DeleteFunc(slices.Clone(hs), func(h wire.Holder) bool { return h.ID == n.id })
	const unknown = time.Hour
	rtt := make([]time.Duration, len(hs))
	var wg sync.WaitGroup
	pctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	for i, h := range hs {
		if r, ok := n.rtts.get(h.ID); ok {
			rtt[i] = r
			continue
		}
		rtt[i] = unknown
		if !h.Up {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			addr, err := hostPort(h.URL)
			if err != nil {
				return
			}
			start := time.Now()
			if _, err := n.client.Ping(pctx, wire.Target{Addr: addr, Peer: identity.Peer{Role: identity.RoleNode, ID: h.ID}}); err == nil {
				rtt[i] = time.Since(start)
				n.rtts.put(h.ID, rtt[i])
			}
		}()
	}
	wg.Wait()
	idx := make([]int, len(hs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		if hs[a].Up != hs[b].Up {
			if hs[a].Up {
				return -1
			}
			return 1
		}
		return cmp.Compare(rtt[a], rtt[b])
	})
	out := make([]wire.Holder, len(hs))
	for i, j := range idx {
		out[i] = hs[j]
	}
	return out
}
