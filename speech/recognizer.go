package speech

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Errors of the package; match them with errors.Is.
var (
	// ErrModel: the PocketSphinx model files are missing or do not load.
	ErrModel = errors.New("speech: model not loaded")
	// ErrNoVocabulary: a catalog language model needs at least one word.
	ErrNoVocabulary = errors.New("speech: no vocabulary")
	// ErrUnknownModel: a language model name other than Catalog and General.
	ErrUnknownModel = errors.New("speech: unknown language model")
)

// SampleRate is the rate, in Hz, of the samples Recognize takes.
const SampleRate = 16000

// The language models a recognition can use.
const (
	// Catalog decodes with the catalog model alone (CatalogOnly: fast,
	// and the most accurate on product names) and keeps that transcript
	// when it is a path through the catalog's phrases (by default every
	// pair of neighbouring words, start and end included, occurs in a
	// title, brand or category; WithCatalogKeep relaxes the share);
	// otherwise something else was said and it
	// decodes again with the catalog model interpolated with the general
	// one (Mixed). Before a catalog model is built it is the general
	// model.
	Catalog = "catalog"
	// CatalogOnly is the catalog model alone: whatever is said comes out
	// as catalog words. Neither its confidence ("chocolate chip cookies"
	// is heard as "juice" at 0.98) nor the acoustic fit of its transcript
	// against Mixed's tells when something else was said.
	CatalogOnly = "catalog-only"
	// Mixed is the catalog model interpolated with the general one.
	Mixed = "mixed"
	// General is PocketSphinx's general US English model.
	General = "general"
)

// DefaultSearchArgs are the PocketSphinx beams every decoder uses unless
// WithSearchArgs overrides them: narrower than PocketSphinx's own
// (-beam 1e-48, -wbeam 7e-29, -pbeam 1e-48), they halve the time of a
// Mixed or General decode over 70,000 words (1.03 to 0.43 CPU seconds for
// a 3-second clip) at some cost in its accuracy (exact transcripts of the
// 81 demo product names in one Klatt voice, 37 to 29).
var DefaultSearchArgs = []string{"-beam", "1e-40", "-wbeam", "1e-20", "-pbeam", "1e-40"}

// Model names the PocketSphinx files.
type Model struct {
	// Acoustic is the acoustic model directory, Dictionary the
	// pronunciation dictionary, LanguageModel the general language model.
	Acoustic, Dictionary, LanguageModel string
}

// DefaultModelDir is where Debian's pocketsphinx-en-us puts the model.
const DefaultModelDir = "/usr/share/pocketsphinx/model/en-us"

// ModelIn returns the en-us model's files in dir.
func ModelIn(dir string) Model {
	return Model{Acoustic: filepath.Join(dir, "en-us"), Dictionary: filepath.Join(dir, "cmudict-en-us.dict"),
		LanguageModel: filepath.Join(dir, "en-us.lm.bin")}
}

// Option configures a Recognizer.
type Option func(*Recognizer)

// WithModel sets the model files (default ModelIn(DefaultModelDir)).
func WithModel(m Model) Option { return func(r *Recognizer) { r.model = m } }

// WithDecoders sets how many recognitions run at once, each on a decoder of
// its own (default 1; every decoder holds its own copy of the models).
func WithDecoders(n int) Option {
	return func(r *Recognizer) {
		if n > 0 {
			r.n = n
		}
	}
}

// WithCatalogWeight sets the catalog model's interpolation weight against
// the general model, in (0, 1) (default 0.9).
func WithCatalogWeight(w float64) Option {
	return func(r *Recognizer) {
		if w > 0 && w < 1 {
			r.weight = w
		}
	}
}

// WithCatalogKeep sets how much of a Catalog transcript must be a path
// through the catalog's phrases for it to be kept: the share of its word
// pairs (sentence start and end included) that occur in a title, brand or
// category, in (0, 1] (default 1: every pair). Below it, the clip is
// decoded again with the Mixed model.
func WithCatalogKeep(share float64) Option {
	return func(r *Recognizer) {
		if share > 0 && share <= 1 {
			r.keep = share
		}
	}
}

// WithAlternatives sets how many readings of a clip a recognition
// returns (Transcript.Readings, default 1: the transcript alone): the
// transcript, then, when a Catalog recognition fell back to the Mixed
// model, the catalog model's own transcript, then the catalog model's
// next-best hypotheses (its lattice's n-best paths). Searching them all
// lets a slightly wrong transcript still find the product.
func WithAlternatives(n int) Option {
	return func(r *Recognizer) {
		if n > 0 {
			r.alts = n
		}
	}
}

// WithDenoise turns spectral subtraction of stationary noise (Denoise)
// before decoding on or off (default off).
func WithDenoise(on bool) Option { return func(r *Recognizer) { r.denoise = on } }

// WithDither turns the dither of the decoded samples on or off (default
// on; see toPCM).
func WithDither(on bool) Option { return func(r *Recognizer) { r.dither = on } }

// WithSearchArgs adds PocketSphinx command-line arguments to every
// decoder, as name, value pairs ("-beam", "1e-40"): the search's beams,
// frame downsampling (-ds) and the like. They follow the defaults, so
// they override them; DefaultSearchArgs come first.
func WithSearchArgs(args ...string) Option {
	return func(r *Recognizer) { r.args = append(r.args, args...) }
}

// WithPronouncer sets how words outside the dictionary are pronounced
// (default Espeak{}); nil leaves such words out of the catalog model.
func WithPronouncer(p Pronouncer) Option { return func(r *Recognizer) { r.g2p = p } }

// WithMaxAudio bounds what Transcribe accepts: seconds of audio and bytes
// of file (defaults 30 s and 8 MiB).
func WithMaxAudio(seconds float64, bytes int) Option {
	return func(r *Recognizer) {
		if seconds > 0 {
			r.maxSeconds = seconds
		}
		if bytes > 0 {
			r.maxBytes = bytes
		}
	}
}

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(r *Recognizer) {
		if l != nil {
			r.log = l
		}
	}
}

// Transcript is what was heard.
type Transcript struct {
	Text string
	// Confidence is the posterior probability of Text, in [0, 1].
	Confidence float64
	// Model is the language model asked for (Catalog, CatalogOnly, Mixed
	// or General).
	Model string
	// Mixed: a Catalog recognition fell back to the Mixed model.
	Mixed bool
	// Readings are the distinct readings of the clip, best first, Text
	// the first (none when nothing was heard): at most WithAlternatives'
	// count.
	Readings []string
}

// Recognizer turns 16 kHz mono speech into text. It is safe for
// concurrent use: recognitions take a decoder from a pool.
type Recognizer struct {
	model  Model
	n      int
	weight float64
	keep   float64 // share of catalog bigrams a Catalog transcript needs
	alts   int     // readings a recognition returns
	// denoise: Denoise the samples before decoding; dither: toPCM's.
	denoise, dither bool
	args            []string
	g2p             Pronouncer
	log             *slog.Logger
	// maxSeconds and maxBytes bound Transcribe's input.
	maxSeconds float64
	maxBytes   int

	pool chan *decoder
	// build serialises catalog builds; mu guards the state below.
	build   sync.Mutex
	mu      sync.Mutex
	catalog bool
	words   int
	// pairs are the catalog phrases' bigrams (sentence markers included).
	pairs map[[2]string]bool
	gen   int
}

// New loads the decoders. It fails with ErrModel when the model files
// are missing.
func New(opts ...Option) (*Recognizer, error) {
	r := &Recognizer{model: ModelIn(DefaultModelDir), n: 1, weight: 0.9, keep: 1, alts: 1, dither: true, args: slices.Clone(DefaultSearchArgs), g2p: Espeak{}, log: slog.New(slog.DiscardHandler),
		maxSeconds: 30, maxBytes: 8 << 20}
	for _, o := range opts {
		o(r)
	}
	r.args = lastArgs(r.args)
	for _, f := range []string{r.model.Acoustic, r.model.Dictionary, r.model.LanguageModel} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("%w: %w (install pocketsphinx-en-us)", ErrModel, err)
		}
	}
	r.pool = make(chan *decoder, r.n)
	for range r.n {
		d, err := newDecoder(r.model, r.args)
		if err != nil {
			r.Close()
			return nil, err
		}
		r.pool <- d
	}
	return r, nil
}

// lastArgs keeps the last value of each argument name (PocketSphinx
// refuses a name given twice), in the order the names first came.
func lastArgs(args []string) []string {
	val := map[string]string{}
	var names []string
	for i := 0; i+1 < len(args); i += 2 {
		if _, ok := val[args[i]]; !ok {
			names = append(names, args[i])
		}
		val[args[i]] = args[i+1]
	}
	out := make([]string, 0, 2*len(names))
	for _, n := range names {
		out = append(out, n, val[n])
	}
	return out
}

// Close frees the decoders; recognitions in flight finish first.
func (r *Recognizer) Close() {
	for range len(r.pool) {
		(<-r.pool).close()
	}
}

// HasCatalog reports whether a catalog model is built, and of how many
// words.
func (r *Recognizer) HasCatalog() (bool, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.catalog, r.words
}

// Recognize decodes samples (16 kHz mono, in [-1, 1]) with the named
// language model ("" is Catalog).
func (r *Recognizer) Recognize(ctx context.Context, samples []float32, model string) (Transcript, error) {
	searches, err := r.searches(model)
	if err != nil {
		return Transcript{}, err
	}
	if r.denoise {
		samples = Denoise(samples)
	}
	pcm := toPCM(samples, r.dither)
	var d *decoder
	select {
	case d = <-r.pool:
	case <-ctx.Done():
		return Transcript{}, ctx.Err()
	}
	defer func() { r.pool <- d }()
	if model == "" {
		model = Catalog
	}
	var t Transcript
	var others []string // the catalog model's readings when it was not the last
	for i, s := range searches {
		if i > 0 && r.catalogShare(t.Text) >= r.keep {
			break
		}
		others = t.Readings
		h, err := d.decode(s, pcm)
		if err != nil {
			return Transcript{}, err
		}
		t = Transcript{Text: strings.TrimSpace(h.text), Confidence: max(0, min(1, h.confidence)), Model: model, Mixed: i > 0}
		t.Readings = []string{t.Text}
		if r.alts > 1 && s == searchCatalog {
			for _, alt := range d.nbest(r.alts, nbestPaths) {
				t.Readings = append(t.Readings, alt.text)
			}
		}
	}
	t.Readings = distinctReadings(append(t.Readings, others...), r.alts)
	return t, nil
}

// nbestPaths bounds the lattice paths read for alternative readings:
// many differ from another only in silences and fillers.
const nbestPaths = 20

// distinctReadings keeps the first n distinct non-empty readings.
func distinctReadings(readings []string, n int) []string {
	out := make([]string, 0, n)
	for _, x := range readings {
		if x != "" && !slices.Contains(out, x) && len(out) < n {
			out = append(out, x)
		}
	}
	return out
}

// toPCM converts samples in [-1, 1] to 16-bit PCM. With dither, a
// quarter of the samples, drawn by a generator seeded with the clip's
// length (the same clip is decoded the same way every time), are raised by
// one step, as PocketSphinx's -dither does with its process-wide
// generator: digital silence between words otherwise leaves the front
// end's log energies and noise estimate at their floor, and the words of
// a clean clip are cut short or lost.
func toPCM(samples []float32, dither bool) []int16 {
	pcm := make([]int16, len(samples))
	rng := rand.New(rand.NewPCG(uint64(len(samples)), 0x5eed))
	for i, v := range samples {
		x := math.Round(float64(max(-1, min(1, v))) * 32767)
		if dither && rng.IntN(4) == 0 {
			x = min(x+1, 32767)
		}
		pcm[i] = int16(x)
	}
	return pcm
}

// catalogShare is the share of text's word pairs, from the sentence
// start to its end, that occur in the catalog phrases (0 for no words).
func (r *Recognizer) catalogShare(text string) float64 {
	ws := Words(text)
	if len(ws) == 0 {
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	prev, in := sentStart, 0
	for _, w := range append(ws, sentEnd) {
		if r.pairs[[2]string{prev, w}] {
			in++
		}
		prev = w
	}
	return float64(in) / float64(len(ws)+1)
}

// searches returns the decoder searches a model runs: Catalog's second
// runs only when the first heard no path through the catalog phrases.
func (r *Recognizer) searches(model string) ([]string, error) {
	r.mu.Lock()
	built := r.catalog
	r.mu.Unlock()
	switch model {
	case General:
		return []string{searchGeneral}, nil
	case Catalog, "", CatalogOnly, Mixed:
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnknownModel, model)
	}
	switch {
	case !built:
		return []string{searchGeneral}, nil
	case model == CatalogOnly:
		return []string{searchCatalog}, nil
	case model == Mixed:
		return []string{searchMixed}, nil
	}
	return []string{searchCatalog, searchMixed}, nil
}

// Build makes the catalog language model of phrases (titles, brands,
// category names) and installs it in every decoder, adding the words the
// dictionary lacks with the Pronouncer's pronunciations. Recognitions go
// on meanwhile on the decoders not being updated.
func (r *Recognizer) Build(ctx context.Context, phrases []string) error {
	start := time.Now()
	dir, err := os.MkdirTemp("", "vitrine-speech-")
	if err != nil {
		return fmt.Errorf("speech: %w", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "catalog.arpa")
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("speech: %w", err)
	}
	vocab, err := WriteARPA(f, phrases)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	r.build.Lock()
	defer r.build.Unlock()
	prons, err := r.pronounce(ctx, vocab)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.gen++
	gen := r.gen
	r.mu.Unlock()
	for done := 0; done < r.n; {
		ok, err := r.install(ctx, gen, path, prons)
		if err != nil {
			return err
		}
		if ok {
			done++
		}
	}
	r.mu.Lock()
	r.catalog, r.words, r.pairs = true, len(vocab), countPhrases(phrases).pairs()
	r.mu.Unlock()
	r.log.Info("catalog speech model built", "phrases", len(phrases), "words", len(vocab),
		"pronounced", len(prons), "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// pronounce returns pronunciations of the vocabulary's words that the
// dictionary lacks.
func (r *Recognizer) pronounce(ctx context.Context, vocab []string) (map[string][]string, error) {
	d := <-r.pool
	var oov []string
	for _, w := range vocab {
		if !d.words[w] && !d.known(w) {
			oov = append(oov, w)
		}
	}
	r.pool <- d
	if len(oov) == 0 || r.g2p == nil {
		return map[string][]string{}, nil
	}
	return r.g2p.Pronounce(ctx, oov)
}

// install takes the next decoder from the pool and, unless it already
// holds generation gen, adds the words and installs the model at path. It
// reports whether it updated one.
func (r *Recognizer) install(ctx context.Context, gen int, path string, prons map[string][]string) (bool, error) {
	var d *decoder
	select {
	case d = <-r.pool:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { r.pool <- d }()
	if d.gen == gen {
		return false, nil
	}
	for w, ph := range prons {
		if err := d.addWord(w, ph); err != nil {
			r.log.Warn("word left out of the catalog speech model", "word", w, "err", err)
		}
	}
	if _, err := d.setCatalog(path, r.model.LanguageModel, r.weight); err != nil {
		return false, err
	}
	d.gen = gen
	return true, nil
}
