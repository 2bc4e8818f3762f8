package wire

import (
	"context"
	"time"

	"dstor/shared/cid"
)

// Probe pings a node, asking it to measure its RTT to the given peers, and
// returns its status with the QUIC connection's smoothed RTT and mean
// deviation after the exchange (the connection's own estimate, which
// improves with every packet, not one stopwatch sample).
func (c *Client) Probe(ctx context.Context, t Target, probe []Holder) (Status, RTT, error) {
	var st Status
	if err := c.call(ctx, t, OpPing, PingRequest{Probe: probe}, &st); err != nil {
		return st, RTT{}, err
	}
	rtt, _ := c.RTT(t)
	return st, rtt, nil
}

// RTT is a connection's round-trip estimate (RFC 9002 section 5.3).
type RTT struct {
	Smoothed, Deviation, Min time.Duration
}

// RTT returns the estimate of the pooled connection to t, if there is one.
func (c *Client) RTT(t Target) (RTT, bool) {
	c.mu.Lock()
	conn := c.conns[t]
	c.mu.Unlock()
	if conn == nil || conn.Context().Err() != nil {
		return RTT{}, false
	}
	s := conn.ConnectionStats()
	return RTT{Smoothed: s.SmoothedRTT, Deviation: s.MeanDeviation, Min: s.MinRTT}, true
}

// Pull orders a node to fetch a blob from holders and keep it; it returns
// once the node's copy is verified and durable, or ctx ends.
func (c *Client) Pull(ctx context.Context, t Target, id cid.CID, size int64, holders []Holder) (PutResponse, error) {
	var resp PutResponse
	s, r, err := c.open(ctx, t, OpPull, PullRequest{CID: id, Size: size, Holders: holders})
	if err != nil {
		return resp, err
	}
	s.Close()
	defer s.CancelRead(0)
	dl := time.Now().Add(PullTimeout(size))
	if cd, ok := ctx.Deadline(); ok && cd.Before(dl) {
		dl = cd
	}
	s.SetReadDeadline(dl)
	return resp, readResponse(r, &resp)
}

// PullTimeout is how long a pull of size bytes may take: a fetch across
// the world at no less than 16 MiB/s, then the commit.
func PullTimeout(size int64) time.Duration {
	return ResponseTimeout + time.Duration(size>>24)*time.Second + CommitTimeout(size)
}
