package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"

	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/extractors/onnx"
	"github.com/vitrinehq/vitrine/fusion"
	"github.com/vitrinehq/vitrine/indexer"
	"github.com/vitrinehq/vitrine/ingest"
	"github.com/vitrinehq/vitrine/models"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/store"
)

// runtime opens ONNX Runtime as configured.
func (a *app) runtime(ctx context.Context) (*onnx.Runtime, error) {
	return onnx.NewRuntime(ctx,
		onnx.WithLibraryPath(a.cfg.ORTLibrary()),
		onnx.WithProvider(onnx.Provider(a.cfg.ORT.Provider)),
		onnx.WithIntraOpThreads(a.cfg.ORT.IntraOpThreads),
		onnx.WithInterOpThreads(a.cfg.ORT.InterOpThreads),
		onnx.WithLogger(a.log))
}

func (a *app) manifests() ([]models.Manifest, error) {
	return models.Load(a.cfg.Models.Manifests)
}

// modality pairs a configured model with its fusion weight.
type modality struct {
	name   string
	weight float64
}

func (a *app) modalities() []modality {
	return []modality{
		{a.cfg.Models.Text, a.cfg.Fusion.TextWeight},
		{a.cfg.Models.Image, a.cfg.Fusion.ImageWeight},
		{a.cfg.Models.Audio, a.cfg.Fusion.AudioWeight},
	}
}

// encoders loads the configured models whose fusion weight is positive;
// the text model is loaded whatever its weight, since search needs it.
func (a *app) encoders(ctx context.Context, rt *onnx.Runtime, m metricsHook) (*extractors.Set, error) {
	var names []string
	for i, md := range a.modalities() {
		if md.name != "" && (md.weight > 0 || i == 0) {
			names = append(names, md.name)
		}
	}
	return a.loadEncoders(ctx, rt, names, m)
}

// loadEncoders loads the named models with the configured batching.
func (a *app) loadEncoders(ctx context.Context, rt *onnx.Runtime, names []string, m metricsHook) (*extractors.Set, error) {
	ms, err := a.manifests()
	if err != nil {
		return nil, err
	}
	o := extractors.Options{MaxBatch: a.cfg.ORT.MaxBatch, MaxWait: a.cfg.ORT.MaxWait, QueueSize: a.cfg.ORT.QueueSize, Logger: a.log}
	if m != nil {
		o.Metrics = m
	}
	return extractors.LoadSet(ctx, rt, ms, a.cfg.ModelDir(), names, o)
}

// metricsHook is the batching-metrics sink (Prometheus in `serve`).
type metricsHook = onnx.Metrics

// fusionSpec is the configured vector space definition over loaded models.
func (a *app) fusionSpec(set *extractors.Set) (fusion.Spec, error) {
	spec := fusion.Spec{Strategy: fusion.Strategy(a.cfg.Fusion.Strategy)}
	ms, err := a.manifests()
	if err != nil {
		return spec, err
	}
	for _, md := range a.modalities() {
		if md.name == "" || md.weight <= 0 {
			continue
		}
		m, ok := models.Find(ms, md.name)
		if !ok {
			return spec, fmt.Errorf("%w: %q", extractors.ErrUnknownModel, md.name)
		}
		if _, ok := set.ByKey(m.Key()); !ok {
			return spec, fmt.Errorf("model %s not loaded", m.Key())
		}
		spec.Components = append(spec.Components, fusion.Component{Model: m.Key(), Modality: string(m.Modality), Dim: m.Dim, Weight: md.weight})
	}
	return spec.Reduced(a.cfg.Fusion.Reduce), spec.Validate() // a reduction is checked and fitted by backfill
}

// activeSpace returns the serving space, creating and activating one from
// the configured spec when the database has none yet. A configured spec
// that differs from the active one is reported, not applied: that is what
// `vitrine backfill` is for.
func (a *app) activeSpace(ctx context.Context, st *store.Store, spec fusion.Spec) (records.Space, error) {
	sp, err := st.ActiveSpace(ctx)
	if errors.Is(err, records.ErrNoActiveSpace) {
		sp, err = st.CreateSpace(ctx, records.NewSpace{Name: "initial", Spec: spec.Full().JSON(), Dim: spec.FullDim()}) // a PCA needs vectors to fit
		if err != nil {
			return sp, err
		}
		if err := st.ActivateSpace(ctx, sp.Version); err != nil {
			return sp, err
		}
		a.log.Info("created vector space", "version", sp.Version, "dim", sp.Dim, "storage", sp.Storage)
		return st.GetSpace(ctx, sp.Version)
	}
	if err != nil {
		return sp, err
	}
	if !spec.SameAs(sp.Spec) {
		a.log.Warn("configured fusion differs from the active vector space; run `vitrine backfill` to build and activate a new one",
			"active", sp.Version, "active_spec", fusion.Describe(sp.Spec), "configured", fusion.Describe(spec.JSON()))
	}
	return sp, nil
}

// indexer builds the shared encode-and-fuse path.
func (a *app) indexer(st *store.Store, set *extractors.Set) *indexer.Indexer {
	encs := make([]indexer.Encoder, 0, len(set.Encoders()))
	for _, e := range set.Encoders() {
		encs = append(encs, e)
	}
	return indexer.New(st, a.mediaLoader(), encs, indexer.WithLogger(a.log), indexer.WithKeypoints(a.cfg.Image.ExtractsKeypoints()))
}

// mediaLoader reads product media with the ingest limits; remote media
// pass the SSRF guard, which lets through only server.fetch_allow of the
// internal addresses (Validate has already parsed it).
func (a *app) mediaLoader() *ingest.MediaLoader {
	allow, err := a.cfg.Server.FetchAllowPrefixes()
	if err != nil {
		a.log.Warn("server.fetch_allow ignored", "err", err)
	}
	return ingest.NewMediaLoader(ingest.WithMaxMediaBytes(a.cfg.Ingest.MaxMediaBytes), ingest.WithMediaTimeout(a.cfg.Ingest.MediaTimeout),
		ingest.WithFetchAllow(allow...))
}

// progress draws a bar on a terminal and stays quiet otherwise (logs and
// the final summary still say what happened).
func progress(w io.Writer, total int64, desc string, bytes bool) *progressbar.ProgressBar {
	visible := false
	if f, ok := w.(*os.File); ok {
		visible = isatty.IsTerminal(f.Fd())
	}
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionSetVisibility(visible),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100 * time.Millisecond),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionSetWidth(30),
	}
	if bytes {
		opts = append(opts, progressbar.OptionShowBytes(true))
	} else {
		opts = append(opts, progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("products"))
	}
	return progressbar.NewOptions64(total, opts...)
}

// services are what the encoding commands share: the store, ONNX Runtime,
// the configured encoders and the fusion spec over them.
type services struct {
	st   *store.Store
	rt   *onnx.Runtime
	set  *extractors.Set
	spec fusion.Spec
}

// openServices opens the store (migrating it), ONNX Runtime and the
// configured encoders; m receives batching metrics and may be nil.
func (a *app) openServices(ctx context.Context, m metricsHook) (_ *services, err error) {
	s := &services{}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if s.st, err = a.openStore(ctx); err != nil {
		return nil, err
	}
	if s.rt, err = a.runtime(ctx); err != nil {
		return nil, err
	}
	if s.set, err = a.encoders(ctx, s.rt, m); err != nil {
		return nil, err
	}
	if s.spec, err = a.fusionSpec(s.set); err != nil {
		return nil, err
	}
	return s, nil
}

// openBench opens a bench database (created, or emptied unless reuse; see
// openBenchStore), ONNX Runtime and the named models; the services' spec is
// left empty for the bench to define.
func (a *app) openBench(ctx context.Context, db string, reuse bool, names []string, opts ...store.Option) (_ *services, err error) {
	s := &services{}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if s.st, err = a.openBenchStore(ctx, db, reuse, opts...); err != nil {
		return nil, err
	}
	if s.rt, err = a.runtime(ctx); err != nil {
		return nil, err
	}
	if s.set, err = a.loadEncoders(ctx, s.rt, names, nil); err != nil {
		return nil, err
	}
	return s, nil
}

// Close releases everything opened, in reverse order.
func (s *services) Close() {
	if s.set != nil {
		_ = s.set.Close()
	}
	if s.rt != nil {
		_ = s.rt.Close()
	}
	if s.st != nil {
		s.st.Close()
	}
}
