package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/vitrinehq/vitrine/records"
)

const keyPrefix = "vk_"

func hashSecret(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// CreateAPIKey makes a key and returns it with its token, which is shown
// once: "vk_<id>_<secret>".
func (s *Store) CreateAPIKey(ctx context.Context, name string, scopes []records.Scope) (records.APIKey, string, error) {
	if len(scopes) == 0 {
		return records.APIKey{}, "", fmt.Errorf("api key: at least one scope is required")
	}
	for _, sc := range scopes {
		if !slices.Contains([]records.Scope{records.ScopeRead, records.ScopeWrite, records.ScopeAdmin}, sc) {
			return records.APIKey{}, "", fmt.Errorf("api key: scope %q is not read, write or admin", sc)
		}
	}
	idb := make([]byte, 6)
	sec := make([]byte, 32)
	if _, err := rand.Read(idb); err != nil {
		return records.APIKey{}, "", fmt.Errorf("api key: %w", err)
	}
	if _, err := rand.Read(sec); err != nil {
		return records.APIKey{}, "", fmt.Errorf("api key: %w", err)
	}
	k := records.APIKey{ID: hex.EncodeToString(idb), Name: name, Scopes: scopes}
	secret := hex.EncodeToString(sec)
	err := s.pool.QueryRow(ctx, `INSERT INTO api_keys (id, name, secret_hash, scopes) VALUES ($1, $2, $3, $4)
		RETURNING created_at`, k.ID, name, hashSecret(secret), scopeStrings(scopes)).Scan(&k.CreatedAt)
	if err != nil {
		return records.APIKey{}, "", fmt.Errorf("create api key: %w", err)
	}
	return k, keyPrefix + k.ID + "_" + secret, nil
}

func scopeStrings(ss []records.Scope) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return out
}

// AuthenticateAPIKey checks a token and returns its key. Unknown or
// malformed tokens give records.ErrNotFound, revoked ones ErrRevoked.
func (s *Store) AuthenticateAPIKey(ctx context.Context, token string) (records.APIKey, error) {
	rest, ok := strings.CutPrefix(token, keyPrefix)
	id, secret, ok2 := strings.Cut(rest, "_")
	if !ok || !ok2 || id == "" || secret == "" {
		return records.APIKey{}, fmt.Errorf("api key: %w", records.ErrNotFound)
	}
	var k records.APIKey
	var scopes []string
	// Looking up by hash compares in the database index; the id must match
	// too so a key cannot be confused with another.
	err := s.pool.QueryRow(ctx, `UPDATE api_keys SET last_used_at = now()
		WHERE secret_hash = $1 AND id = $2
		RETURNING id, name, scopes, created_at, revoked_at, last_used_at`, hashSecret(secret), id).
		Scan(&k.ID, &k.Name, &scopes, &k.CreatedAt, &k.RevokedAt, &k.LastUsedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return records.APIKey{}, fmt.Errorf("api key: %w", records.ErrNotFound)
	}
	if err != nil {
		return records.APIKey{}, fmt.Errorf("api key: %w", err)
	}
	for _, sc := range scopes {
		k.Scopes = append(k.Scopes, records.Scope(sc))
	}
	if k.RevokedAt != nil {
		return k, fmt.Errorf("api key %s: %w", k.ID, records.ErrRevoked)
	}
	return k, nil
}

// ListAPIKeys lists keys, newest first.
func (s *Store) ListAPIKeys(ctx context.Context) ([]records.APIKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, name, scopes, created_at, revoked_at, last_used_at
		FROM api_keys ORDER BY created_at DESC`)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (records.APIKey, error) {
		var k records.APIKey
		var scopes []string
		err := r.Scan(&k.ID, &k.Name, &scopes, &k.CreatedAt, &k.RevokedAt, &k.LastUsedAt)
		for _, sc := range scopes {
			k.Scopes = append(k.Scopes, records.Scope(sc))
		}
		return k, err
	})
}

// RevokeAPIKey revokes a key by id; revoking twice is not an error.
func (s *Store) RevokeAPIKey(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("revoke api key: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("api key %s: %w", id, records.ErrNotFound)
	}
	return nil
}
