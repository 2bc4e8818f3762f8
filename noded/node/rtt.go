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
// first, then by this node's own RTT to each. Live holders with no fresh
// measurement are pinged all at once, and the first to answer is taken
// without waiting for the rest (whose answers still fill the table for
// next time). Holders that do not answer go last; this node is dropped.
func (n *Node) orderHolders(ctx context.Context, hs []wire.Holder) []wire.Holder {
	hs = slices.DeleteFunc(slices.Clone(hs), func(h wire.Holder) bool { return h.ID == n.id })
	answered := make(chan bool, len(hs))
	pings := 0
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	var wg sync.WaitGroup
	for _, h := range hs {
		if _, ok := n.rtts.get(h.ID); ok || !h.Up {
			continue
		}
		addr, err := hostPort(h.URL)
		if err != nil {
			continue
		}
		pings++
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			_, err := n.client.Ping(pctx, wire.Target{Addr: addr, Peer: identity.Peer{Role: identity.RoleNode, ID: h.ID}})
			if err == nil {
				n.rtts.put(h.ID, time.Since(start))
			}
			answered <- err == nil
		}()
	}
	go func() {
		wg.Wait()
		cancel()
	}()
	for i := 0; i < pings; i++ {
		if <-answered {
			break // one measured holder is enough to start
		}
	}
	const unknown = time.Hour
	rtt := func(h wire.Holder) time.Duration {
		if r, ok := n.rtts.get(h.ID); ok {
			return r
		}
		return unknown
	}
	slices.SortStableFunc(hs, func(a, b wire.Holder) int {
		if a.Up != b.Up {
			if a.Up {
				return -1
			}
			return 1
		}
		return cmp.Compare(rtt(a), rtt(b))
	})
	return hs
}
