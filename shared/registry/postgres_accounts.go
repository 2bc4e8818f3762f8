package registry

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// CreateAccount makes a new account with the given display name and returns its id.
func (p *Postgres) CreateAccount(ctx context.Context, name string) (string, error) {
	id, err := newAccountID()
	if err != nil {
		return "", err
	}
	err = pgRetry(ctx, func() error {
		_, err := p.pool.Exec(ctx,
			`INSERT INTO accounts (id, name, created_at) VALUES ($1, $2, $3)`,
			id, name, nowNanos())
		return err
	})
	if err != nil {
		return "", fmt.Errorf("registry: create account: %w", err)
	}
	return id, nil
}

// AddAPIKey stores the SHA-256 hash of an API key for an account. Unknown account -> ErrNotFound.
func (p *Postgres) AddAPIKey(ctx context.Context, account string, keyHash [32]byte) error {
	err := p.tx(ctx, func(tx pgx.Tx) error {
		if err := pgAccountExists(ctx, tx, account); err != nil {
			return err
		}
		// Insert unless the hash is known (racing inserts wait for each
		// other here), then look at whoever owns it.
		if _, err := tx.Exec(ctx,
			`INSERT INTO api_keys (key_hash, account_id, created_at) VALUES ($1, $2, $3)
			 ON CONFLICT (key_hash) DO NOTHING`,
			keyHash[:], account, nowNanos()); err != nil {
			return err
		}
		var owner string
		if err := tx.QueryRow(ctx,
			`SELECT account_id FROM api_keys WHERE key_hash = $1`, keyHash[:]).Scan(&owner); err != nil {
			return err
		}
		if owner != account {
			return errors.New("key hash already belongs to another account")
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("registry: add api key: %w", err)
	}
	return nil
}

// AccountByKey returns the account owning the key hash, or ErrNotFound.
func (p *Postgres) AccountByKey(ctx context.Context, keyHash [32]byte) (string, error) {
	var account string
	err := pgRetry(ctx, func() error {
		return p.pool.QueryRow(ctx,
			`SELECT account_id FROM api_keys WHERE key_hash = $1`, keyHash[:]).Scan(&account)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("registry: api key: %w", ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("registry: account by key: %w", err)
	}
	return account, nil
}

// AddEnrollToken stores the hash of a node enrollment token (idempotent).
func (p *Postgres) AddEnrollToken(ctx context.Context, tokenHash [32]byte) error {
	err := pgRetry(ctx, func() error {
		_, err := p.pool.Exec(ctx,
			`INSERT INTO enroll_tokens (token_hash, created_at) VALUES ($1, $2)
			 ON CONFLICT (token_hash) DO NOTHING`,
			tokenHash[:], nowNanos())
		return err
	})
	if err != nil {
		return fmt.Errorf("registry: add enroll token: %w", err)
	}
	return nil
}

// CheckEnrollToken returns nil if the hash is a known token, else ErrNotFound.
func (p *Postgres) CheckEnrollToken(ctx context.Context, tokenHash [32]byte) error {
	var one int
	err := pgRetry(ctx, func() error {
		return p.pool.QueryRow(ctx,
			`SELECT 1 FROM enroll_tokens WHERE token_hash = $1`, tokenHash[:]).Scan(&one)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("registry: enroll token: %w", ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("registry: check enroll token: %w", err)
	}
	return nil
}

// pgQuerier is a pool or a transaction.
type pgQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// pgExists returns nil if query (a SELECT 1 ... WHERE ... = $1) finds a
// row for key, and a wrapped ErrNotFound naming what and key if not.
func pgExists(ctx context.Context, tx pgQuerier, what, query, key string) error {
	var one int
	err := tx.QueryRow(ctx, query, key).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s %q: %w", what, key, ErrNotFound)
	}
	return err
}

// pgAccountExists returns nil if account exists, a wrapped ErrNotFound if not.
func pgAccountExists(ctx context.Context, tx pgQuerier, account string) error {
	return pgExists(ctx, tx, "account", `SELECT 1 FROM accounts WHERE id = $1`, account)
}

// pgContentExists returns nil if the CID was recorded, a wrapped ErrNotFound if not.
func pgContentExists(ctx context.Context, tx pgx.Tx, cid string) error {
	return pgExists(ctx, tx, "cid", `SELECT 1 FROM contents WHERE cid = $1`, cid)
}

// pgNodeExists returns nil if the node exists, a wrapped ErrNotFound if not.
func pgNodeExists(ctx context.Context, tx pgQuerier, id string) error {
	return pgExists(ctx, tx, "node", `SELECT 1 FROM nodes WHERE id = $1`, id)
}
