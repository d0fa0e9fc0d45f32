package serving_test

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/vitrinehq/vitrine/records"
)

// RecUser composes the in-memory backend's single reads, as the store's
// batch does in one round trip.
func (b *memBackend) RecUser(ctx context.Context, uid string, space, limit int) (records.RecUser, error) {
	var u records.RecUser
	var err error
	if u.Purchased, err = b.Purchased(ctx, uid); err != nil {
		return u, err
	}
	if u.Events, err = b.UserEvents(ctx, uid, limit); err != nil {
		return u, err
	}
	uv, err := b.GetUserVector(ctx, uid, space)
	if err != nil && !errors.Is(err, records.ErrNotFound) {
		return u, err
	}
	u.Vector = uv.Vector
	b.mu.Lock()
	u.Retrieval = b.retrievals[uid]
	u.Retrieval.Payload = nil // read apart, as the store does
	b.mu.Unlock()
	u.CFVersion, u.Factors, err = b.ActiveUserFactors(ctx, uid)
	if errors.Is(err, records.ErrNoCFModel) {
		return u, nil
	}
	return u, err
}

// CandidateFeatures composes the in-memory backend's product, vector and
// factor reads (no factors for version 0, as the store has none).
func (b *memBackend) CandidateFeatures(ctx context.Context, space, version int, ids []string) (map[string]records.CandidateFeatures, error) {
	ps, err := b.GetProducts(ctx, ids)
	if err != nil {
		return nil, err
	}
	vecs, err := b.ProductVectors(ctx, space, ids)
	if err != nil {
		return nil, err
	}
	factors := map[string][]float32{}
	if version != 0 {
		if factors, err = b.ItemFactors(ctx, version, ids); err != nil {
			return nil, err
		}
	}
	out := map[string]records.CandidateFeatures{}
	for _, id := range ids {
		p, live := ps[id]
		v, hasV := vecs[id]
		f, hasF := factors[id]
		if live || hasV || hasF {
			out[id] = records.CandidateFeatures{Live: live, Brand: p.Brand, Category: p.Category, Vector: v, Factors: f}
		}
	}
	return out, nil
}

// SaveUserRetrieval keeps the retrieval of a user the backend knows (one
// with events or a vector), as the store does.
func (b *memBackend) SaveUserRetrieval(ctx context.Context, uid string, r records.StoredRetrieval) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, known := b.userVecs[uid]
	for _, e := range b.events {
		known = known || e.UserID == uid
	}
	if !known {
		return nil
	}
	if b.retrievals == nil {
		b.retrievals = map[string]records.StoredRetrieval{}
	}
	b.retrievals[uid] = r
	return nil
}

// UserRetrievalPayload returns the stored payload when its digest is
// this one.
func (b *memBackend) UserRetrievalPayload(ctx context.Context, uid string, digest []byte) ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if r, ok := b.retrievals[uid]; ok && bytes.Equal(r.Digest, digest) {
		return r.Payload, nil
	}
	return nil, nil
}

// PruneUserRetrievals empties the payloads stored before the time given.
func (b *memBackend) PruneUserRetrievals(ctx context.Context, before time.Time) (int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var n int64
	for u, r := range b.retrievals {
		if r.At.Before(before) && len(r.Payload) > 0 {
			r.Payload = []byte{}
			b.retrievals[u] = r
			n++
		}
	}
	return n, nil
}

// RecentRetrievalUsers returns the users with stored retrievals, the
// latest stored first (ties by id).
func (b *memBackend) RecentRetrievalUsers(ctx context.Context, n int) ([]string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	users := slices.Collect(maps.Keys(b.retrievals))
	slices.SortFunc(users, func(x, y string) int {
		if c := b.retrievals[y].At.Compare(b.retrievals[x].At); c != 0 {
			return c
		}
		return strings.Compare(x, y)
	})
	return users[:min(n, len(users))], nil
}
