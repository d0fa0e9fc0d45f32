package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// IndexBuilder builds the HNSW indexes that a load writes into, each only
// if it is missing (package store).
type IndexBuilder interface {
	EnsureModelIndex(ctx context.Context, model string, dim int) error
	BuildSpaceIndex(ctx context.Context, version int) error
}

// IndexStore is what a run needs to build the indexes after its load
// instead of during it (package store).
type IndexStore interface {
	IndexBuilder
	CountProducts(ctx context.Context) (int64, error)
	DropModelIndex(ctx context.Context, model string) (existed bool, err error)
	DropSpaceIndex(ctx context.Context, version int) (existed bool, err error)
}

// ModelIndex is one model's embedding index: the model's key and its
// vectors' dimensions.
type ModelIndex struct {
	Model string
	Dim   int
}

// DefaultDeferIndexesBelow is the catalog size under which a run builds
// its indexes after the load by default (config ingest.defer_indexes_below).
const DefaultDeferIndexesBelow = 10_000

// IndexDeferral takes the HNSW indexes' maintenance off a load's critical
// path: a run into a small catalog drops the active space's index and the
// models' indexes, loads, and builds them once at its end. Inserting every
// vector into the graphs as it lands was 86% of the database's CPU in a
// text+image load; without them the load kept 1.01 of the models' own
// speed against 0.867 live, 0.956 counting the build (2,000 products on
// an idle two-core machine, BENCHMARKS.md).
//
// A build walks every row of the table, the catalog's as well as the
// load's, so it pays while the catalog holds fewer than about 4 times the
// rows loaded. The rule needs only the catalog's size, not the input's
// (which a stream cannot tell before it is read): below Below products the
// build costs at most a build over Below rows plus the load, a few seconds,
// while a large load gains far more; a large catalog keeps its indexes
// live, as a small update into it should.
//
// A run that stops between dropping and building (a crash, a kill) leaves
// the indexes missing: queries stay correct, by exact scans, only slower.
// The next run, and `vitrine serve` at start, build whatever is missing
// (EnsureIndexes).
type IndexDeferral struct {
	// Store drops and builds the indexes; nil keeps them live and builds
	// none (as a benchmark of live indexes needs).
	Store IndexStore
	// Models are the model indexes that search queries (the text and
	// image models'); the space's index is Options.Space's.
	Models []ModelIndex
	// Below defers the builds while the catalog holds fewer live products
	// than this when the run starts; 0 never defers.
	Below int64
}

// EnsureIndexes builds whichever of the space's HNSW index and the
// models' indexes are missing; it does nothing for those that exist.
func EnsureIndexes(ctx context.Context, st IndexBuilder, space int, models []ModelIndex) error {
	if err := st.BuildSpaceIndex(ctx, space); err != nil {
		return fmt.Errorf("build the HNSW index of space %d: %w", space, err)
	}
	for _, m := range models {
		if err := st.EnsureModelIndex(ctx, m.Model, m.Dim); err != nil {
			return fmt.Errorf("build the HNSW index of model %s: %w", m.Model, err)
		}
	}
	return nil
}

// prepareIndexes decides, at the start of a run, whether it builds the
// indexes after its load, and if so drops them; it reports whether it
// did. A run that keeps them live builds any that a run stopped between
// its drop and its build left missing. A run that only queues encoding
// (Options.Enqueue) writes no vectors, so it touches no index.
func prepareIndexes(ctx context.Context, o Options) (deferred bool, err error) {
	d := o.DeferIndexes
	if d.Store == nil || o.Enqueue != nil {
		return false, nil
	}
	if d.Below > 0 {
		n, err := d.Store.CountProducts(ctx)
		if err != nil {
			return false, err
		}
		if n < d.Below {
			o.Logger.Info("building the HNSW indexes after the load", "catalog_products", n, "defer_indexes_below", d.Below)
			return true, dropIndexes(ctx, o)
		}
	}
	return false, EnsureIndexes(ctx, d.Store, o.Space.Version, d.Models)
}

// dropIndexes drops the space's and the models' indexes.
func dropIndexes(ctx context.Context, o Options) error {
	d := o.DeferIndexes
	var dropped []string
	existed, err := d.Store.DropSpaceIndex(ctx, o.Space.Version)
	if err != nil {
		return fmt.Errorf("drop the HNSW index of space %d: %w", o.Space.Version, err)
	}
	if existed {
		dropped = append(dropped, fmt.Sprint("space ", o.Space.Version))
	}
	for _, m := range d.Models {
		existed, err := d.Store.DropModelIndex(ctx, m.Model)
		if err != nil {
			return fmt.Errorf("drop the HNSW index of model %s: %w", m.Model, err)
		}
		if existed {
			dropped = append(dropped, m.Model)
		}
	}
	o.Logger.Debug("dropped HNSW indexes for the load", "indexes", dropped)
	return nil
}

// buildDeferred builds the indexes a run dropped, at its end: also after a
// failure or with rejected rows, and with ctx's values but without its end
// when ctx has ended, so that an interrupted load leaves its indexes built.
func buildDeferred(ctx context.Context, o Options) error {
	if ctx.Err() != nil {
		o.Logger.Warn("the load stopped: building its HNSW indexes before exiting (killed, it leaves them to the next run or `vitrine serve`)",
			"cause", context.Cause(ctx))
		ctx = context.WithoutCancel(ctx)
	}
	start := time.Now()
	if err := EnsureIndexes(ctx, o.DeferIndexes.Store, o.Space.Version, o.DeferIndexes.Models); err != nil {
		o.Logger.Error("HNSW indexes not built after the load; the next run or `vitrine serve` builds them", "err", err)
		return err
	}
	o.Logger.Info("built the HNSW indexes after the load", "seconds", time.Since(start).Seconds())
	return nil
}

// withDeferredIndexes runs load between dropping the indexes and building
// them again when o defers them, and just runs it otherwise. The run's
// error holds the load's failure and the build's, whichever happened.
func withDeferredIndexes(ctx context.Context, o Options, load func() error) error {
	deferred, err := prepareIndexes(ctx, o)
	if err == nil {
		err = load()
	}
	if !deferred {
		return err
	}
	if berr := buildDeferred(ctx, o); berr != nil {
		return errors.Join(err, berr)
	}
	return err
}
