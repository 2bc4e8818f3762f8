package registry

import (
	"context"
	"strings"
)

// Open opens the registry named by target: a postgres:// or postgresql://
// URL opens PostgreSQL (OpenPostgres), anything else is a SQLite file path
// (OpenSQLite).
func Open(ctx context.Context, target string) (Registry, error) {
	if strings.HasPrefix(target, "postgres://") || strings.HasPrefix(target, "postgresql://") {
		return OpenPostgres(ctx, target)
	}
	return OpenSQLite(target)
}
