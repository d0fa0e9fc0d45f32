// Package records holds the plain row types that the store reads and
// writes and that its consumers exchange with it: vector spaces, user
// vectors, collaborative-filtering models, impressions, search results.
// It has no behaviour beyond small helpers on those types and imports no
// database driver, so packages that only need the shapes (serving,
// training, indexer, ingest, jobs, web) depend on it and on interfaces of
// their own instead of on package store.
package records
