// Package registry is the metadata registry of dStor: accounts, API keys,
// node enrollment tokens, storage nodes and pins (which account pinned which
// content ID, and which nodes hold it), and the state of auditing: audit
// history, node reputation, work leases and the earnings ledger.
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

	LastAudit   time.Time // time of the newest recorded audit of this copy (UTC); zero if never audited
	LastOutcome string    // that audit's outcome (AuditPass, ...); "" if never audited
	AccruedAt   time.Time // storage accrual mark (UTC): when the row was added, then moved by AccrueStorage and MarkAccrual
}

// PinInfo describes a pinned CID.
type PinInfo struct {
	CID       string    // content id
	Size      int64     // content size in bytes
	Status    string    // last SetPinStatus value; StatusPinned if never set
	Replicas  int       // target number of copies (SetReplicas); 0 if never set
	CreatedAt time.Time // earliest pin of this CID by any account (UTC)
	Holders   []Holder  // every holder row, whatever its Status, ordered by NodeID
	LastAudit time.Time // the newest LastAudit over its holders; zero if none was audited
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
	// AccountPins lists an account's pins ordered by CID, those with a CID after after (to page on, pass the last
	// CID of the previous page), at most limit (limit <= 0: 100; at most 1000). Unknown account -> ErrNotFound.
	AccountPins(ctx context.Context, account, after string, limit int) ([]AccountPin, error)
	// Unpin removes the account's pin of cid. When no account pins cid any more, the CID is unpinned from now on:
	// no longer audited, repaired or found by Pin, and its copies are garbage once CollectGarbage's grace has
	// passed, unless an account pins it again first (RecordPin). orphaned tells whether that happened.
	// Unknown account, or no such pin -> ErrNotFound, nothing changed.
	Unpin(ctx context.Context, account, cid string) (orphaned bool, err error)
	// CollectGarbage looks at up to limit (<= 0: 100) CIDs unpinned before before that no account pins (checked
	// under lock), those it handed out longest ago first, in one transaction. A CID with no holder rows left is
	// removed for good (ledger and audit history are kept); the others are returned with their holders, whose
	// copies the caller deletes, dropping each holder row (RemoveHolder) once its node has deleted its copy. A
	// holder that could not be reached is handed out again on a later call.
	CollectGarbage(ctx context.Context, before time.Time, limit int) ([]Garbage, error)
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

	// RecordAudit appends a to the audit history and returns the ID it was given (a.ID is ignored; IDs grow with
	// every record). a.At zero means now. It also sets LastAudit and LastOutcome of the holder row (a.CID, a.NodeID),
	// if there is one and it holds no newer audit. See CheckAudit for what is valid.
	//
	// Errors: unknown node -> wraps ErrNotFound; an invalid audit -> error. On error nothing changes.
	RecordAudit(ctx context.Context, a Audit) (int64, error)
	// Audits returns a node's audit history, newest (highest ID) first, at most limit (limit <= 0: 100) records,
	// only those with ID < before if before > 0 (to page on, pass the last ID of the previous page).
	// Unknown node -> ErrNotFound.
	Audits(ctx context.Context, nodeID string, before int64, limit int) ([]Audit, error)

	// Reputation returns a node's reputation; a node never updated has the defaults (NewNodeRep).
	// Unknown node -> ErrNotFound.
	Reputation(ctx context.Context, nodeID string) (NodeRep, error)
	// UpdateReputation reads the node's reputation, calls f on it and writes back the result, atomically: concurrent
	// updates, from this process or others sharing the database, never lose one another's changes. f may be called
	// more than once (when the transaction is retried), each time on a fresh copy; it must not change NodeID.
	// UpdatedAt is set by the registry; StatusAt too, to now, if f changes Status without setting StatusAt.
	// It returns the reputation as written.
	//
	// Errors: unknown node -> wraps ErrNotFound; f's error -> that error, wrapped; an invalid result (see
	// CheckNodeRep) -> error. On error nothing is written.
	UpdateReputation(ctx context.Context, nodeID string, f func(*NodeRep) error) (NodeRep, error)
	// Reputations returns every node's reputation (defaults for nodes never updated), ordered by node ID.
	Reputations(ctx context.Context) ([]NodeRep, error)
	// RecordAudits records every batch in one transaction (retried as a whole on conflicts; Update may run more
	// than once): the history rows, the holder rows' last audit, the ledger and holder statuses, and each node's
	// reputation (read-modify-write inside the transaction). It returns the new reputations by node id.
	//
	// Per batch entry, in node id order: the node's reputation is read, Update is called on it (as
	// UpdateReputation's f; a nil Update leaves the reputation as it is) and written back, and then its Results
	// are read and recorded in order. Update may set the entry's Results (through the caller's slice), for the
	// outcomes that a reputation model counts. Each result is what RecordAudit does, plus the effect its flags ask
	// for on the holder row (Audit.CID, NodeID): Accrue as AccrueStorage to Audit.At; Restore and Fail as
	// MarkAccrual to Audit.At and a SetHolderStatus of StatusPinned or StatusFailed. Holder effects apply to
	// existing holder rows only: a result whose holder row is gone records its audit and changes no holder.
	// Audit.NodeID empty means the entry's NodeID; Audit.At zero means now. A node may appear in several
	// entries: they apply one after another.
	//
	// Errors: unknown node -> wraps ErrNotFound; Update's error -> that error, wrapped; an invalid reputation
	// (CheckNodeRep) or audit (CheckAudit, an Audit.NodeID other than the entry's, more than one flag set) ->
	// error. On error nothing changes.
	RecordAudits(ctx context.Context, batch []NodeAudits) (map[string]NodeRep, error)

	// TryLease takes the lease on key for owner until now+ttl if it is free, expired or already owner's (then it is
	// renewed), and reports whether owner now holds it. Leases let several auditd instances share work without
	// doing it twice. Expiry uses the clocks of the processes sharing the registry: keep ttl well above their skew.
	// Empty key or owner, or ttl <= 0 -> error.
	TryLease(ctx context.Context, key, owner string, ttl time.Duration) (bool, error)
	// ReleaseLease drops owner's lease on key; no error if owner does not hold it (another owner's lease is kept).
	ReleaseLease(ctx context.Context, key, owner string) error

	// SampleHolders returns up to n distinct (CID, holder) pairs chosen at random, each with probability
	// proportional to the CID's size, among holder rows with StatusPinned or StatusFailed (a copy that failed an
	// audit is audited again until it is dropped) on nodes that are not NodeDisqualified (weighted sampling
	// without replacement); rows still StatusPinning are not. Zero-size CIDs are never chosen. n <= 0 -> none.
	SampleHolders(ctx context.Context, n int) ([]AuditTarget, error)
	// UnderReplicated returns the pins that need repair, with their holders as Pin returns them: those whose number
	// of healthy holders (StatusPinned, on nodes not NodeDisqualified) is below minHealthy(Replicas), among pins
	// whose Status is StatusPinned or StatusFailed (queued or pinning ones are still being placed). They come most
	// missing first (minHealthy(Replicas) - healthy, then CID), at most limit (limit <= 0: 100). "Fewer than 12
	// healthy of 16" is minHealthy(16) = 12, for example func(r int) int { return r * 3 / 4 }.
	UnderReplicated(ctx context.Context, minHealthy func(replicas int) int, limit int) ([]PinInfo, error)
	// HoldersOn returns the CIDs with a holder row on the node, whatever its status, ordered.
	// Unknown node -> ErrNotFound.
	HoldersOn(ctx context.Context, nodeID string) ([]string, error)

	// AccrueStorage credits the holder (cid, nodeID) with Size x hours byte-hours for the time from its accrual
	// mark (Holder.AccruedAt) to at, if at is after the mark, moves the mark to at and returns the byte-hours
	// credited (0 if at is not after the mark: nothing changes). The credit is a ledger entry dated at.
	// Zero at -> error; unknown holder -> ErrNotFound.
	AccrueStorage(ctx context.Context, cid, nodeID string, at time.Time) (float64, error)
	// MarkAccrual moves the holder's accrual mark forward to at without credit (the node stops earning for this
	// copy from at); a mark already at or after at is kept. Zero at -> error; unknown holder -> ErrNotFound.
	MarkAccrual(ctx context.Context, cid, nodeID string, at time.Time) error
	// RecordEgress credits a node with bytes served, one ledger entry per Egress (by the blob served, CID ""
	// when unattributed), dated at (zero: now), all in one transaction. Entries of 0 bytes record nothing.
	// A negative entry -> error and nothing recorded; unknown node -> ErrNotFound.
	RecordEgress(ctx context.Context, nodeID string, served []Egress, at time.Time) error
	// Earnings sums a node's ledger entries dated in [from, to) (zero from: since the start; zero to: without end).
	// Unknown node -> ErrNotFound.
	Earnings(ctx context.Context, nodeID string, from, to time.Time) (Earnings, error)
	// Ledger returns a node's ledger entries dated in [from, to) (zero bounds as in Earnings), oldest first, at most
	// limit (limit <= 0: 100). Unknown node -> ErrNotFound.
	Ledger(ctx context.Context, nodeID string, from, to time.Time, limit int) ([]LedgerEntry, error)
	// Usage returns what an account stores (its pins and the sum of their sizes) and, from the ledger, the
	// byte-hours nodes were credited for its blobs and the bytes they served of them; a blob pinned by several
	// accounts is shared evenly between them. Unknown account -> ErrNotFound.
	Usage(ctx context.Context, account string) (Usage, error)

	// Close releases the registry's resources.
	Close() error
}
