package serving_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/serving"
)

// heard is a Transcriber that hears what its map says each clip holds:
// its readings, best first.
type heard map[string][]string

var errUnreadable = errors.New("unreadable audio")

func (h heard) Transcribe(_ context.Context, wav []byte) ([]string, float64, error) {
	readings, ok := h[string(wav)]
	if !ok {
		return nil, 0, errUnreadable
	}
	return readings, 0.75, nil
}

func TestSearchVoice(t *testing.T) {
	clips := heard{"apple.wav": {"apple"}, "silence.wav": nil, "pear.wav": {" pear "},
		// misheard: the first reading finds nothing, the next two agree.
		"misheard.wav": {"chese", "whole milk", "milk", "", "milk"}}
	tests := []struct {
		name       string
		req        serving.VoiceRequest
		transcript string
		readings   []string // nil: the transcript alone
		wantFirst  string
		wantErr    error
		wantField  string
	}{
		{name: "a spoken query is searched", req: serving.VoiceRequest{Audio: []byte("pear.wav")}, transcript: "pear", wantFirst: "pear"},
		{name: "filters apply", req: serving.VoiceRequest{Audio: []byte("apple.wav"), K: 1,
			Filter: catalog.Filter{Exclude: []string{"apple-red", "apple-green"}}}, transcript: "apple", wantFirst: "pear"},
		{name: "readings are fused", req: serving.VoiceRequest{Audio: []byte("misheard.wav"), K: 1}, transcript: "chese",
			readings: []string{"chese", "whole milk", "milk"}, wantFirst: "milk"},
		{name: "nothing heard, nothing searched", req: serving.VoiceRequest{Audio: []byte("silence.wav")}},
		{name: "no audio", req: serving.VoiceRequest{}, wantField: "audio"},
		{name: "bad k before decoding", req: serving.VoiceRequest{Audio: []byte("noise"), K: -1}, wantField: "k"},
		{name: "unreadable audio", req: serving.VoiceRequest{Audio: []byte("noise")}, wantErr: errUnreadable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := serving.NewVoice(newService(t, grocery()), clips)
			if err != nil {
				t.Fatal(err)
			}
			res, err := v.SearchVoice(t.Context(), tc.req)
			var fe *serving.FieldError
			switch {
			case tc.wantField != "":
				if !errors.As(err, &fe) || fe.Field != tc.wantField {
					t.Fatalf("error %v, want a FieldError on %s", err, tc.wantField)
				}
				return
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error %v, want %v", err, tc.wantErr)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			if res.Transcript != tc.transcript || res.Query != tc.transcript {
				t.Errorf("transcript %q, query %q; want %q", res.Transcript, res.Query, tc.transcript)
			}
			want := tc.readings
			if want == nil {
				want = strings.Fields(tc.transcript)
			}
			if !slices.Equal(res.Readings, want) {
				t.Errorf("readings %q, want %q", res.Readings, want)
			}
			if tc.transcript == "" {
				if len(res.Hits) != 0 || res.Confidence != 0.75 {
					t.Errorf("nothing heard: %d hits, confidence %v", len(res.Hits), res.Confidence)
				}
				return
			}
			if len(res.Hits) == 0 || res.Hits[0].ID != tc.wantFirst || res.Confidence != 0.75 {
				t.Errorf("hits %v (confidence %v), want %s first", serving.IDs(res.Hits), res.Confidence, tc.wantFirst)
			}
		})
	}
}

func TestNewVoiceNeedsATranscriber(t *testing.T) {
	if _, err := serving.NewVoice(newService(t, grocery()), nil); !errors.Is(err, serving.ErrNoSpeechModel) {
		t.Fatalf("got %v, want ErrNoSpeechModel", err)
	}
}

// TestSearchHeard: readings heard elsewhere are searched as SearchVoice
// searches a transcript, with the same checks of k.
func TestSearchHeard(t *testing.T) {
	v, err := serving.NewVoice(newService(t, grocery()), heard{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := v.SearchHeard(t.Context(), []string{"cheese", "whole milk"}, 0.5, serving.VoiceRequest{K: 2})
	if err != nil {
		t.Fatal(err)
	}
	if ids := serving.IDs(res.Hits); len(ids) != 2 || ids[0] != "cheese" || res.Transcript != "cheese" || res.Confidence != 0.5 {
		t.Errorf("hits %v, transcript %q (%v); want cheese first of 2", ids, res.Transcript, res.Confidence)
	}
	var fe *serving.FieldError
	if _, err := v.SearchHeard(t.Context(), []string{"milk"}, 1, serving.VoiceRequest{K: -1}); !errors.As(err, &fe) || fe.Field != "k" {
		t.Errorf("bad k: %v, want a FieldError on k", err)
	}
}
