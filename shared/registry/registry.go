// Package registry is the metadata registry of dStor: accounts, API keys,
// node enrollment tokens, storage nodes and pins (which account pinned which
// content ID, and which nodes hold it).
//
// The Registry interface is backend-neutral. OpenSQLite provides an embedded
// SQLite implementation (the default, no server); OpenPostgres a PostgreSQL
// one (pgx) for several gateways and auditds sharing one database, whose SQL
// CockroachDB also runs. Open picks one from a target string. Both pass one
// conformance test suite; package pgtest starts real PostgreSQL servers for
// tests.
package registry

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned (possibly wrapped; test with errors.Is) when a
// requested or referenced account, key, token, node or pin does not exist.
var ErrNotFound = errors.New("registry: not found")

// ErrSizeMismatch is returned (possibly wrapped; test with errors.Is) by
// RecordPin when the given size differs from the size already recorded for
// the CID.
var ErrSizeMismatch = errors.New("registry: size mismatch")

// Node is a storage node registered with the network.
type Node struct {
	ID        string    // stable id derived from the node's ed25519 key
	Region    string    // region the node is located in
	URL       string    // https://host:port, also its QUIC address
	PublicKey []byte    // ed25519 public key
	Operator  string    // who runs the node; may be empty
	JoinedAt  time.Time // set by the registry on first insert (UTC); kept on update
}

// Holder is a node that holds a copy of a pinned CID.
type Holder struct {
	NodeID    string    // id of the holding node
	Region    string    // region of the holding node
	URL       string    // URL of the holding node
	Status    string    // StatusPinning, StatusPinned or StatusFailed
	UpdatedAt time.Time // when Status was last set (UTC)
}

// PinInfo describes a pinned CID.
type PinInfo struct {
	CID       string    // content id
	Size      int64     // content size in bytes
	Status    string    // last SetPinStatus value; StatusPinned if never set
	Replicas  int       // target number of copies (SetReplicas); 0 if never set
	CreatedAt time.Time // earliest pin of this CID by any account (UTC)
	Holders   []Holder  // every holder row, whatever its Status, ordered by NodeID
}

// Registry is the dStor metadata registry. Implementations are safe for
// concurrent use by many goroutines.
type Registry interface {
	// CreateAccount makes a new account with the given display name and returns its id (a random string like "acct_<hex>").
	CreateAccount(ctx context.Context, name string) (string, error)
	// AddAPIKey stores the SHA-256 hash of an API key for an account. Unknown account -> ErrNotFound.
	// Adding the same hash to the same account again is a no-op; adding a hash
	// that already belongs to another account is an error.
	AddAPIKey(ctx context.Context, account string, keyHash [32]byte) error
	// AccountByKey returns the account owning the key hash, or ErrNotFound.
	AccountByKey(ctx context.Context, keyHash [32]byte) (string, error)
	// AddEnrollToken stores the hash of a node enrollment token (idempotent).
	AddEnrollToken(ctx context.Context, tokenHash [32]byte) error
	// CheckEnrollToken returns nil if the hash is a known token, else ErrNotFound.
	CheckEnrollToken(ctx context.Context, tokenHash [32]byte) error
	// UpsertNode inserts or updates a node by ID (region, url, public key, operator updated; JoinedAt kept).
	// n.JoinedAt is ignored: the registry sets it on first insert.
	UpsertNode(ctx context.Context, n Node) error
	// Nodes lists all nodes ordered by ID.
	Nodes(ctx context.Context) ([]Node, error)
	// RecordPin atomically (one transaction) records that account pinned cid of size bytes, held by the given node ids
	// (holders are added to the CID's holder set, idempotently, as committed copies: their Status becomes StatusPinned,
	// whatever it was). created is false if this account already had this pin.
	// A CID's size must be the same for every pin: a mismatch is an error and changes nothing. Unknown node id -> error, nothing changed.
	//
	// Errors: unknown account or node -> wraps ErrNotFound; size mismatch -> wraps ErrSizeMismatch.
	RecordPin(ctx context.Context, account, cid string, size int64, holders []string) (created bool, err error)
	// Pin returns the CID's pin info with its holders joined with node region/url; ErrNotFound if no account pins it.
	Pin(ctx context.Context, cid string) (PinInfo, error)
	// SetReplicas sets the target number of copies r (>= 0) of a recorded CID. Unknown CID -> ErrNotFound.
	SetReplicas(ctx context.Context, cid string, r int) error
	// SetPinStatus sets the CID's PinInfo.Status (StatusQueued, StatusPinning, StatusPinned or StatusFailed).
	// Unknown CID -> ErrNotFound; any other status is an error and changes nothing.
	SetPinStatus(ctx context.Context, cid, status string) error
	// SetHolderStatus inserts or updates the holder row (cid, nodeID) with status (StatusPinning, StatusPinned or
	// StatusFailed) and sets its UpdatedAt. Unknown CID or node -> ErrNotFound; any other status is an error;
	// on error nothing changes.
	SetHolderStatus(ctx context.Context, cid, nodeID, status string) error
	// RemoveHolder deletes the holder row (cid, nodeID), whatever its status; no error if there is none.
	// Unknown CID -> ErrNotFound.
	RemoveHolder(ctx context.Context, cid, nodeID string) error
	// Close releases the registry's resources.
	Close() error
}
