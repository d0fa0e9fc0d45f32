package serving

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/ranking"
)

// Transcriber hears a spoken query: WAV bytes (any rate and sample format
// the implementation reads) to its readings, best first (none when
// nothing was heard), and the posterior probability of the first, in
// [0, 1]. Audio it cannot read fails with an error of its own, which
// SearchVoice passes on wrapped.
type Transcriber interface {
	Transcribe(ctx context.Context, wav []byte) (readings []string, confidence float64, err error)
}

// ErrNoSpeechModel: voice search needs a speech recogniser.
var ErrNoSpeechModel = errors.New("no speech model")

// VoiceRequest is one search by voice.
type VoiceRequest struct {
	// Audio is the spoken query as a WAV file.
	Audio  []byte
	K      int // 0: DefaultK
	Filter catalog.Filter
	// UserID personalises as in SearchRequest.
	UserID string
	// SkipFacets and SkipQueryLog are SearchRequest's (offline
	// evaluation wants neither).
	SkipFacets, SkipQueryLog bool
}

// VoiceResult is what was heard and what hybrid search found for it.
type VoiceResult struct {
	// Transcript is what was heard ("" when nothing was: then there are
	// no hits); Confidence its posterior probability.
	Transcript string
	Confidence float64
	// Readings are the readings searched, best first, Transcript the
	// first.
	Readings []string
	SearchResult
}

// Voice runs search by voice: a Transcriber, then the Service's hybrid
// search with the service's configuration, exactly as a typed query.
type Voice struct {
	svc *Service
	tr  Transcriber
}

// NewVoice builds voice search over svc; tr nil fails with
// ErrNoSpeechModel.
func NewVoice(svc *Service, tr Transcriber) (*Voice, error) {
	if svc == nil {
		return nil, errors.New("serving: voice search needs a Service")
	}
	if tr == nil {
		return nil, ErrNoSpeechModel
	}
	return &Voice{svc: svc, tr: tr}, nil
}

// SearchVoice transcribes the audio and searches for what was heard
// (SearchHeard). Audio is required (FieldError "audio"); k, filter and
// user are checked as Search checks them, before the audio is decoded.
func (v *Voice) SearchVoice(ctx context.Context, req VoiceRequest) (VoiceResult, error) {
	if len(req.Audio) == 0 {
		return VoiceResult{}, fieldError("audio", "is required")
	}
	req, err := checkVoice(req)
	if err != nil {
		return VoiceResult{}, err
	}
	readings, conf, err := v.tr.Transcribe(ctx, req.Audio)
	if err != nil {
		return VoiceResult{}, err
	}
	return v.search(ctx, readings, conf, req)
}

// SearchHeard searches for the readings of a spoken query already heard
// (best first; confidence is the first one's posterior), as SearchVoice
// does after transcribing: req's Audio is not read. The first reading is
// searched as a typed query; when there are more, each is searched too
// and the lists are fused by weighted reciprocal rank (fuseReadings), so
// that the best products of the next readings reach the top k beside the
// first reading's when that was heard wrong, and a product several
// readings find rises. Hits' scores are then the fused scores; the rest
// of the result (total, facets, lists, variant) is the first reading's.
func (v *Voice) SearchHeard(ctx context.Context, readings []string, confidence float64, req VoiceRequest) (VoiceResult, error) {
	req, err := checkVoice(req)
	if err != nil {
		return VoiceResult{}, err
	}
	return v.search(ctx, readings, confidence, req)
}

// checkVoice defaults k and checks k, filter and user.
func checkVoice(req VoiceRequest) (VoiceRequest, error) {
	if req.K == 0 {
		req.K = DefaultK
	}
	return req, firstErr(checkK(req.K), checkFilter(req.Filter, "filter"), checkUser("user_id", req.UserID))
}

// The readings' reciprocal rank fusion: a hit at rank r (1, 2, ...) of
// the i-th reading's list (0 the first) scores readingDecay^i /
// (readingRank + r). With these, the top 5 of four readings holds the
// first two hits of the first reading and the first of each other one,
// unless a product is found by several. Chosen on development voices
// (en-us+m3, en-us+f2, en-us+klatt3 at 160 words a minute, not those eval
// voice reports): spoken product in the top 5, clean / 10 dB, 0.819 /
// 0.840 with the transcript alone, 0.844 / 0.840 with 1/(i+1) and rank
// constant 20 (the first reading's list kept whole), 0.868 / 0.897 with
// these, 0.868 / 0.893 with decay 0.7.
const (
	readingRank  = 1
	readingDecay = 0.9
)

func (v *Voice) search(ctx context.Context, readings []string, conf float64, req VoiceRequest) (VoiceResult, error) {
	var queries []string
	for _, r := range readings {
		if r = strings.TrimSpace(r); len(r) > MaxQueryLength {
			r = r[:MaxQueryLength]
		}
		if r != "" && !slices.Contains(queries, r) {
			queries = append(queries, r)
		}
	}
	res := VoiceResult{Confidence: conf, Readings: queries}
	if len(queries) == 0 {
		return res, nil
	}
	res.Transcript = queries[0]
	lists := make([][]Hit, len(queries))
	for i, q := range queries {
		sr, err := v.svc.Search(ctx, SearchRequest{Query: q, K: req.K, Filter: req.Filter, UserID: req.UserID,
			SkipFacets: i > 0 || req.SkipFacets, SkipQueryLog: i > 0 || req.SkipQueryLog})
		if err != nil {
			return VoiceResult{}, err
		}
		if i == 0 {
			res.SearchResult = sr
		}
		lists[i] = sr.Hits
	}
	if len(lists) > 1 {
		res.Hits = fuseReadings(lists, req.K)
	}
	return res, nil
}

// fuseReadings fuses the readings' hit lists by weighted reciprocal rank
// (ranking.RRF with constant readingRank, reading i weighing
// readingDecay^i) and keeps the best k, each hit as its list first gave
// it, scored by the fusion.
func fuseReadings(lists [][]Hit, k int) []Hit {
	byID := map[string]Hit{}
	rl := make([]ranking.List, len(lists))
	w := 1.0
	for i, l := range lists {
		rl[i] = ranking.List{Name: fmt.Sprintf("reading %d", i+1), IDs: IDs(l), Weight: w}
		for _, h := range l {
			if _, ok := byID[h.ID]; !ok {
				byID[h.ID] = h
			}
		}
		w *= readingDecay
	}
	fused := ranking.RRF(rl, readingRank)
	hits := make([]Hit, 0, min(k, len(fused)))
	for _, r := range fused[:min(k, len(fused))] {
		h := byID[r.ProductID]
		h.Score = r.Score
		hits = append(hits, h)
	}
	return hits
}
