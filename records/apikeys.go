package records

import (
	"errors"
	"time"
)

// Scope is what an API key may do.
type Scope string

// Scopes: read serves queries; write also changes products and events;
// admin also manages keys and vector spaces.
const (
	ScopeRead  Scope = "read"
	ScopeWrite Scope = "write"
	ScopeAdmin Scope = "admin"
)

// ErrRevoked marks a key that was revoked.
var ErrRevoked = errors.New("API key revoked")

// APIKey is a stored key; the secret itself is never stored.
type APIKey struct {
	ID         string
	Name       string
	Scopes     []Scope
	CreatedAt  time.Time
	RevokedAt  *time.Time
	LastUsedAt *time.Time
}

// Allows reports whether the key grants scope; admin implies write and
// write implies read.
func (k APIKey) Allows(s Scope) bool {
	rank := map[Scope]int{ScopeRead: 1, ScopeWrite: 2, ScopeAdmin: 3}
	for _, have := range k.Scopes {
		if rank[have] >= rank[s] {
			return true
		}
	}
	return false
}
