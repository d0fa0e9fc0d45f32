package search

import (
	"context"
	"errors"
	"fmt"

	"github.com/vitrinehq/vitrine/bench/apiload"
	"github.com/vitrinehq/vitrine/bench/search/bleveengine"
	"github.com/vitrinehq/vitrine/lexical"
)

// Store is the database the lexical leg reads (*store.Store is one):
// PostgreSQL full text, and the live products Bleve is built from, read
// as the in-memory index's snapshot reads them.
type Store interface {
	TextEngine
	bleveengine.Source
}

// IndexText is the in-memory index as serve runs it (lexical.Text): its
// text search, and the index itself, which reports what it scored.
type IndexText interface {
	TextEngine
	Index() *lexical.Index
}

// StartIndex builds the in-memory index as serve does and returns it
// searchable, with the function that stops keeping it in sync.
type StartIndex func() (IndexText, func(), error)

// LexicalLeg builds the engines rep.Engines selects, each timed with the
// heap it adds (MeasureBuild): the index with start, then Bleve from st's
// products (opts configure it; its directory's size is reported too, and
// the directory is removed before LexicalLeg returns). It then counts
// what each engine matches and scores per query and loads each one's
// text search alone with r, appending the rows to rep.
func LexicalLeg(ctx context.Context, r apiload.Runner, rep *Report, st Store, start StartIndex, opts ...bleveengine.Option) (err error) {
	engines := map[string]TextEngine{}
	var ix Counter
	if rep.Has(Index) {
		var stop func()
		b, err := MeasureBuild(func() error {
			t, s, err := start()
			if err != nil {
				return err
			}
			engines[Index], ix, stop = t, t.Index(), s
			return nil
		})
		if err != nil {
			return fmt.Errorf("index build: %w", err)
		}
		defer stop()
		rep.Build = b
	}
	if rep.Has(Bleve) {
		e, b, err := buildBleve(ctx, st, opts)
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, e.Close()) }()
		rep.Bleve, engines[Bleve] = &b, e
	}
	if rep.Has(Postgres) {
		engines[Postgres] = st
	}
	if err := Count(ctx, ix, engines, rep.Groups); err != nil {
		return err
	}
	Run(ctx, r, rep, LexicalScenarios(rep.Groups, engines))
	return nil
}

// buildBleve builds Bleve from src, measured by MeasureBuild, with the
// size of its index directory.
func buildBleve(ctx context.Context, src bleveengine.Source, opts []bleveengine.Option) (*bleveengine.Engine, Build, error) {
	var e *bleveengine.Engine
	b, err := MeasureBuild(func() (err error) {
		e, err = bleveengine.Build(ctx, src, opts...)
		return err
	})
	if err != nil {
		return nil, b, fmt.Errorf("bleve build: %w", err)
	}
	if b.DiskBytes, err = e.DiskBytes(); err != nil {
		return nil, b, errors.Join(fmt.Errorf("bleve index size: %w", err), e.Close())
	}
	return e, b, nil
}
