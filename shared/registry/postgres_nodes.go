package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// UpsertNode inserts or updates a node by ID (region, url, public key, operator updated; JoinedAt kept).
// n.JoinedAt is ignored: it is set to the current time on first insert.
func (p *Postgres) UpsertNode(ctx context.Context, n Node) error {
	if n.ID == "" {
		return errors.New("registry: upsert node: empty node id")
	}
	pub := n.PublicKey
	if pub == nil {
		pub = []byte{}
	}
	err := pgRetry(ctx, func() error {
		_, err := p.pool.Exec(ctx,
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

// Nodes lists all nodes ordered by ID (byte order, whatever the database's
// collation).
func (p *Postgres) Nodes(ctx context.Context) ([]Node, error) {
	var nodes []Node
	err := pgRetry(ctx, func() error {
		nodes = nil
		rows, err := p.pool.Query(ctx,
			`SELECT id, region, url, public_key, operator, joined_at FROM nodes`)
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
	slices.SortFunc(nodes, func(a, b Node) int { return strings.Compare(a.ID, b.ID) })
	return nodes, nil
}

// pgNodesExist returns nil if every id names a node, else a wrapped
// ErrNotFound naming the first missing one (ids must be sorted).
func pgNodesExist(ctx context.Context, tx pgx.Tx, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, `SELECT id FROM nodes WHERE id = ANY($1)`, ids)
	if err != nil {
		return err
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, id := range ids {
		if !slices.Contains(found, id) {
			return fmt.Errorf("node %q: %w", id, ErrNotFound)
		}
	}
	return nil
}
