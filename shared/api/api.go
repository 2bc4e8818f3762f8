// Package api holds the JSON shapes of the gateway's HTTP contract (see
// DESIGN.md), shared by the gateway, the nodes that enroll with it and the
// clients and tests that read it.
package api

// BlobResponse answers POST /v1/blobs.
type BlobResponse struct {
	CID      string `json:"cid"`
	Size     int64  `json:"size"`
	Replicas int    `json:"replicas"` // verified copies now (W for a new blob)
	// Status is the pin's: "pinning" while more copies are pulled to reach
	// R, "pinned" once they are (GET /v1/pins/{cid} follows it).
	Status string `json:"status,omitempty"`
}

// Holder is a node holding a pinned blob.
type Holder struct {
	ID     string `json:"id"`
	Region string `json:"region"`
	URL    string `json:"url"`
	Status string `json:"status"` // pinning, pinned or failed
}

// PinResponse answers GET /v1/pins/{cid}.
type PinResponse struct {
	CID      string   `json:"cid"`
	Size     int64    `json:"size"`
	Status   string   `json:"status"`   // queued, pinning, pinned or failed
	Replicas int      `json:"replicas"` // the target R
	Pinned   int      `json:"pinned"`   // holders whose copy is verified and durable
	Holders  []Holder `json:"holders"`
}

// Node is one entry of GET /v1/nodes: its identity and, from its last
// answer to a probe, how it is doing.
type Node struct {
	ID            string  `json:"id"`
	Region        string  `json:"region"`
	URL           string  `json:"url"`
	State         string  `json:"state"` // "up", "suspect" (missed its last probe) or "down"
	Operator      string  `json:"operator,omitempty"`
	RTTms         float64 `json:"rtt_ms"`       // smoothed QUIC RTT from this gateway
	RTTVarms      float64 `json:"rttvar_ms"`    // its mean deviation
	Availability  float64 `json:"availability"` // EWMA of probe and request success, 0..1
	Load          int64   `json:"load"`         // in-flight requests at its last heartbeat
	Accepting     bool    `json:"accepting"`
	Draining      bool    `json:"draining,omitempty"`
	Capacity      int64   `json:"capacity"`
	Free          int64   `json:"free"`
	Blobs         int64   `json:"blobs"`
	Used          int64   `json:"used"`
	InFlight      int64   `json:"in_flight"`
	BytesServed   int64   `json:"bytes_served"`
	CacheHitRatio float64 `json:"cache_hit_ratio"`
}

// NodesResponse answers GET /v1/nodes.
type NodesResponse struct {
	Nodes []Node `json:"nodes"`
	// RegionRTT is the measured RTT in milliseconds between regions, from
	// the nodes' probes of their peers.
	RegionRTT map[string]map[string]float64 `json:"region_rtt_ms"`
}

// Error is every error body.
type Error struct {
	Error string `json:"error"`
}

// EnrollRequest is what a node sends to POST /v1/nodes/enroll.
type EnrollRequest struct {
	Token     string `json:"token"`
	PublicKey []byte `json:"public_key"` // ed25519, base64 in JSON
	Region    string `json:"region"`
	URL       string `json:"url"`
	Operator  string `json:"operator,omitempty"`
}

// EnrollAuditorRequest is what an auditd sends to POST /v1/auditors/enroll.
type EnrollAuditorRequest struct {
	Token     string `json:"token"`
	PublicKey []byte `json:"public_key"` // ed25519, base64 in JSON
}

// EnrollResponse carries the node's id and its CA-issued certificate.
type EnrollResponse struct {
	ID   string `json:"id"`
	Cert string `json:"cert"` // PEM
}
