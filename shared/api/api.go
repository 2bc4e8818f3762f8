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
	// LastAudit and LastOutcome are this copy's latest audit (RFC 3339;
	// pass, fail, timeout, offline or unknown), empty if none was yet.
	LastAudit   string `json:"last_audit,omitempty"`
	LastOutcome string `json:"last_outcome,omitempty"`
}

// PinResponse answers GET /v1/pins/{cid}.
type PinResponse struct {
	CID      string `json:"cid"`
	Size     int64  `json:"size"`
	Status   string `json:"status"`   // queued, pinning, pinned or failed
	Replicas int    `json:"replicas"` // the target R
	Pinned   int    `json:"pinned"`   // holders whose copy is verified and durable
	// LastAudit is when any copy was last audited (RFC 3339), empty if
	// none was yet.
	LastAudit string   `json:"last_audit,omitempty"`
	Holders   []Holder `json:"holders"`
}

// AccountPin is one entry of GET /v1/pins.
type AccountPin struct {
	CID      string `json:"cid"`
	Size     int64  `json:"size"`
	Status   string `json:"status"`   // queued, pinning, pinned or failed
	Replicas int    `json:"replicas"` // the target R
	PinnedAt string `json:"pinned_at"`
}

// PinsResponse answers GET /v1/pins: a page of the account's pins by CID.
type PinsResponse struct {
	Pins []AccountPin `json:"pins"`
	Next string       `json:"next,omitempty"` // ?after= for the next page; empty on the last
}

// UnpinResponse answers DELETE /v1/pins/{cid}.
type UnpinResponse struct {
	CID      string `json:"cid"`
	Unpinned bool   `json:"unpinned"`
	// PinnedByOthers: other accounts still pin the blob, so it stays.
	// Otherwise its copies are deleted after the unpin grace.
	PinnedByOthers bool `json:"pinned_by_others"`
}

// Node is one entry of GET /v1/nodes: its identity and, from its last
// answer to a probe, how it is doing.
type Node struct {
	ID            string  `json:"id"`
	Region        string  `json:"region"`
	URL           string  `json:"url"`
	State         string  `json:"state"` // "up", "suspect" (missed its last probe) or "down"
	Operator      string  `json:"operator,omitempty"`
	Standing      string  `json:"standing,omitempty"` // auditd's verdict: active, suspended or disqualified
	RTTms         float64 `json:"rtt_ms"`             // smoothed QUIC RTT from this gateway
	RTTVarms      float64 `json:"rttvar_ms"`          // its mean deviation
	Availability  float64 `json:"availability"`       // EWMA of probe and request success, 0..1
	Load          int64   `json:"load"`               // in-flight requests at its last heartbeat
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

// Reputation is a node's standing from its audits.
type Reputation struct {
	Status        string  `json:"status"` // active, suspended or disqualified
	StatusReason  string  `json:"status_reason,omitempty"`
	StatusAt      string  `json:"status_at,omitempty"`
	Score         float64 `json:"score"`         // audit score; disqualified under 0.96
	UnknownScore  float64 `json:"unknown_score"` // unknown-error score; suspended under 0.6
	Audits        int64   `json:"audits"`
	Passes        int64   `json:"passes"`
	Fails         int64   `json:"fails"`
	Timeouts      int64   `json:"timeouts"`
	Offline       int64   `json:"offline"`
	Unknown       int64   `json:"unknown"`
	RelaySuspects int64   `json:"relay_suspects"`
	Contained     string  `json:"contained,omitempty"` // CID being re-asked after a timeout
}

// Audit is one challenge's recorded outcome.
type Audit struct {
	ID           int64   `json:"id"`
	CID          string  `json:"cid"`
	Auditor      string  `json:"auditor,omitempty"`
	At           string  `json:"at"`
	Outcome      string  `json:"outcome"` // pass, fail, timeout, offline or unknown
	Reason       string  `json:"reason,omitempty"`
	LatencyMS    float64 `json:"latency_ms"`
	DeadlineMS   float64 `json:"deadline_ms"`
	RelaySuspect bool    `json:"relay_suspect,omitempty"`
}

// AuditsResponse answers GET /v1/nodes/{id}/audits.
type AuditsResponse struct {
	Node       string     `json:"node"`
	Reputation Reputation `json:"reputation"`
	Audits     []Audit    `json:"audits"`
}

// EarningsResponse answers GET /v1/nodes/{id}/earnings.
type EarningsResponse struct {
	Node                   string  `json:"node"`
	From                   string  `json:"from"`
	To                     string  `json:"to"`
	ByteHours              float64 `json:"byte_hours"` // of pins whose latest audit passed
	EgressBytes            int64   `json:"egress_bytes"`
	StorageUSD             float64 `json:"storage_usd"`
	EgressUSD              float64 `json:"egress_usd"`
	TotalUSD               float64 `json:"total_usd"`
	StoragePricePerTBMonth float64 `json:"storage_price_per_tb_month"`
	EgressPricePerTB       float64 `json:"egress_price_per_tb"`
}

// UsageResponse answers GET /v1/account/usage.
type UsageResponse struct {
	Account                string  `json:"account"`
	Pins                   int64   `json:"pins"`
	StoredBytes            int64   `json:"stored_bytes"`
	ReplicaByteHours       float64 `json:"replica_byte_hours"` // credited to nodes for its blobs (ledger)
	EgressBytes            int64   `json:"egress_bytes"`       // served of its blobs (ledger)
	StorageUSDPerMonth     float64 `json:"storage_usd_per_month"`
	EgressUSD              float64 `json:"egress_usd"`
	StoragePricePerTBMonth float64 `json:"storage_price_per_tb_month"`
	EgressPricePerTB       float64 `json:"egress_price_per_tb"`
}
