package registry

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// postgresMigrations returns the PostgreSQL schema migrations. Migration i
// (0-based) brings the schema from version i to version i+1. Entries must
// never be edited once released; append new ones instead.
//
// The tables mirror SQLite's: times are UTC unix nanoseconds (BIGINT),
// hashes and keys BYTEA. Only plain SQL that CockroachDB also runs is used.
// Text columns keep the database's collation, so result order is fixed in
// Go, not by ORDER BY.
func postgresMigrations() []string {
	return []string{
		// Version 1: the schema of SQLite version 2.
		`
CREATE TABLE accounts (
	id         TEXT   PRIMARY KEY,
	name       TEXT   NOT NULL,
	created_at BIGINT NOT NULL
);
CREATE TABLE api_keys (
	key_hash   BYTEA  PRIMARY KEY,
	account_id TEXT   NOT NULL REFERENCES accounts(id),
	created_at BIGINT NOT NULL
);
CREATE INDEX api_keys_account ON api_keys(account_id);
CREATE TABLE enroll_tokens (
	token_hash BYTEA  PRIMARY KEY,
	created_at BIGINT NOT NULL
);
CREATE TABLE nodes (
	id         TEXT   PRIMARY KEY,
	region     TEXT   NOT NULL,
	url        TEXT   NOT NULL,
	public_key BYTEA  NOT NULL,
	operator   TEXT   NOT NULL DEFAULT '',
	joined_at  BIGINT NOT NULL
);
CREATE TABLE contents (
	cid        TEXT   PRIMARY KEY,
	size       BIGINT NOT NULL,
	status     TEXT   NOT NULL DEFAULT 'pinned'
	           CHECK (status IN ('queued', 'pinning', 'pinned', 'failed')),
	replicas   BIGINT NOT NULL DEFAULT 0,
	created_at BIGINT NOT NULL
);
CREATE TABLE pins (
	account_id TEXT   NOT NULL REFERENCES accounts(id),
	cid        TEXT   NOT NULL REFERENCES contents(cid),
	created_at BIGINT NOT NULL,
	PRIMARY KEY (account_id, cid)
);
CREATE INDEX pins_cid ON pins(cid);
CREATE TABLE holders (
	cid        TEXT   NOT NULL REFERENCES contents(cid),
	node_id    TEXT   NOT NULL REFERENCES nodes(id),
	status     TEXT   NOT NULL DEFAULT 'pinned'
	           CHECK (status IN ('pinning', 'pinned', 'failed')),
	added_at   BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (cid, node_id)
);
CREATE INDEX holders_node ON holders(node_id);
`,
		// Version 2: audit state (SQLite version 3). A holder's accrual mark
		// is accrued_at, or added_at where that is later (rows from before:
		// accrued_at 0), so no UPDATE follows the ALTERs (CockroachDB does
		// not write columns added in the same transaction).
		`
ALTER TABLE holders ADD COLUMN last_audit BIGINT NOT NULL DEFAULT 0;
ALTER TABLE holders ADD COLUMN last_outcome TEXT NOT NULL DEFAULT '';
ALTER TABLE holders ADD COLUMN accrued_at BIGINT NOT NULL DEFAULT 0;
CREATE TABLE audits (
	id         BIGSERIAL PRIMARY KEY,
	node_id    TEXT      NOT NULL REFERENCES nodes(id),
	cid        TEXT      NOT NULL,
	auditor    TEXT      NOT NULL,
	audited_at BIGINT    NOT NULL,
	outcome    TEXT      NOT NULL CHECK (outcome IN ('pass', 'fail', 'timeout', 'offline', 'unknown')),
	reason     TEXT      NOT NULL,
	latency    BIGINT    NOT NULL,
	deadline   BIGINT    NOT NULL,
	suspect    BOOLEAN   NOT NULL
);
CREATE INDEX audits_node ON audits(node_id, id);
CREATE TABLE reputations (
	node_id         TEXT             PRIMARY KEY REFERENCES nodes(id),
	alpha           DOUBLE PRECISION NOT NULL,
	beta            DOUBLE PRECISION NOT NULL,
	unknown_alpha   DOUBLE PRECISION NOT NULL,
	unknown_beta    DOUBLE PRECISION NOT NULL,
	n_audits        BIGINT           NOT NULL,
	n_passes        BIGINT           NOT NULL,
	n_fails         BIGINT           NOT NULL,
	n_timeouts      BIGINT           NOT NULL,
	n_offline       BIGINT           NOT NULL,
	n_unknown       BIGINT           NOT NULL,
	n_suspects      BIGINT           NOT NULL,
	status          TEXT             NOT NULL CHECK (status IN ('active', 'suspended', 'disqualified')),
	status_reason   TEXT             NOT NULL,
	status_at       BIGINT           NOT NULL,
	contained       TEXT             NOT NULL,
	contained_tries BIGINT           NOT NULL,
	updated_at      BIGINT           NOT NULL
);
CREATE TABLE leases (
	lease_key  TEXT   PRIMARY KEY,
	owner      TEXT   NOT NULL,
	expires_at BIGINT NOT NULL
);
CREATE TABLE ledger (
	id       BIGSERIAL        PRIMARY KEY,
	node_id  TEXT             NOT NULL REFERENCES nodes(id),
	cid      TEXT             NOT NULL,
	kind     TEXT             NOT NULL CHECK (kind IN ('storage', 'egress')),
	amount   DOUBLE PRECISION NOT NULL,
	entry_at BIGINT           NOT NULL
);
CREATE INDEX ledger_node ON ledger(node_id, entry_at);
`,
		// Version 4: egress by blob, summed per account (Usage).
		`CREATE INDEX ledger_cid ON ledger(cid);`,
		// Version 5: when the last account unpinned a CID (0: pinned).
		`ALTER TABLE contents ADD COLUMN unpinned_at BIGINT NOT NULL DEFAULT 0;`,
		// Version 6: when garbage collection last handed out an unpinned
		// CID's copies to delete (0: never), so that copies on nodes that
		// cannot be reached are retried without holding up the rest.
		`ALTER TABLE contents ADD COLUMN gc_at BIGINT NOT NULL DEFAULT 0;`,
	}
}

// migratePostgres is migrate for a pgx transaction: it creates the
// schema_version table if needed, applies every migration newer than the
// stored version and records the new version, and fails if the database
// was written by a newer schema.
func migratePostgres(ctx context.Context, tx pgx.Tx, migrations []string) error {
	if _, err := tx.Exec(ctx,
		`CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("registry: create schema_version: %w", err)
	}
	var version int
	err := tx.QueryRow(ctx, `SELECT version FROM schema_version`).Scan(&version)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		if _, err := tx.Exec(ctx, `INSERT INTO schema_version (version) VALUES (0)`); err != nil {
			return fmt.Errorf("registry: init schema_version: %w", err)
		}
	case err != nil:
		return fmt.Errorf("registry: read schema_version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("registry: database schema version %d is newer than supported version %d",
			version, len(migrations))
	}
	for v := version; v < len(migrations); v++ {
		if _, err := tx.Exec(ctx, migrations[v]); err != nil {
			return fmt.Errorf("registry: migrate to schema version %d: %w", v+1, err)
		}
	}
	if version != len(migrations) {
		if _, err := tx.Exec(ctx, `UPDATE schema_version SET version = $1`, len(migrations)); err != nil {
			return fmt.Errorf("registry: update schema_version: %w", err)
		}
	}
	return nil
}
