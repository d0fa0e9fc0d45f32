package store

import "github.com/jackc/pgx/v5/pgxpool"

// RawPool gives the store's tests the pool, to check rows the API does not
// expose and to set up states (old rows, forbidden writes) it cannot make.
func RawPool(s *Store) *pgxpool.Pool { return s.pool }
