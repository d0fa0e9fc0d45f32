// Package config loads Vitrine's one configuration: defaults, then an
// optional YAML file, then VITRINE_* environment variables.
//
// Every leaf key maps to exactly one environment variable: the key path
// upper-cased with dots turned into underscores and VITRINE_ in front, so
// database.url is VITRINE_DATABASE_URL and ort.intra_op_threads is
// VITRINE_ORT_INTRA_OP_THREADS. `vitrine config` prints the effective result.
package config

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/providers/structs"
	"github.com/knadh/koanf/v2"
	yamlv3 "go.yaml.in/yaml/v3"

	"github.com/vitrinehq/vitrine/experiment"
	"github.com/vitrinehq/vitrine/internal/netguard"
)

// EnvPrefix starts every environment variable Vitrine reads.
const EnvPrefix = "VITRINE_"

// Config is the effective configuration of one Vitrine process.
type Config struct {
	// Home holds everything Vitrine writes locally: the private PostgreSQL
	// cluster, the ONNX Runtime library and prepared model files.
	Home string `koanf:"home" yaml:"home"`
	// Assets is a local mirror directory searched for artifacts that cannot
	// be downloaded (CI sets it to ../shared).
	Assets string `koanf:"assets" yaml:"assets"`

	Database Database `koanf:"database" yaml:"database"`
	Log      Log      `koanf:"log" yaml:"log"`
	ORT      ORT      `koanf:"ort" yaml:"ort"`
	Models   Models   `koanf:"models" yaml:"models"`
	Fusion   Fusion   `koanf:"fusion" yaml:"fusion"`
	Ingest   Ingest   `koanf:"ingest" yaml:"ingest"`
	Worker   Worker   `koanf:"worker" yaml:"worker"`
	Server   Server   `koanf:"server" yaml:"server"`
	Search   Search   `koanf:"search" yaml:"search"`
	Image    Image    `koanf:"image" yaml:"image"`
	Voice    Voice    `koanf:"voice" yaml:"voice"`

	Recommend Recommend `koanf:"recommend" yaml:"recommend"`

	Experiment  Experiment  `koanf:"experiment" yaml:"experiment"`
	Impressions Impressions `koanf:"impressions" yaml:"impressions"`
}

// Experiment is the A/B test `vitrine serve` runs (package experiment):
// users are split between variants by a stable hash of the experiment
// name and their id, and a variant may override ranking parameters. The
// lists are strings so that one environment variable can set each.
type Experiment struct {
	// Name identifies the experiment; empty runs none. A new name
	// reshuffles every user.
	Name string `koanf:"name" yaml:"name"`
	// Variants are "name:weight" pairs, comma separated, the control first:
	// "control:50,treatment:50". Anonymous requests get the control.
	Variants string `koanf:"variants" yaml:"variants"`
	// Overrides set server parameters per variant, comma separated:
	// "treatment.vector_weight=2,treatment.mmr_lambda=0.7". Parameters:
	// lexical_weight, vector_weight, cf_weight, content_weight,
	// popularity_weight, mmr_lambda.
	Overrides string `koanf:"overrides" yaml:"overrides"`
}

// Impressions configures the log of served lists that online metrics
// (`vitrine eval online`) are computed from.
type Impressions struct {
	Enabled bool `koanf:"enabled" yaml:"enabled"`
	// Buffer bounds impressions waiting to be written; when it is full new
	// ones are dropped (and counted) rather than slowing requests down.
	Buffer int `koanf:"buffer" yaml:"buffer"`
	// FlushEvery and BatchSize: the buffer is written every FlushEvery, or
	// as soon as BatchSize impressions wait.
	FlushEvery time.Duration `koanf:"flush_every" yaml:"flush_every"`
	BatchSize  int           `koanf:"batch_size" yaml:"batch_size"`
	// Retention: `vitrine serve` deletes impressions older than this once
	// an hour (0 keeps them forever).
	Retention time.Duration `koanf:"retention" yaml:"retention"`
}

// Server configures `vitrine serve`.
type Server struct {
	Listen string `koanf:"listen" yaml:"listen"`
	// Auth is required, off or auto (off on a loopback listener only).
	Auth         string        `koanf:"auth" yaml:"auth"`
	RateLimit    float64       `koanf:"rate_limit" yaml:"rate_limit"` // requests/s per key; 0 = unlimited
	RateBurst    int           `koanf:"rate_burst" yaml:"rate_burst"`
	BodyLimit    string        `koanf:"body_limit" yaml:"body_limit"`
	ReadTimeout  time.Duration `koanf:"read_timeout" yaml:"read_timeout"`
	WriteTimeout time.Duration `koanf:"write_timeout" yaml:"write_timeout"`
	// Hybrid search weights of the full-text and vector lists (of their
	// normalised scores, or of their ranks with search.fusion rrf).
	LexicalWeight float64 `koanf:"lexical_weight" yaml:"lexical_weight"`
	VectorWeight  float64 `koanf:"vector_weight" yaml:"vector_weight"`
	// PersonalWeight scales the user's affinity in personalised search.
	PersonalWeight float64 `koanf:"personal_weight" yaml:"personal_weight"`
	// HalfLife is how fast older events fade from a user's vector.
	HalfLife time.Duration `koanf:"half_life" yaml:"half_life"`
	// Blend weights of hybrid recommendations (collaborative filtering,
	// content, popularity), used once `vitrine train` has run.
	CFWeight         float64 `koanf:"cf_weight" yaml:"cf_weight"`
	ContentWeight    float64 `koanf:"content_weight" yaml:"content_weight"`
	PopularityWeight float64 `koanf:"popularity_weight" yaml:"popularity_weight"`
	// MMRLambda is the default diversity of recommendations: 1 keeps the
	// relevance order, lower values favour items unlike those above them.
	MMRLambda float64 `koanf:"mmr_lambda" yaml:"mmr_lambda"`
	// ReportsDir holds `vitrine eval`/`bench` reports the admin page shows.
	ReportsDir string `koanf:"reports_dir" yaml:"reports_dir"`
	// MediaRoot bounds which local files /media may serve (product images
	// given as paths); empty means the working directory.
	MediaRoot string `koanf:"media_root" yaml:"media_root"`
	// QueryRetention: logged search queries (popular-query suggestions)
	// older than this are deleted hourly; 0 keeps them.
	QueryRetention time.Duration `koanf:"query_retention" yaml:"query_retention"`
	// TrustedProxies are the reverse proxies (addresses or CIDR prefixes,
	// comma separated) whose X-Forwarded-For names the client; empty
	// takes the client from the connection and ignores forwarding headers,
	// so rate limits cannot be dodged by spoofing them.
	TrustedProxies string `koanf:"trusted_proxies" yaml:"trusted_proxies"`
	// FetchAllow lets photo URLs and product media reach these internal
	// addresses or prefixes (comma separated), e.g. a media host on the
	// shop's network; every other loopback, private, link-local and
	// metadata address is refused.
	FetchAllow string `koanf:"fetch_allow" yaml:"fetch_allow"`
	// MaxUploads bounds the photo searches decoding at once; 0 means one
	// per core.
	MaxUploads int `koanf:"max_uploads" yaml:"max_uploads"`
	// UploadQueue is how long a photo search waits for a free slot before
	// a 503 with Retry-After.
	UploadQueue time.Duration `koanf:"upload_queue" yaml:"upload_queue"`
}

// validate checks the server section.
func (s Server) validate() []error {
	var errs []error
	switch s.Auth {
	case "required", "off", "auto":
	default:
		errs = append(errs, fmt.Errorf("%w: server.auth (%s) is %q, want required, off or auto", ErrInvalid, EnvName("server.auth"), s.Auth))
	}
	if _, err := s.TrustedProxyPrefixes(); err != nil {
		errs = append(errs, err)
	}
	if _, err := s.FetchAllowPrefixes(); err != nil {
		errs = append(errs, err)
	}
	if s.MaxUploads < 0 {
		errs = append(errs, fmt.Errorf("%w: server.max_uploads (%s) must not be negative", ErrInvalid, EnvName("server.max_uploads")))
	}
	if s.UploadQueue < 0 {
		errs = append(errs, fmt.Errorf("%w: server.upload_queue (%s) must not be negative", ErrInvalid, EnvName("server.upload_queue")))
	}
	return errs
}

// TrustedProxyPrefixes parses server.trusted_proxies.
func (s Server) TrustedProxyPrefixes() ([]netip.Prefix, error) {
	return parsePrefixes("server.trusted_proxies", s.TrustedProxies)
}

// FetchAllowPrefixes parses server.fetch_allow.
func (s Server) FetchAllowPrefixes() ([]netip.Prefix, error) {
	return parsePrefixes("server.fetch_allow", s.FetchAllow)
}

// parsePrefixes parses a comma-separated list of addresses and prefixes;
// errors name the key and its variable.
func parsePrefixes(key, list string) ([]netip.Prefix, error) {
	var entries []string
	for _, e := range strings.Split(list, ",") {
		if e = strings.TrimSpace(e); e != "" {
			entries = append(entries, e)
		}
	}
	p, err := netguard.ParsePrefixes(entries)
	if err != nil {
		return nil, fmt.Errorf("%w: %s (%s): %w", ErrInvalid, key, EnvName(key), err)
	}
	return p, nil
}

// Search configures lexical search.
type Search struct {
	// Engine is index (an in-memory BM25F index in every API process,
	// built from PostgreSQL and kept in sync from its change log) or
	// postgres (PostgreSQL full text, ts_rank_cd: the baseline).
	Engine string `koanf:"engine" yaml:"engine"`
	// Languages are the catalog's languages for stemming, comma separated
	// (en, sv): a mixed catalog lists several.
	Languages string `koanf:"languages" yaml:"languages"`
	// Match is all (products with every query word; any word when none
	// has them all) or any (any word, more words ranking higher).
	Match string `koanf:"match" yaml:"match"`
	// SyncPoll is how often the index reads the change log without a
	// notification.
	SyncPoll time.Duration `koanf:"sync_poll" yaml:"sync_poll"`
	// Fusion is how hybrid search fuses its lexical and vector lists:
	// score (normalised scores, weighted by server.lexical_weight and
	// vector_weight) or rrf (reciprocal rank fusion).
	Fusion string `koanf:"fusion" yaml:"fusion"`
	// VectorFloor is the cosine similarity a vector hit that matches no
	// query word needs to be shown (score fusion).
	VectorFloor float64 `koanf:"vector_floor" yaml:"vector_floor"`
	// LexicalPool is how many lexical candidates hybrid search fuses (at
	// least k): the deeper, the more a strong vector similarity can lift
	// a weaker word match, and the more documents the index scores. 20
	// (twice the default page): grocery hybrid nDCG@10 0.950 at 20, 30, 50
	// and 100 (0.948 at 10); search p50 at a million products 13.4 ms at
	// 20, 16.1 at 30, 24.7 at 100 (bench api, 8 clients).
	LexicalPool int `koanf:"lexical_pool" yaml:"lexical_pool"`
	// VectorPool is how many nearest products the vector leg of hybrid
	// search fetches (at least k): the lexical leg finds the matches, the
	// vector leg adds the few related products worth showing beside them.
	VectorPool int `koanf:"vector_pool" yaml:"vector_pool"`
	// VectorEf is the HNSW ef_search of the vector leg (0: the store's
	// default, max(8 x pool, 80)); the query's cost grows with it.
	VectorEf int `koanf:"vector_ef" yaml:"vector_ef"`
	// Synonyms are synonym rules separated by semicolons: "eggplant =>
	// aubergine" one-way, "courgette, zucchini" multi-way.
	Synonyms string `koanf:"synonyms" yaml:"synonyms"`
	// SynonymsFile holds more rules, one a line (# starts a comment).
	SynonymsFile string `koanf:"synonyms_file" yaml:"synonyms_file"`
}

// Recommend configures how recommendations and similar products are
// served.
type Recommend struct {
	// CacheTTL bounds how long a user's (or a product's) retrieved
	// candidates are reused while the inputs every request reads are
	// unchanged (model and space versions, the user's purchases, latest
	// events, vector and factors): a new or changed product reaches lists
	// retrieved before it within this. 0 retrieves afresh on every request.
	CacheTTL time.Duration `koanf:"cache_ttl" yaml:"cache_ttl"`
	// RefreshWorkers bounds the background workers that refresh a
	// user's retrieval when their events arrive and store it where every
	// process reads it (0: none; requests still read what others store).
	RefreshWorkers int `koanf:"refresh_workers" yaml:"refresh_workers"`
	// ContentSeeds is how many of a user's products (those weighing most
	// in their vector) seed a retrieval's content leg from their stored
	// content-neighbour lists instead of an HNSW search for the user's
	// vector (0: always search).
	ContentSeeds int `koanf:"content_seeds" yaml:"content_seeds"`
	// ContentListsTTL is how long a product's stored content-neighbour
	// list is used before it is computed again: a new product reaches the
	// content leg of users whose seeds' lists predate it within this.
	ContentListsTTL time.Duration `koanf:"content_lists_ttl" yaml:"content_lists_ttl"`
	// RefreshOnActivate bounds the users (those who asked most recently)
	// whose stored retrievals are refreshed in the background when a new
	// model or space is activated, which makes every stored one stale
	// (0: none).
	RefreshOnActivate int `koanf:"refresh_on_activate" yaml:"refresh_on_activate"`
}

// Voice configures search by voice (POST /v1/search/voice): PocketSphinx
// with a language model of the catalog's titles, brands and categories,
// interpolated with the general US English model and rebuilt when the
// products change.
type Voice struct {
	// Enabled: vitrine serve loads the recogniser (when the PocketSphinx
	// model is not installed it logs so and voice search answers 501).
	Enabled bool `koanf:"enabled" yaml:"enabled"`
	// CatalogWeight is the catalog model's interpolation weight against
	// the general one, in (0, 1).
	CatalogWeight float64 `koanf:"catalog_weight" yaml:"catalog_weight"`
	// CatalogKeep is the share of a catalog-model transcript's word pairs
	// that must occur in the catalog's phrases for it to be kept, in
	// (0, 1]; below it the clip is decoded again with the mixed model.
	// 0.5 was chosen on development voices (en-us+m3, en-us+f2 at 160
	// words a minute, not the ones eval voice reports on): spoken product
	// in the top 5, clean / 10 dB, 0.759 / 0.809 at 1, 0.790 / 0.852 at
	// 0.5, 0.796 / 0.852 for the catalog model alone.
	CatalogKeep float64 `koanf:"catalog_keep" yaml:"catalog_keep"`
	// Alternatives is how many readings of a spoken query are searched
	// and fused (1: the transcript alone): the transcript, the catalog
	// model's own when the mixed one was used, and the catalog model's
	// next-best hypotheses. 4 was chosen on the development voices above
	// (at 160 words a minute, with en-us+klatt3 too): top 5, clean / 10
	// dB, 0.819 / 0.840 at 1, 0.868 / 0.897 at 4, 0.868 / 0.872 at 6.
	Alternatives int `koanf:"alternatives" yaml:"alternatives"`
	// Denoise subtracts the noise of the clip's quietest frames from its
	// spectrum before decoding (a clip whose quietest frames are silent
	// is decoded as it is). On the development voices with 4 readings:
	// top 5 at 10 dB 0.897 off, 0.926 on; clean the same (0.868).
	Denoise bool `koanf:"denoise" yaml:"denoise"`
	// Decoders is how many recognitions run at once; each decoder holds
	// its own copy of the models.
	Decoders int `koanf:"decoders" yaml:"decoders"`
	// MaxSeconds is the longest spoken query accepted.
	MaxSeconds float64 `koanf:"max_seconds" yaml:"max_seconds"`
	// Poll is how often the products change log is read for a rebuild of
	// the catalog model.
	Poll time.Duration `koanf:"poll" yaml:"poll"`
}

// Fusion defines the vector space new products are fused into: the
// strategy and a weight per modality (0 leaves the modality out). Changing
// it takes effect through `vitrine backfill`, which builds a new space.
type Fusion struct {
	Strategy    string  `koanf:"strategy" yaml:"strategy"` // weighted_concat or weighted_mean
	TextWeight  float64 `koanf:"text_weight" yaml:"text_weight"`
	ImageWeight float64 `koanf:"image_weight" yaml:"image_weight"`
	AudioWeight float64 `koanf:"audio_weight" yaml:"audio_weight"`
	// Reduce, when positive, is the dimension a backfill reduces the fused
	// vectors to with a PCA fitted on a sample of them; 0 keeps them full.
	Reduce int `koanf:"reduce" yaml:"reduce"`
}

// Ingest configures catalog ingestion.
type Ingest struct {
	BatchSize     int           `koanf:"batch_size" yaml:"batch_size"`
	MaxMediaBytes int64         `koanf:"max_media_bytes" yaml:"max_media_bytes"`
	MediaTimeout  time.Duration `koanf:"media_timeout" yaml:"media_timeout"`
	// Concurrency is how many batches are in flight at once: above 1 one
	// batch's database writes overlap the next batches' encoding; 1 runs
	// them one after another.
	Concurrency int `koanf:"concurrency" yaml:"concurrency"`
	// DeferIndexesBelow: while the catalog holds fewer products than this
	// when `vitrine ingest` starts, the run drops the HNSW indexes, loads
	// and builds them once at its end instead of inserting every vector
	// into them as it lands (ingest.IndexDeferral); 0 keeps them live.
	DeferIndexesBelow int64 `koanf:"defer_indexes_below" yaml:"defer_indexes_below"`
}

// validate checks ingestion's settings.
func (i Ingest) validate() []error {
	var errs []error
	if i.BatchSize < 1 {
		errs = append(errs, fmt.Errorf("%w: ingest.batch_size (%s) must be at least 1", ErrInvalid, EnvName("ingest.batch_size")))
	}
	if i.Concurrency < 1 {
		errs = append(errs, fmt.Errorf("%w: ingest.concurrency (%s) must be at least 1", ErrInvalid, EnvName("ingest.concurrency")))
	}
	if i.DeferIndexesBelow < 0 {
		errs = append(errs, fmt.Errorf("%w: ingest.defer_indexes_below (%s) must be 0 (off) or more", ErrInvalid, EnvName("ingest.defer_indexes_below")))
	}
	return errs
}

// Image configures search by photo: training-free levers applied to the
// catalog's image views held in memory by every API process (pooling and
// flip augmentation are the image model's, chosen by models.image).
type Image struct {
	// Views matches every view of a product in memory (catalog images and
	// extra views) with the levers below; false searches the catalog
	// embeddings in PostgreSQL by plain cosine, without levers.
	Views bool `koanf:"views" yaml:"views"`
	// Centre subtracts the catalog views' mean before the cosine.
	Centre bool `koanf:"centre" yaml:"centre"`
	// CSLSK > 0 scores by CSLS with the k nearest catalog products.
	CSLSK int `koanf:"csls_k" yaml:"csls_k"`
	// ExpandTop > 0 re-ranks by query expansion with the top products'
	// best views, weighted by similarity^ExpandAlpha.
	ExpandTop   int     `koanf:"expand_top" yaml:"expand_top"`
	ExpandAlpha float64 `koanf:"expand_alpha" yaml:"expand_alpha"`
	// TopViews > 1 scores a product by the mean of its best TopViews
	// views instead of its single best.
	TopViews int `koanf:"top_views" yaml:"top_views"`
	// VoteViews > 0 scores a product by a vote of its VoteViews best
	// views, their VotePower-norm (Σ cos^p)^(1/p), instead of its best
	// view (a product with one view scores its cosine); it overrides
	// TopViews.
	VoteViews int     `koanf:"vote_views" yaml:"vote_views"`
	VotePower float64 `koanf:"vote_power" yaml:"vote_power"`
	// CropScale > 0 also encodes the query photo's centre and four corner
	// squares of CropScale × its shorter side, and each view scores the
	// crop nearest it (the crops manifests' augment instead averages the
	// crops, on catalog images too).
	CropScale float64 `koanf:"crop_scale" yaml:"crop_scale"`
	// OCRWeight > 0 reads the printed text on the photo with Tesseract
	// and adds OCRWeight × confidence × its relative lexical match score
	// to each product's visual score; 0 switches OCR off.
	OCRWeight float64 `koanf:"ocr_weight" yaml:"ocr_weight"`
	// OCREngines is how many photos are read at once (each engine holds
	// its language data).
	OCREngines int `koanf:"ocr_engines" yaml:"ocr_engines"`
	// VerifyTop > 0 verifies the best VerifyTop products of the visual
	// ranking geometrically (SIFT keypoints of the photo matched to those
	// of each product's catalog image, RANSAC inliers): a product with
	// more than VerifyMinInliers inliers gains VerifyWeight ×
	// √(inliers − VerifyMinInliers); 0 switches it off.
	VerifyTop        int     `koanf:"verify_top" yaml:"verify_top"`
	VerifyWeight     float64 `koanf:"verify_weight" yaml:"verify_weight"`
	VerifyMinInliers int     `koanf:"verify_min_inliers" yaml:"verify_min_inliers"`
	// Whiten learns a projection from the products' views once two or
	// more products have two or more views (shoppers' photos attached):
	// whitened by how a product's views vary, shrunk by WhitenShrinkage
	// (up to 1; 0 means the default, 0.3), and reduced to the products' discriminant directions
	// (LDA) when at least DiscriminantCover of the products with views
	// have two or more. Catalog-only search is unchanged.
	Whiten            bool    `koanf:"whiten" yaml:"whiten"`
	WhitenShrinkage   float64 `koanf:"whiten_shrinkage" yaml:"whiten_shrinkage"`
	DiscriminantCover float64 `koanf:"discriminant_cover" yaml:"discriminant_cover"`
}

// ExtractsKeypoints reports whether ingest extracts each catalog image's
// keypoints: verification (VerifyTop > 0) checks photos against them.
func (i Image) ExtractsKeypoints() bool { return i.VerifyTop > 0 }

// Worker configures `vitrine worker`.
type Worker struct {
	Concurrency int `koanf:"concurrency" yaml:"concurrency"`
	// RescueAfter is how long a job may run before it is handed to another
	// worker (its worker presumably died).
	RescueAfter time.Duration `koanf:"rescue_after" yaml:"rescue_after"`
	// TrainEvery schedules collaborative-filtering training from the
	// workers (0: only `vitrine train`).
	TrainEvery time.Duration `koanf:"train_every" yaml:"train_every"`
	// TrainBudget is how long a scheduled training searches every method's
	// settings and a blend before fitting and serving the choice, as
	// `vitrine train --budget` (0: fit ALS at its defaults).
	TrainBudget time.Duration `koanf:"train_budget" yaml:"train_budget"`
}

// Database says which PostgreSQL to use. With URL empty Vitrine starts and
// uses its own private cluster under Home/pg.
type Database struct {
	URL string `koanf:"url" yaml:"url"`
	// Port of the private cluster; deliberately not 5432.
	Port int `koanf:"port" yaml:"port"`
	// BinDir holds initdb and pg_ctl; empty means search the usual places.
	BinDir   string `koanf:"bin_dir" yaml:"bin_dir"`
	MaxConns int    `koanf:"max_conns" yaml:"max_conns"`
	// IndexBuildMemory is maintenance_work_mem for HNSW builds: the graph
	// is built in memory while it fits, far faster than on disk. "auto"
	// sizes each build from the rows and dimensions it indexes.
	IndexBuildMemory string `koanf:"index_build_memory" yaml:"index_build_memory"`
	// HNSWM and HNSWEfConstruction are the graph parameters (m,
	// ef_construction) of every HNSW index built from then on: the
	// space's and the models'. Indexes already built keep theirs.
	HNSWM              int `koanf:"hnsw_m" yaml:"hnsw_m"`
	HNSWEfConstruction int `koanf:"hnsw_ef_construction" yaml:"hnsw_ef_construction"`
	// SharedBuffers is the private cluster's shared_buffers: a size or
	// "auto" (a quarter of the memory, 128MB to 2GB). Unused with URL set.
	SharedBuffers string `koanf:"shared_buffers" yaml:"shared_buffers"`
}

// validate checks the database section; the HNSW bounds are pgvector's.
func (d Database) validate() []error {
	var errs []error
	if d.Port <= 0 || d.Port > 65535 {
		errs = append(errs, fmt.Errorf("%w: database.port (%s) is %d", ErrInvalid, EnvName("database.port"), d.Port))
	}
	if d.HNSWM < 2 || d.HNSWM > 100 {
		errs = append(errs, fmt.Errorf("%w: database.hnsw_m (%s) is %d, want 2 to 100", ErrInvalid, EnvName("database.hnsw_m"), d.HNSWM))
	}
	if d.HNSWEfConstruction < max(4, 2*d.HNSWM) || d.HNSWEfConstruction > 1000 {
		errs = append(errs, fmt.Errorf("%w: database.hnsw_ef_construction (%s) is %d, want 2 × database.hnsw_m (at least 4) to 1000",
			ErrInvalid, EnvName("database.hnsw_ef_construction"), d.HNSWEfConstruction))
	}
	return errs
}

// Log configures structured logging.
type Log struct {
	Level  string `koanf:"level" yaml:"level"`   // debug, info, warn, error
	Format string `koanf:"format" yaml:"format"` // text or json
}

// ORT configures ONNX Runtime.
type ORT struct {
	// Library is the path of libonnxruntime.so; empty means Home/lib, or
	// Home/lib-cuda for provider cuda or auto once that is installed.
	Library string `koanf:"library" yaml:"library"`
	// Provider is cpu, cuda or auto (cuda when it loads, else cpu).
	Provider       string `koanf:"provider" yaml:"provider"`
	IntraOpThreads int    `koanf:"intra_op_threads" yaml:"intra_op_threads"`
	InterOpThreads int    `koanf:"inter_op_threads" yaml:"inter_op_threads"`
	// MaxBatch and MaxWait bound dynamic batching of concurrent callers;
	// QueueSize bounds waiting requests before callers are told "overloaded".
	MaxBatch  int           `koanf:"max_batch" yaml:"max_batch"`
	MaxWait   time.Duration `koanf:"max_wait" yaml:"max_wait"`
	QueueSize int           `koanf:"queue_size" yaml:"queue_size"`
}

// Models says where manifests live and which model serves each modality.
type Models struct {
	// Manifests is the directory of model manifests (one file per model).
	Manifests string `koanf:"manifests" yaml:"manifests"`
	// Dir holds fetched and prepared model files; empty means Home/models.
	Dir   string `koanf:"dir" yaml:"dir"`
	Text  string `koanf:"text" yaml:"text"`
	Image string `koanf:"image" yaml:"image"`
	Audio string `koanf:"audio" yaml:"audio"`
}

// Default returns the configuration that runs the demo from the project root.
func Default() Config {
	return Config{
		Home: ".vitrine",
		Database: Database{
			Port:             54329,
			MaxConns:         8,
			IndexBuildMemory: "auto",
			SharedBuffers:    "auto",
			// store.DefaultHNSWM and store.DefaultHNSWEfConstruction.
			HNSWM:              16,
			HNSWEfConstruction: 64,
		},
		Log: Log{Level: "info", Format: "text"},
		ORT: ORT{
			Provider:       "cpu",
			IntraOpThreads: 0, // 0 lets ONNX Runtime use every core
			InterOpThreads: 1,
			MaxBatch:       32,
			MaxWait:        5 * time.Millisecond,
			QueueSize:      1024,
		},
		Models: Models{
			Manifests: "models",
			Text:      "glove-100d",
			Image:     "mobilenetv2-int8-centre-flip",
			Audio:     "speech-embedding",
		},
		Fusion: Fusion{Strategy: "weighted_concat", TextWeight: 0.45, ImageWeight: 0.45, AudioWeight: 0.1},
		Ingest: Ingest{BatchSize: 64, MaxMediaBytes: 20 << 20, MediaTimeout: 15 * time.Second, Concurrency: 3, DeferIndexesBelow: 10_000},
		Worker: Worker{Concurrency: 16, RescueAfter: 5 * time.Minute, TrainBudget: 3 * time.Minute},
		Server: Server{Listen: "127.0.0.1:8080", Auth: "auto", RateLimit: 50, RateBurst: 100, BodyLimit: "12M",
			ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second,
			LexicalWeight: 3, VectorWeight: 1, PersonalWeight: 0.2, HalfLife: 7 * 24 * time.Hour,
			CFWeight: 1, ContentWeight: 0.5, PopularityWeight: 0.2, MMRLambda: 1, ReportsDir: "reports",
			QueryRetention: 90 * 24 * time.Hour, UploadQueue: 2 * time.Second},
		Search: Search{Engine: "index", Languages: "en", Match: "any", SyncPoll: 500 * time.Millisecond,
			Fusion: "score", VectorFloor: 0.4, LexicalPool: 20, VectorPool: 30, VectorEf: 80},
		Image: Image{Views: true, ExpandAlpha: 3, VoteViews: 10, VotePower: 16, OCREngines: 2, VerifyTop: 10, VerifyWeight: 0.02, VerifyMinInliers: 6,
			Whiten: true, WhitenShrinkage: 0.3, DiscriminantCover: 0.9},
		Recommend:   Recommend{CacheTTL: 30 * time.Second, RefreshWorkers: 2, ContentSeeds: 5, ContentListsTTL: time.Hour, RefreshOnActivate: 1000},
		Voice:       Voice{Enabled: true, CatalogWeight: 0.9, CatalogKeep: 0.5, Alternatives: 4, Denoise: true, Decoders: 2, MaxSeconds: 15, Poll: 10 * time.Second},
		Impressions: Impressions{Enabled: true, Buffer: 10000, FlushEvery: time.Second, BatchSize: 500, Retention: 90 * 24 * time.Hour},
	}
}

// Load builds the effective configuration. path may be empty; if it is and
// ./vitrine.yaml exists, that file is read. environ is usually os.Environ.
func Load(path string, environ func() []string) (Config, error) {
	k := koanf.New(".")
	if err := k.Load(structs.Provider(Default(), "koanf"), nil); err != nil {
		return Config{}, fmt.Errorf("config defaults: %w", err)
	}
	if path == "" {
		if _, err := os.Stat("vitrine.yaml"); err == nil {
			path = "vitrine.yaml"
		}
	}
	if path != "" {
		if err := k.Load(file.Provider(path), yaml.Parser()); err != nil {
			return Config{}, fmt.Errorf("config file %s: %w", path, err)
		}
	}
	known := envKeys(k.Keys())
	var unknown []string
	err := k.Load(env.Provider(".", env.Opt{
		Prefix:      EnvPrefix,
		EnvironFunc: environ,
		TransformFunc: func(name, value string) (string, any) {
			key, ok := known[name]
			if !ok {
				// Variables that only scripts read (VITRINE_TEST_DATABASE_URL)
				// share the prefix; note them but do not fail.
				unknown = append(unknown, name)
				return "", nil
			}
			return key, value
		},
	}), nil)
	if err != nil {
		return Config{}, fmt.Errorf("config environment: %w", err)
	}
	var c Config
	if err := k.UnmarshalWithConf("", &c, koanf.UnmarshalConf{Tag: "koanf"}); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// EnvName is the environment variable that sets a koanf key.
func EnvName(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

func envKeys(keys []string) map[string]string {
	m := make(map[string]string, len(keys))
	for _, k := range keys {
		m[EnvName(k)] = k
	}
	return m
}

// Keys lists every configuration key with its environment variable, sorted,
// for documentation and `vitrine config --env`.
func Keys() [][2]string {
	k := koanf.New(".")
	_ = k.Load(structs.Provider(Default(), "koanf"), nil)
	keys := k.Keys()
	sort.Strings(keys)
	out := make([][2]string, 0, len(keys))
	for _, key := range keys {
		out = append(out, [2]string{key, EnvName(key)})
	}
	return out
}

// ErrInvalid marks a configuration value that cannot work.
var ErrInvalid = errors.New("invalid configuration")

// Validate checks values whose mistakes would otherwise surface late.
func (c Config) Validate() error {
	var errs []error
	switch c.ORT.Provider {
	case "cpu", "cuda", "auto":
	default:
		errs = append(errs, fmt.Errorf("%w: ort.provider (%s) is %q, want cpu, cuda or auto", ErrInvalid, EnvName("ort.provider"), c.ORT.Provider))
	}
	errs = append(errs, c.Database.validate()...)
	if c.Image.CSLSK < 0 || c.Image.ExpandTop < 0 || !(c.Image.ExpandAlpha >= 0) || c.Image.TopViews < 0 || !(c.Image.OCRWeight >= 0) || c.Image.OCREngines < 0 ||
		c.Image.VoteViews < 0 || !(c.Image.VotePower >= 0) || !(c.Image.CropScale >= 0 && c.Image.CropScale <= 1) ||
		c.Image.VerifyTop < 0 || !(c.Image.VerifyWeight >= 0) || c.Image.VerifyMinInliers < 0 || !(c.Image.DiscriminantCover >= 0) ||
		!(c.Image.WhitenShrinkage >= 0 && c.Image.WhitenShrinkage <= 1) {
		errs = append(errs, fmt.Errorf("%w: image.csls_k, image.expand_top, image.expand_alpha, image.top_views, image.vote_views, image.vote_power, image.ocr_weight, image.ocr_engines, image.verify_* and image.discriminant_cover must not be negative, image.crop_scale and image.whiten_shrinkage are 0 to 1", ErrInvalid))
	}
	if c.ORT.MaxBatch < 1 {
		errs = append(errs, fmt.Errorf("%w: ort.max_batch (%s) must be at least 1", ErrInvalid, EnvName("ort.max_batch")))
	}
	if c.ORT.QueueSize < 1 {
		errs = append(errs, fmt.Errorf("%w: ort.queue_size (%s) must be at least 1", ErrInvalid, EnvName("ort.queue_size")))
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("%w: log.format (%s) is %q, want text or json", ErrInvalid, EnvName("log.format"), c.Log.Format))
	}
	switch c.Fusion.Strategy {
	case "weighted_concat", "weighted_mean":
	default:
		errs = append(errs, fmt.Errorf("%w: fusion.strategy (%s) is %q, want weighted_concat or weighted_mean", ErrInvalid, EnvName("fusion.strategy"), c.Fusion.Strategy))
	}
	for _, kw := range []struct {
		key string
		w   float64
	}{{"fusion.text_weight", c.Fusion.TextWeight}, {"fusion.image_weight", c.Fusion.ImageWeight}, {"fusion.audio_weight", c.Fusion.AudioWeight}} {
		if kw.w < 0 || kw.w != kw.w {
			errs = append(errs, fmt.Errorf("%w: %s (%s) must not be negative", ErrInvalid, kw.key, EnvName(kw.key)))
		}
	}
	if c.Fusion.Reduce < 0 {
		errs = append(errs, fmt.Errorf("%w: fusion.reduce (%s) must not be negative (0 keeps the fused vectors full)", ErrInvalid, EnvName("fusion.reduce")))
	}
	errs = append(errs, c.Ingest.validate()...)
	if c.Worker.Concurrency < 1 {
		errs = append(errs, fmt.Errorf("%w: worker.concurrency (%s) must be at least 1", ErrInvalid, EnvName("worker.concurrency")))
	}
	errs = append(errs, c.Search.validate()...)
	errs = append(errs, c.Server.validate()...)
	errs = append(errs, c.Voice.validate()...)
	if c.Recommend.RefreshWorkers < 0 {
		errs = append(errs, fmt.Errorf("%w: recommend.refresh_workers (%s) is %d, want 0 (off) or more", ErrInvalid, EnvName("recommend.refresh_workers"), c.Recommend.RefreshWorkers))
	}
	if c.Recommend.CacheTTL < 0 {
		errs = append(errs, fmt.Errorf("%w: recommend.cache_ttl (%s) is %s, want 0 (off) or more", ErrInvalid, EnvName("recommend.cache_ttl"), c.Recommend.CacheTTL))
	}
	if c.Recommend.ContentSeeds < 0 {
		errs = append(errs, fmt.Errorf("%w: recommend.content_seeds (%s) is %d, want 0 (always search) or more", ErrInvalid, EnvName("recommend.content_seeds"), c.Recommend.ContentSeeds))
	}
	if c.Recommend.RefreshOnActivate < 0 {
		errs = append(errs, fmt.Errorf("%w: recommend.refresh_on_activate (%s) is %d, want 0 (off) or more", ErrInvalid, EnvName("recommend.refresh_on_activate"), c.Recommend.RefreshOnActivate))
	}
	if c.Recommend.ContentListsTTL <= 0 {
		errs = append(errs, fmt.Errorf("%w: recommend.content_lists_ttl (%s) is %s, want more than 0", ErrInvalid, EnvName("recommend.content_lists_ttl"), c.Recommend.ContentListsTTL))
	}
	if c.Home == "" {
		errs = append(errs, fmt.Errorf("%w: home (%s) is empty", ErrInvalid, EnvName("home")))
	}
	if _, err := c.ParseExperiment(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.Impressions.validate()...)
	return errors.Join(errs...)
}

// validate checks the search section.
func (c Search) validate() []error {
	var errs []error
	switch c.Engine {
	case "index", "postgres":
	default:
		errs = append(errs, fmt.Errorf("%w: search.engine (%s) is %q, want index or postgres", ErrInvalid, EnvName("search.engine"), c.Engine))
	}
	if c.Match != "all" && c.Match != "any" {
		errs = append(errs, fmt.Errorf("%w: search.match (%s) is %q, want all or any", ErrInvalid, EnvName("search.match"), c.Match))
	}
	if c.Fusion != "score" && c.Fusion != "rrf" {
		errs = append(errs, fmt.Errorf("%w: search.fusion (%s) is %q, want score or rrf", ErrInvalid, EnvName("search.fusion"), c.Fusion))
	}
	if !(c.VectorFloor >= -1 && c.VectorFloor <= 1) {
		errs = append(errs, fmt.Errorf("%w: search.vector_floor (%s) is %g, want a cosine in [-1, 1]", ErrInvalid, EnvName("search.vector_floor"), c.VectorFloor))
	}
	if c.LexicalPool < 1 || c.LexicalPool > 1000 {
		errs = append(errs, fmt.Errorf("%w: search.lexical_pool (%s) is %d, want 1 to 1000", ErrInvalid, EnvName("search.lexical_pool"), c.LexicalPool))
	}
	if c.VectorPool < 1 || c.VectorPool > 1000 {
		errs = append(errs, fmt.Errorf("%w: search.vector_pool (%s) is %d, want 1 to 1000", ErrInvalid, EnvName("search.vector_pool"), c.VectorPool))
	}
	if c.VectorEf < 0 || c.VectorEf > 1000 {
		errs = append(errs, fmt.Errorf("%w: search.vector_ef (%s) is %d, want 0 to 1000", ErrInvalid, EnvName("search.vector_ef"), c.VectorEf))
	}
	if c.SyncPoll <= 0 {
		errs = append(errs, fmt.Errorf("%w: search.sync_poll (%s) must be positive", ErrInvalid, EnvName("search.sync_poll")))
	}
	return errs
}

// validate checks the impressions section.
func (im Impressions) validate() []error {
	var errs []error
	if im.Buffer < 1 {
		errs = append(errs, fmt.Errorf("%w: impressions.buffer (%s) must be at least 1", ErrInvalid, EnvName("impressions.buffer")))
	}
	if im.BatchSize < 1 {
		errs = append(errs, fmt.Errorf("%w: impressions.batch_size (%s) must be at least 1", ErrInvalid, EnvName("impressions.batch_size")))
	}
	if im.FlushEvery <= 0 {
		errs = append(errs, fmt.Errorf("%w: impressions.flush_every (%s) must be positive", ErrInvalid, EnvName("impressions.flush_every")))
	}
	if im.Retention < 0 {
		errs = append(errs, fmt.Errorf("%w: impressions.retention (%s) must not be negative", ErrInvalid, EnvName("impressions.retention")))
	}
	return errs
}

// ParseExperiment returns the configured experiment, nil when
// experiment.name is empty. Errors name the keys and their variables.
func (c Config) ParseExperiment() (*experiment.Experiment, error) {
	e, err := experiment.Parse(c.Experiment.Name, c.Experiment.Variants, c.Experiment.Overrides)
	if err != nil {
		return nil, fmt.Errorf("%w: experiment (%s, %s, %s): %w", ErrInvalid,
			EnvName("experiment.name"), EnvName("experiment.variants"), EnvName("experiment.overrides"), err)
	}
	return e, nil
}

// Abs resolves a path relative to the working directory, leaving "" alone.
func Abs(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

// ORTLibrary is the effective ONNX Runtime library path: ort.library when
// set; else, for provider cuda or auto, the CUDA build when `vitrine models
// fetch --gpu` installed it (ORTCUDALibrary); else the CPU build, on which
// cuda fails with the pieces it lacks and auto falls back to cpu.
func (c Config) ORTLibrary() string {
	if c.ORT.Library == "" && (c.ORT.Provider == "cuda" || c.ORT.Provider == "auto") {
		// The CUDA build also runs the CPU provider, so auto loses nothing by
		// preferring it.
		if st, err := os.Stat(c.ORTCUDALibrary()); err == nil && !st.IsDir() {
			return c.ORTCUDALibrary()
		}
	}
	return c.ORTCPULibrary()
}

// ORTCPULibrary is where `vitrine models fetch` installs the CPU build of
// ONNX Runtime: ort.library when set, else Home/lib/libonnxruntime.so.1.
func (c Config) ORTCPULibrary() string {
	if c.ORT.Library != "" {
		return Abs(c.ORT.Library)
	}
	return filepath.Join(Abs(c.Home), "lib", "libonnxruntime.so.1")
}

// ORTCUDALibrary is where `vitrine models fetch --gpu` installs the CUDA
// build of ONNX Runtime, with its provider libraries beside it: a directory
// of its own, so CPU and GPU libraries never mix.
func (c Config) ORTCUDALibrary() string {
	return filepath.Join(Abs(c.Home), "lib-cuda", "libonnxruntime.so.1")
}

// ModelDir is the effective directory of prepared model files.
func (c Config) ModelDir() string {
	if c.Models.Dir != "" {
		return Abs(c.Models.Dir)
	}
	return filepath.Join(Abs(c.Home), "models")
}

// ClusterDir is where the private PostgreSQL cluster lives.
func (c Config) ClusterDir() string {
	return filepath.Join(Abs(c.Home), "pg")
}

func (v Voice) validate() []error {
	var errs []error
	if !(v.CatalogWeight > 0 && v.CatalogWeight < 1) {
		errs = append(errs, fmt.Errorf("%w: voice.catalog_weight (%s) is %g, want a weight in (0, 1)", ErrInvalid, EnvName("voice.catalog_weight"), v.CatalogWeight))
	}
	if !(v.CatalogKeep > 0 && v.CatalogKeep <= 1) {
		errs = append(errs, fmt.Errorf("%w: voice.catalog_keep (%s) is %g, want a share in (0, 1]", ErrInvalid, EnvName("voice.catalog_keep"), v.CatalogKeep))
	}
	if v.Alternatives < 1 {
		errs = append(errs, fmt.Errorf("%w: voice.alternatives (%s) is %d, want at least 1", ErrInvalid, EnvName("voice.alternatives"), v.Alternatives))
	}
	if v.Decoders < 1 {
		errs = append(errs, fmt.Errorf("%w: voice.decoders (%s) is %d, want at least 1", ErrInvalid, EnvName("voice.decoders"), v.Decoders))
	}
	if !(v.MaxSeconds > 0) {
		errs = append(errs, fmt.Errorf("%w: voice.max_seconds (%s) must be positive", ErrInvalid, EnvName("voice.max_seconds")))
	}
	if v.Poll <= 0 {
		errs = append(errs, fmt.Errorf("%w: voice.poll (%s) must be positive", ErrInvalid, EnvName("voice.poll")))
	}
	return errs
}

// YAML renders the configuration as a file Load would accept. The database
// URL's password is masked.
func (c Config) YAML() ([]byte, error) {
	c.Database.URL = maskPassword(c.Database.URL)
	return yamlv3.Marshal(c)
}

func maskPassword(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.User == nil {
		return u
	}
	if _, ok := p.User.Password(); ok {
		p.User = url.UserPassword(p.User.Username(), "xxxxx")
	}
	return p.String()
}
