package serving

import (
	"context"
	"errors"
	"strings"

	"github.com/vitrinehq/vitrine/catalog"
)

// Transcriber hears a spoken query: WAV bytes (any rate and sample format
// the implementation reads) to text and the posterior probability of that
// text, in [0, 1]. Audio it cannot read fails with an error of its own,
// which SearchVoice passes on wrapped.
type Transcriber interface {
	Transcribe(ctx context.Context, wav []byte) (text string, confidence float64, err error)
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
}

// VoiceResult is what was heard and what hybrid search found for it.
type VoiceResult struct {
	// Transcript is what was heard ("" when nothing was: then there are
	// no hits); Confidence its posterior probability.
	Transcript string
	Confidence float64
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

// SearchVoice transcribes the audio and searches for the transcript.
// Audio is required (FieldError "audio"); k, filter and user are checked
// as Search checks them, before the audio is decoded.
func (v *Voice) SearchVoice(ctx context.Context, req VoiceRequest) (VoiceResult, error) {
	if len(req.Audio) == 0 {
		return VoiceResult{}, fieldError("audio", "is required")
	}
	if req.K == 0 {
		req.K = DefaultK
	}
	if err := firstErr(checkK(req.K), checkFilter(req.Filter, "filter"), checkUser("user_id", req.UserID)); err != nil {
		return VoiceResult{}, err
	}
	text, conf, err := v.tr.Transcribe(ctx, req.Audio)
	if err != nil {
		return VoiceResult{}, err
	}
	text = strings.TrimSpace(text)
	res := VoiceResult{Transcript: text, Confidence: conf}
	if text == "" {
		return res, nil
	}
	if len(text) > MaxQueryLength {
		text = text[:MaxQueryLength]
	}
	sr, err := v.svc.Search(ctx, SearchRequest{Query: text, K: req.K, Filter: req.Filter, UserID: req.UserID})
	if err != nil {
		return VoiceResult{}, err
	}
	res.SearchResult = sr
	return res, nil
}
