package registry

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
)

// newAccountID returns a random account id of the form "acct_<32 hex>".
func newAccountID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("registry: account id: %w", err)
	}
	return "acct_" + hex.EncodeToString(b[:]), nil
}

// CreateAccount makes a new account with the given display name and returns its id.
func (s *SQLite) CreateAccount(ctx context.Context, name string) (string, error) {
	id, err := newAccountID()
	if err != nil {
		return "", err
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
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
func (s *SQLite) AddAPIKey(ctx context.Context, account string, keyHash [32]byte) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := accountExists(ctx, tx, account); err != nil {
			return err
		}
		var owner string
		err := tx.QueryRowContext(ctx,
			`SELECT account_id FROM api_keys WHERE key_hash = $1`, keyHash[:]).Scan(&owner)
		switch {
		case err == nil && owner == account:
			return nil
		case err == nil:
			return errors.New("key hash already belongs to another account")
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		_, err = tx.ExecContext(ctx,
			`INSERT INTO api_keys (key_hash, account_id, created_at) VALUES ($1, $2, $3)`,
			keyHash[:], account, nowNanos())
		return err
	})
	if err != nil {
		return fmt.Errorf("registry: add api key: %w", err)
	}
	return nil
}

// AccountByKey returns the account owning the key hash, or ErrNotFound.
func (s *SQLite) AccountByKey(ctx context.Context, keyHash [32]byte) (string, error) {
	var account string
	err := s.retry(ctx, func() error {
		return s.db.QueryRowContext(ctx,
			`SELECT account_id FROM api_keys WHERE key_hash = $1`, keyHash[:]).Scan(&account)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("registry: api key: %w", ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("registry: account by key: %w", err)
	}
	return account, nil
}

// AddEnrollToken stores the hash of a node enrollment token (idempotent).
func (s *SQLite) AddEnrollToken(ctx context.Context, tokenHash [32]byte) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
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
func (s *SQLite) CheckEnrollToken(ctx context.Context, tokenHash [32]byte) error {
	var one int
	err := s.retry(ctx, func() error {
		return s.db.QueryRowContext(ctx,
			`SELECT 1 FROM enroll_tokens WHERE token_hash = $1`, tokenHash[:]).Scan(&one)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("registry: enroll token: %w", ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("registry: check enroll token: %w", err)
	}
	return nil
}

// accountExists returns nil if account exists, a wrapped ErrNotFound if not.
func accountExists(ctx context.Context, tx sqlQuerier, account string) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM accounts WHERE id = $1`, account).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("account %q: %w", account, ErrNotFound)
	}
	return err
}
