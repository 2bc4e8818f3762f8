package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// UpsertNode inserts or updates a node by ID (region, url, public key, operator updated; JoinedAt kept).
// n.JoinedAt is ignored: it is set to the current time on first insert.
func (s *SQLite) UpsertNode(ctx context.Context, n Node) error {
	if n.ID == "" {
		return errors.New("registry: upsert node: empty node id")
	}
	pub := n.PublicKey
	if pub == nil {
		pub = []byte{}
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO nodes (id, region, url, public_key, operator, joined_at) VALUES ($1, $2, $3, $4, $5, $6)
			 ON CONFLICT (id) DO UPDATE SET
			   region = excluded.region, url = excluded.url, public_key = excluded.public_key,
			   operator = excluded.operator`,
			n.ID, n.Region, n.URL, pub, n.Operator, nowNanos())
		return err
	})
	if err != nil {
		return fmt.Errorf("registry: upsert node %q: %w", n.ID, err)
	}
	return nil
}

// Nodes lists all nodes ordered by ID.
func (s *SQLite) Nodes(ctx context.Context) ([]Node, error) {
	var nodes []Node
	err := s.retry(ctx, func() error {
		nodes = nil
		rows, err := s.db.QueryContext(ctx,
			`SELECT id, region, url, public_key, operator, joined_at FROM nodes ORDER BY id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				n      Node
				joined int64
			)
			if err := rows.Scan(&n.ID, &n.Region, &n.URL, &n.PublicKey, &n.Operator, &joined); err != nil {
				return err
			}
			n.JoinedAt = fromNanos(joined)
			nodes = append(nodes, n)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("registry: list nodes: %w", err)
	}
	return nodes, nil
}

// sqlQuerier is a *sql.DB or *sql.Tx.
type sqlQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// nodeExists returns nil if the node exists, a wrapped ErrNotFound if not.
func nodeExists(ctx context.Context, tx sqlQuerier, id string) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM nodes WHERE id = $1`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("node %q: %w", id, ErrNotFound)
	}
	return err
}
