package ledger

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// ExplainList returns the plan Postgres picks for List's query.
func (s *Store) ExplainList(ctx context.Context, f Filter, after *Cursor, limit int) (string, error) {
	sql, args := listQuery(f, after, limit)
	rows, err := s.pool.Query(ctx, "EXPLAIN "+sql, args...)
	if err != nil {
		return "", fmt.Errorf("explain: %w", err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return strings.Join(lines, "\n"), err
}
