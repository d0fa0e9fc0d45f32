package speech

/*
#cgo pkg-config: pocketsphinx sphinxbase
#include <stdlib.h>
#include <pocketsphinx.h>
#include <sphinxbase/ngram_model.h>
#include <sphinxbase/err.h>

// vt_init builds a decoder from n command-line arguments (name, value
// pairs): the model files, the search's settings. An argument PocketSphinx
// does not know, or one given twice, fails it.
static ps_decoder_t *vt_init(int n, char **args) {
	cmd_ln_t *cfg = cmd_ln_parse_r(NULL, ps_args(), n, args, TRUE);
	if (cfg == NULL) return NULL;
	ps_decoder_t *ps = ps_init(cfg);
	cmd_ln_free_r(cfg);
	return ps;
}

// vt_set_catalog installs two searches: under alone the catalog model at
// path by itself (a small vocabulary, fast), under mixed the same model
// interpolated with the general model at general (weight w for the
// catalog's), sharing the decoder's log-math. It returns the mixed set's
// reference count after handing it to the decoder (the decoder keeps
// one), or a negative number on failure.
static int vt_set_catalog(ps_decoder_t *ps, const char *alone, const char *mixed, const char *path, const char *general, float w) {
	logmath_t *lmath = ps_get_logmath(ps);
	cmd_ln_t *cfg = ps_get_config(ps);
	ngram_model_t *cat = ngram_model_read(cfg, path, NGRAM_ARPA, lmath);
	if (cat == NULL) return -2;
	if (ps_set_lm(ps, alone, cat) < 0) { ngram_model_free(cat); return -5; }
	ngram_model_t *gen = ngram_model_read(cfg, general, NGRAM_AUTO, lmath);
	if (gen == NULL) { ngram_model_free(cat); return -1; }
	ngram_model_t *models[2] = {cat, gen};
	char *names[2] = {"catalog", "general"};
	float32 weights[2] = {w, 1.0f - w};
	ngram_model_t *set = ngram_model_set_init(cfg, models, names, weights, 2);
	if (set == NULL) { ngram_model_free(cat); ngram_model_free(gen); return -3; }
	if (ps_set_lm(ps, mixed, set) < 0) { ngram_model_free(set); return -4; }
	return ngram_model_free(set);
}

static int vt_decode(ps_decoder_t *ps, const char *search, const int16 *pcm, size_t n) {
	if (ps_set_search(ps, search) < 0) return -1;
	if (ps_start_utt(ps) < 0) return -2;
	if (ps_process_raw(ps, pcm, n, FALSE, TRUE) < 0) { ps_end_utt(ps); return -3; }
	if (ps_end_utt(ps) < 0) return -4;
	return 0;
}

// vt_nbest_hyp is the hypothesis of the n-best iterator's current path
// and its path score (log-math units); NULL when none.
static const char *vt_nbest_hyp(ps_nbest_t *nb, int32 *score) {
	return nb == NULL ? NULL : ps_nbest_hyp(nb, score);
}

static double vt_confidence(ps_decoder_t *ps) {
	return logmath_exp(ps_get_logmath(ps), ps_get_prob(ps));
}
*/
import "C"

import (
	"errors"
	"fmt"
	"strings"
	"unsafe"
)

// Search names of a decoder: the general model is PocketSphinx's own
// default search over en-us.lm.bin.
// The catalog search decodes with the catalog model alone, the mixed one
// with it interpolated with the general model.
const (
	searchGeneral = "_default"
	searchCatalog = "catalog"
	searchMixed   = "mixed"
)

// decoder is one PocketSphinx decoder. It is not safe for concurrent use:
// the Recognizer hands each to one caller at a time.
type decoder struct {
	ps *C.ps_decoder_t
	// words are the catalog words added to the dictionary so far.
	words map[string]bool
	// gen is the catalog model generation the decoder holds (0: none).
	gen int
}

// newDecoder loads a decoder of model m with lattice best-path search on,
// so that posteriors (the confidence) exist, and the extra PocketSphinx
// arguments args (name, value pairs).
func newDecoder(m Model, args []string) (*decoder, error) {
	all := append([]string{"-hmm", m.Acoustic, "-dict", m.Dictionary, "-lm", m.LanguageModel,
		"-bestpath", "yes", "-logfn", "/dev/null"}, args...)
	argv := C.malloc(C.size_t(len(all)) * C.size_t(unsafe.Sizeof(uintptr(0))))
	defer C.free(argv)
	cargs := unsafe.Slice((**C.char)(argv), len(all))
	for i, a := range all {
		cargs[i] = C.CString(a)
		defer C.free(unsafe.Pointer(cargs[i]))
	}
	ps := C.vt_init(C.int(len(all)), (**C.char)(argv))
	if ps == nil {
		return nil, fmt.Errorf("%w: PocketSphinx did not load %s, %s and %s with %q", ErrModel, m.Acoustic, m.Dictionary, m.LanguageModel, args)
	}
	return &decoder{ps: ps, words: map[string]bool{}}, nil
}

func (d *decoder) close() {
	if d.ps != nil {
		C.ps_free(d.ps)
		d.ps = nil
	}
}

// known reports whether the dictionary has word.
func (d *decoder) known(word string) bool {
	w := C.CString(word)
	defer C.free(unsafe.Pointer(w))
	p := C.ps_lookup_word(d.ps, w)
	if p == nil {
		return false
	}
	C.free(unsafe.Pointer(p))
	return true
}

// addWord adds word with its ARPAbet phones to the dictionary.
func (d *decoder) addWord(word string, phones []string) error {
	if d.words[word] || d.known(word) {
		return nil
	}
	w, p := C.CString(word), C.CString(strings.Join(phones, " "))
	defer C.free(unsafe.Pointer(w))
	defer C.free(unsafe.Pointer(p))
	if C.ps_add_word(d.ps, w, p, 0) < 0 {
		return fmt.Errorf("speech: adding %q /%s/ to the dictionary failed", word, strings.Join(phones, " "))
	}
	d.words[word] = true
	return nil
}

// setCatalog installs the catalog searches: the ARPA model at path alone,
// and interpolated with the general model at general (weight w for the
// catalog's). It returns the mixed model's reference count (1: the
// decoder's).
func (d *decoder) setCatalog(path, general string, w float64) (int, error) {
	p, g := C.CString(path), C.CString(general)
	alone, mixed := C.CString(searchCatalog), C.CString(searchMixed)
	defer C.free(unsafe.Pointer(p))
	defer C.free(unsafe.Pointer(g))
	defer C.free(unsafe.Pointer(alone))
	defer C.free(unsafe.Pointer(mixed))
	rv := C.vt_set_catalog(d.ps, alone, mixed, p, g, C.float(w))
	if rv < 0 {
		return 0, fmt.Errorf("speech: installing the catalog language model failed (%d)", int(rv))
	}
	return int(rv), nil
}

// heard is one decoding: the hypothesis and its posterior probability.
type heard struct {
	text       string
	confidence float64
}

// decode recognises 16 kHz mono samples with the named search.
func (d *decoder) decode(search string, pcm []int16) (heard, error) {
	if len(pcm) == 0 {
		return heard{}, errors.New("speech: no samples")
	}
	s := C.CString(search)
	defer C.free(unsafe.Pointer(s))
	if rv := C.vt_decode(d.ps, s, (*C.int16)(unsafe.Pointer(&pcm[0])), C.size_t(len(pcm))); rv < 0 {
		return heard{}, fmt.Errorf("speech: decoding with %s failed (%d)", search, int(rv))
	}
	var score C.int32
	h := C.ps_get_hyp(d.ps, &score)
	if h == nil {
		return heard{}, nil
	}
	return heard{text: C.GoString(h), confidence: float64(C.vt_confidence(d.ps))}, nil
}

// reading is one of the n-best hypotheses of the last decode: its words
// and its path score in natural-log units.
type reading struct {
	text  string
	score float64
}

// nbest returns up to n distinct hypotheses of the last decode, best
// first, from the A* search over its lattice (at most paths paths are
// read: many differ only in silences and fillers, which are dropped).
func (d *decoder) nbest(n, paths int) []reading {
	var out []reading
	seen := map[string]bool{}
	lmath := C.ps_get_logmath(d.ps)
	nb := C.ps_nbest(d.ps)
	for i := 0; nb != nil && i < paths && len(out) < n; i++ {
		var score C.int32
		if h := C.vt_nbest_hyp(nb, &score); h != nil {
			text := strings.Join(realWords(C.GoString(h)), " ")
			if text != "" && !seen[text] {
				seen[text] = true
				out = append(out, reading{text: text, score: float64(C.logmath_log_to_ln(lmath, C.int(score)))})
			}
		}
		nb = C.ps_nbest_next(nb)
	}
	if nb != nil {
		C.ps_nbest_free(nb)
	}
	return out
}

// realWords drops fillers and sentence markers from a hypothesis and the
// alternative pronunciation marks ("(2)") from its words.
func realWords(hyp string) []string {
	var out []string
	for _, w := range strings.Fields(hyp) {
		if strings.HasPrefix(w, "<") || strings.HasPrefix(w, "[") {
			continue
		}
		if i := strings.IndexByte(w, '('); i > 0 {
			w = w[:i]
		}
		out = append(out, w)
	}
	return out
}
