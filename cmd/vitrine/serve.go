package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/vitrinehq/vitrine/api"
	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/extractors/keypoints"
	"github.com/vitrinehq/vitrine/ingest"
	"github.com/vitrinehq/vitrine/internal/config"
	"github.com/vitrinehq/vitrine/lexical"
	"github.com/vitrinehq/vitrine/lexical/analysis"
	"github.com/vitrinehq/vitrine/models"
	"github.com/vitrinehq/vitrine/ocr"
	"github.com/vitrinehq/vitrine/serving"
	"github.com/vitrinehq/vitrine/speech"
	"github.com/vitrinehq/vitrine/store"
)

func newServeCmd(a *app) *cobra.Command {
	var listen, auth string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the REST API (search, ranking, recommendations, events)",
		Long: `Serve Vitrine's REST API (the contract is api/openapi.yaml, also served at
/openapi.yaml) until SIGINT or SIGTERM; in-flight requests finish first.

Authentication (server.auth): "required" checks API keys ('vitrine keys
create'); "off" serves anyone, for a local demo; "auto" (the default) is off
only when listening on a loopback address and required otherwise.
Prometheus metrics are at /metrics, liveness at /healthz, readiness at
/readyz.

Every list served is logged as an impression (impressions.*), written in
batches from a bounded buffer; with experiment.name set, users are split
between experiment.variants by a stable hash of their id and each variant's
experiment.overrides apply to its users' requests. 'vitrine eval online'
reports the outcome.

POST /v1/search/voice hears spoken queries with PocketSphinx (voice.*): a
language model of the catalog's titles, brands and categories is built
before the port opens and rebuilt when the products change.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runServe(cmd, listen, auth)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "", "address to listen on (default server.listen, 127.0.0.1:8080)")
	cmd.Flags().StringVar(&auth, "auth", "", "required, off or auto (default server.auth)")
	return cmd
}

// runServe serves the API until the command's context ends.
func (a *app) runServe(cmd *cobra.Command, listen, auth string) error {
	ctx := cmd.Context()
	if listen != "" {
		a.cfg.Server.Listen = listen
	}
	if auth != "" {
		a.cfg.Server.Auth = auth
	}
	reg := prometheus.NewRegistry()
	svc, err := a.openServices(ctx, api.NewModelMetrics(reg))
	if err != nil {
		return err
	}
	defer svc.Close()
	st, set, spec := svc.st, svc.set, svc.spec
	sp, err := a.activeSpace(ctx, st, spec)
	if err != nil {
		return err
	}
	if err := ingest.EnsureIndexes(ctx, st, sp.Version, indexedModels(set)); err != nil { // a load may have stopped between dropping and building them
		return err
	}
	cfg, err := a.apiConfig()
	if err != nil {
		return err
	}
	// The port opens once the lexical index is built, so a load
	// balancer sends nothing before search can answer.
	uc, stopServing, err := a.newServing(ctx, st, set)
	if err != nil {
		return err
	}
	defer stopServing()
	exp := uc.Config().Experiment
	deps := api.Deps{Service: uc, Store: st, Encoders: set, Indexer: a.indexer(st, set), Media: a.mediaLoader(), Registry: reg, Logger: a.log}
	rec, stopVoice, err := a.startVoice(ctx, st)
	if err != nil {
		return err
	}
	defer stopVoice()
	if rec != nil {
		deps.Transcriber = rec
	}
	srv, err := api.New(cfg, deps)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s (server.listen): %w", cfg.Listen, err)
	}
	authState := "API keys required"
	if !srv.AuthEnabled() {
		authState = "no API keys (loopback demo mode)"
	}
	fmt.Fprintf(cmd.OutOrStdout(), "serving on http://%s (%s)\n", ln.Addr(), authState)
	if exp != nil {
		fmt.Fprintf(cmd.OutOrStdout(), "A/B experiment %q: %s\n", exp.Name, exp.Describe())
	}
	return srv.Start(ctx, ln)
}

// indexedModels are the loaded text and image models' indexes, which search queries.
func indexedModels(set *extractors.Set) (out []ingest.ModelIndex) {
	for _, m := range []models.Modality{models.Text, models.Image} {
		if e, ok := set.ByModality(m); ok {
			out = append(out, ingest.ModelIndex{Model: e.Key(), Dim: e.Dim()})
		}
	}
	return out
}

// apiConfig is the API's transport configuration from the server and
// impressions sections, as `vitrine serve` runs it.
func (a *app) apiConfig() (api.Config, error) {
	sc, ic := a.cfg.Server, a.cfg.Impressions
	proxies, err := sc.TrustedProxyPrefixes()
	if err != nil {
		return api.Config{}, err
	}
	allow, err := sc.FetchAllowPrefixes()
	if err != nil {
		return api.Config{}, err
	}
	return api.Config{
		Listen: sc.Listen, Auth: api.AuthMode(sc.Auth), RateLimit: sc.RateLimit, RateBurst: sc.RateBurst,
		BodyLimit: sc.BodyLimit, ReadTimeout: sc.ReadTimeout, WriteTimeout: sc.WriteTimeout,
		ReportsDir: sc.ReportsDir, MediaRoot: sc.MediaRoot, QueryRetention: sc.QueryRetention,
		Impressions: api.ImpressionsConfig{Enabled: ic.Enabled, Buffer: ic.Buffer, BatchSize: ic.BatchSize,
			FlushEvery: ic.FlushEvery, Retention: ic.Retention},
		TrustedProxies: proxies, FetchAllow: allow, MaxUploads: sc.MaxUploads, UploadQueue: sc.UploadQueue,
		AuthFailures: 1, AuthFailureBurst: 10,
	}, nil
}

// servingConfig is the use-case layer's configuration (ranking parameters
// and the A/B experiment) from the server and experiment sections.
func (a *app) servingConfig() (serving.Config, error) {
	sc := a.cfg.Server
	exp, err := a.cfg.ParseExperiment()
	if err != nil {
		return serving.Config{}, err
	}
	c := serving.DefaultConfig()
	c.LexicalWeight, c.VectorWeight, c.PersonalWeight, c.HalfLife = sc.LexicalWeight, sc.VectorWeight, sc.PersonalWeight, sc.HalfLife
	c.CFWeight, c.ContentWeight, c.PopularityWeight, c.MMRLambda = sc.CFWeight, sc.ContentWeight, sc.PopularityWeight, sc.MMRLambda
	c.Fusion = serving.SearchFusion{Method: a.cfg.Search.Fusion, VectorFloor: a.cfg.Search.VectorFloor}
	c.CandidatePool, c.VectorPool, c.VectorEf = a.cfg.Search.LexicalPool, a.cfg.Search.VectorPool, a.cfg.Search.VectorEf
	c.Experiment = exp
	return c, nil
}

// newServing builds the use cases exactly as `vitrine serve` runs them,
// for serve, eval and bench alike. With search.engine index it starts the
// lexical index's syncer and returns once the first snapshot is
// searchable; stop ends the syncer (call it before closing the store).
func (a *app) newServing(ctx context.Context, st *store.Store, set *extractors.Set) (uc *serving.Service, stop func(), err error) {
	cfg, err := a.servingConfig()
	if err != nil {
		return nil, nil, err
	}
	text, ok := set.ByModality(models.Text)
	if !ok {
		return nil, nil, errors.New("a text model is required to serve (models.text)")
	}
	var image serving.Encoder
	if e, ok := set.ByModality(models.Image); ok {
		image = e
	}
	deps := serving.DepsFrom(st, text, image)
	stop = func() {}
	if a.cfg.Search.Engine == "index" {
		if deps.Text, stop, err = a.startLexical(ctx, st); err != nil {
			return nil, nil, err
		}
	}
	opts := []serving.Option{serving.WithConfig(cfg), serving.WithLogger(a.log), serving.WithRetrievalTTL(a.cfg.Recommend.CacheTTL), serving.WithRetrievalRefresh(a.cfg.Recommend.RefreshWorkers), serving.WithContentLists(a.cfg.Recommend.ContentSeeds, a.cfg.Recommend.ContentListsTTL), serving.WithRefreshOnActivate(a.cfg.Recommend.RefreshOnActivate)}
	if ic := a.cfg.Image; ic.Views {
		opts = append(opts, serving.WithImageViews(st), serving.WithPhotoVerifier(keypoints.NewPhotoVerifier(keypoints.NewExtractor(), keypoints.NewVerifier()), st), serving.WithPhotoConfig(serving.PhotoConfig{Centre: ic.Centre, CSLSK: ic.CSLSK,
			ExpandTop: ic.ExpandTop, ExpandAlpha: ic.ExpandAlpha, CropScale: ic.CropScale, TopViews: ic.TopViews, VoteViews: ic.VoteViews, VotePower: ic.VotePower, OCRWeight: ic.OCRWeight, VerifyTop: ic.VerifyTop, VerifyWeight: ic.VerifyWeight, VerifyMinInliers: ic.VerifyMinInliers,
			Whiten: ic.Whiten, WhitenShrinkage: ic.WhitenShrinkage, DiscriminantCover: ic.DiscriminantCover}))
		if ic.OCRWeight > 0 && image != nil {
			r, err := ocr.New(ocr.WithEngines(ic.OCREngines))
			if err != nil {
				stop()
				return nil, nil, fmt.Errorf("image.ocr_weight (%s) is on: %w", config.EnvName("image.ocr_weight"), err)
			}
			opts = append(opts, serving.WithPhotoReader(r))
			stopLexical := stop
			stop = func() { stopLexical(); _ = r.Close() }
		}
	}
	uc, err = serving.New(deps, opts...)
	if err != nil {
		stop()
		return nil, nil, err
	}
	return uc, stop, nil
}

// startLexical builds the in-memory lexical index from the products and
// keeps it in sync in the background until stop (or ctx's end).
func (a *app) startLexical(ctx context.Context, st *store.Store) (serving.Text, func(), error) {
	an, err := analysis.New(strings.Split(a.cfg.Search.Languages, ",")...)
	if err != nil {
		return nil, nil, fmt.Errorf("search.languages (%s): %w", config.EnvName("search.languages"), err)
	}
	syn, err := lexical.LoadSynonyms(a.cfg.Search.Synonyms, a.cfg.Search.SynonymsFile)
	if err != nil {
		return nil, nil, fmt.Errorf("search.synonyms (%s) or search.synonyms_file (%s): %w", config.EnvName("search.synonyms"), config.EnvName("search.synonyms_file"), err)
	}
	sy := lexical.NewSyncer(st, lexical.WithIndexOptions(lexical.WithAnalyzer(an), lexical.WithMatch(lexical.Match(a.cfg.Search.Match)), lexical.WithSynonyms(syn...)),
		lexical.WithPoll(a.cfg.Search.SyncPoll), lexical.WithLogger(a.log))
	stop, err := sy.Start(ctx)
	if err != nil {
		return nil, nil, err
	}
	return lexical.Text{Syncer: sy, Suggester: st}, stop, nil
}

// speechOptions are the recogniser's settings from voice.*, for serve and
// eval voice alike.
func (a *app) speechOptions(extra ...speech.Option) []speech.Option {
	vc := a.cfg.Voice
	return append([]speech.Option{speech.WithDecoders(vc.Decoders), speech.WithCatalogWeight(vc.CatalogWeight),
		speech.WithCatalogKeep(vc.CatalogKeep), speech.WithAlternatives(vc.Alternatives), speech.WithDenoise(vc.Denoise), speech.WithMaxAudio(vc.MaxSeconds, 0), speech.WithLogger(a.log)}, extra...)
}

// startVoice loads the speech recogniser (voice.*), builds the catalog
// language model from the products and keeps it in step with their change
// log in the background until stop (call it before closing the store).
// The recogniser is nil when voice.enabled is off or the PocketSphinx
// model is not installed (logged): voice search then answers 501.
func (a *app) startVoice(ctx context.Context, st *store.Store) (*speech.Recognizer, func(), error) {
	vc := a.cfg.Voice
	if !vc.Enabled {
		return nil, func() {}, nil
	}
	rec, err := speech.New(a.speechOptions()...)
	if errors.Is(err, speech.ErrModel) {
		a.log.Warn("voice search off: no speech model", "err", err)
		return nil, func() {}, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("voice: %w", err)
	}
	seq, err := rec.Sync(ctx, st, -1)
	if err != nil {
		rec.Close()
		return nil, nil, fmt.Errorf("voice: catalog language model: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- rec.Follow(ctx, st, seq, vc.Poll) }()
	return rec, func() {
		cancel()
		<-done
		rec.Close()
	}, nil
}
