package wire

import "dstor/shared/cid"

// Status is a node's answer to a ping: who it is and how it is doing.
type Status struct {
	ID          string `json:"id"`
	Region      string `json:"region"`
	Capacity    int64  `json:"capacity"`  // bytes of the store's filesystem
	Free        int64  `json:"free"`      // bytes free on it
	Reserve     int64  `json:"reserve"`   // free bytes the node keeps back
	Accepting   bool   `json:"accepting"` // Free is above Reserve: takes new blobs
	Blobs       int64  `json:"blobs"`     // blobs held
	Used        int64  `json:"used"`      // bytes of blobs held
	InFlight    int64  `json:"in_flight"` // HTTP reads being served
	BytesServed int64  `json:"bytes_served"`
	CacheHits   int64  `json:"cache_hits"`
	CacheMisses int64  `json:"cache_misses"`
	Operator    string `json:"operator,omitempty"` // who runs the node
	Draining    bool   `json:"draining,omitempty"` // serves reads, takes no new pins
	// Peers are the node's own RTT measurements to the peers a gateway
	// asked it to probe (PingRequest.Probe): how far regions are apart.
	Peers []PeerRTT `json:"peers,omitempty"`
}

// PingRequest is a probe. Probe names peers the node should measure its
// RTT to in the background and report in a later Status.Peers.
type PingRequest struct {
	Probe []Holder `json:"probe,omitempty"`
}

// PeerRTT is one node-to-peer RTT measurement.
type PeerRTT struct {
	ID     string  `json:"id"`
	Region string  `json:"region"`
	RTTms  float64 `json:"rtt_ms"` // QUIC smoothed RTT
}

// PullRequest orders a node to fetch a blob from its holders (the
// peer-fetch path), verify it and keep it. The answer (a PutResponse)
// comes once the copy is durable.
type PullRequest struct {
	CID     cid.CID  `json:"cid"`
	Size    int64    `json:"size"`
	Holders []Holder `json:"holders"`
}

// HitRatio is the hot cache's hit ratio so far (0 with no lookups).
func (s Status) HitRatio() float64 {
	if s.CacheHits+s.CacheMisses == 0 {
		return 0
	}
	return float64(s.CacheHits) / float64(s.CacheHits+s.CacheMisses)
}

// Report tells a gateway that a node's copy of a blob failed verification
// (OpReport): the reporter's own copy, or a peer's it fetched.
type Report struct {
	CID    cid.CID `json:"cid"`
	Node   string  `json:"node"`
	Reason string  `json:"reason"`
}

// PutRequest opens an upload. Size is the announced length, or -1 when the
// sender does not know it yet; a known size that the chunks do not match
// fails the put.
type PutRequest struct {
	Size int64 `json:"size"`
}

// PutTrailer follows the last chunk: the CID the sender computed. The
// receiver commits only if its own digest matches.
type PutTrailer struct {
	CID cid.CID `json:"cid"`
}

// PutResponse confirms a durable commit.
type PutResponse struct {
	CID  cid.CID `json:"cid"`
	Size int64   `json:"size"`
}

// GetRequest asks for Length bytes at Offset; Length -1 means to the end.
// A peer fetch asks for more to come first, so one answer brings what
// verifying its first bytes needs: Outboard, when above zero, asks for up
// to that many bytes from the start of the blob's outboard tree; Chunks,
// for a range from offset 0 of a blob longer than one group, asks for the
// chaining values of the first group's chunks (proof.ChunkCVs), so the
// fetch can release that group a chunk at a time.
type GetRequest struct {
	CID      cid.CID `json:"cid"`
	Offset   int64   `json:"offset"`
	Length   int64   `json:"length"`
	Outboard int64   `json:"outboard,omitempty"`
	Chunks   bool    `json:"chunks,omitempty"`
}

// GetResponse precedes the range's bytes: Size is the whole blob's length,
// Length the number of bytes of the range. Before them come Outboard bytes
// of the outboard's head and then Chunks bytes of chunk values, when the
// request asked for them (Outboard is fewer than asked when the tree is
// smaller; Chunks is 0 or proof.ChunkCVsSize).
type GetResponse struct {
	Size     int64 `json:"size"`
	Length   int64 `json:"length"`
	Outboard int64 `json:"outboard,omitempty"`
	Chunks   int64 `json:"chunks,omitempty"`
}

// BlobRequest names one blob (OpHas, OpHolders; OpOutboard takes it too).
type BlobRequest struct {
	CID cid.CID `json:"cid"`
}

// OutboardRequest asks for a blob's outboard tree (OpOutboard): Length
// bytes of it at Offset, where Length 0 (or leaving both out) means to the
// end. A peer fetch asks for the head of the tree first, which the first
// bytes need, so the rest does not hold them up on the connection.
type OutboardRequest struct {
	CID    cid.CID `json:"cid"`
	Offset int64   `json:"offset,omitempty"`
	Length int64   `json:"length,omitempty"`
}

// OutboardResponse precedes the outboard bytes: Size is the blob's length,
// Length the number of outboard bytes that follow.
type OutboardResponse = GetResponse

// HasResponse answers OpHas.
type HasResponse struct {
	Has  bool  `json:"has"`
	Size int64 `json:"size"`
}

// Holder is a node that holds a blob.
type Holder struct {
	ID     string `json:"id"`
	Region string `json:"region"`
	URL    string `json:"url"`
	Up     bool   `json:"up"` // the gateway's probes see it live
}

// HoldersResponse answers OpHolders; live holders come first.
type HoldersResponse struct {
	Size    int64    `json:"size"`
	Holders []Holder `json:"holders"`
}

// ServedReport answers OpServed: the bytes a node served of each blob
// since the previous OpServed, and the bytes it could not attribute to a
// blob (it counts a bounded number of blobs between two reports). Taking
// the report resets the counts: the one auditor that holds the node's
// ledger lease takes it, and credits it once.
type ServedReport struct {
	Blobs []BlobBytes `json:"blobs,omitempty"`
	Other int64       `json:"other,omitempty"`
}

// BlobBytes is a count of bytes of one blob.
type BlobBytes struct {
	CID   cid.CID `json:"cid"`
	Bytes int64   `json:"bytes"`
}

// DeleteRequest orders a node to delete its copy of a blob no account
// pins any more, unless the copy was committed (or the same bytes
// arrived again) at or after Before (unix nanoseconds): a copy that new
// may belong to an upload whose pin the sender has not seen.
type DeleteRequest struct {
	CID    cid.CID `json:"cid"`
	Before int64   `json:"before"`
}

// DeleteResponse tells whether the copy was deleted (false: kept, being
// newer than Before). A node without the blob answers CodeNotFound.
type DeleteResponse struct {
	Deleted bool `json:"deleted"`
}
