package api_test

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/vitrinehq/vitrine/api"
	"github.com/vitrinehq/vitrine/internal/apitest"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/serving"
	"github.com/vitrinehq/vitrine/speech"
)

// newVoiceFixture serves the demo catalog with a real PocketSphinx
// recogniser whose catalog model is built from the database (nil
// transcriber: none configured).
func newVoiceFixture(t *testing.T, withSpeech bool) *fixture {
	t.Helper()
	ctx := t.Context()
	a := apitest.New(t)
	svc, err := api.DefaultService(a.Store, a.Encoders, nil)
	if err != nil {
		t.Fatal(err)
	}
	deps := api.Deps{Service: svc, Store: a.Store, Encoders: a.Encoders, Indexer: a.Indexer, Media: a.Media}
	if withSpeech {
		rec, err := speech.New()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(rec.Close)
		if _, err := rec.Sync(ctx, a.Store, -1); err != nil {
			t.Fatal(err)
		}
		deps.Transcriber = rec
	}
	cfg := api.DefaultConfig()
	cfg.Auth, cfg.RateLimit = api.AuthRequired, 0
	srv, err := api.New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	fx := &fixture{t: t, srv: ts, api: srv, st: a.Store, db: a.DB}
	_, fx.read, _ = a.Store.CreateAPIKey(ctx, "reader", []records.Scope{records.ScopeRead})
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	doc.Servers = openapi3.Servers{{URL: ts.URL}}
	if fx.router, err = gorillamux.NewRouter(doc); err != nil {
		t.Fatal(err)
	}
	return fx
}

// spoken synthesises text with espeak-ng's Klatt voice as a 22.05 kHz WAV.
func spoken(t *testing.T, text string) []byte {
	t.Helper()
	wav := filepath.Join(t.TempDir(), "q.wav")
	if out, err := exec.Command("espeak-ng", "-v", "en-us+klatt2", "-s", "170", "-w", wav, text).CombinedOutput(); err != nil {
		t.Fatalf("espeak-ng: %v: %s", err, out)
	}
	b, err := os.ReadFile(wav)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func multipartAudio(t *testing.T, field string, audio []byte) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	fw, err := w.CreateFormFile(field, "q.wav")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(audio)
	w.WriteField("k", "5")
	w.Close()
	return w.FormDataContentType(), b.Bytes()
}

type voiceBody struct {
	Transcript string  `json:"transcript"`
	Confidence float64 `json:"confidence"`
	Query      string  `json:"query"`
	hitsBody
}

// TestSearchVoiceFindsSpokenProducts: a clean synthetic query of a demo
// product's name finds that product in the top 5, uploaded either way.
func TestSearchVoiceFindsSpokenProducts(t *testing.T) {
	fx := newVoiceFixture(t, true)
	for _, c := range []struct{ name, id string }{
		{"Alpro Blueberry Soyghurt", "grocery-49-alpro-blueberry-soyghurt"},
		{"Yoggi Vanilla Yoghurt", "grocery-58-yoggi-vanilla-yoghurt"},
		{"Tropicana Apple Juice", "grocery-34-tropicana-apple-juice"},
		{"Asparagus", "grocery-59-asparagus"},
	} {
		audio := spoken(t, c.name)
		ct, body := multipartAudio(t, "audio", audio)
		for how, r := range map[string]response{
			"multipart": fx.do("POST", "/v1/search/voice", fx.read, ct, body),
			"raw body":  fx.do("POST", "/v1/search/voice?k=5", fx.read, "audio/wav", audio),
		} {
			var got voiceBody
			r.json(t, &got)
			if r.status != 200 || !slices.Contains(ids(got.hitsBody), c.id) || got.Query != got.Transcript || got.Confidence <= 0 {
				t.Errorf("%s (%s): %d, heard %q (%.2f), results %v", c.name, how, r.status, got.Transcript, got.Confidence, ids(got.hitsBody))
			}
			if len(got.Results) > 5 {
				t.Errorf("%s (%s): %d results, asked for 5", c.name, how, len(got.Results))
			}
		}
	}
}

func TestSearchVoiceBadInput(t *testing.T) {
	fx := newVoiceFixture(t, true)
	noAudioCT, noAudio := multipartAudio(t, "sound", []byte("RIFF"))
	notWavCT, notWav := multipartAudio(t, "audio", []byte("this is not a WAV file at all"))
	for _, c := range []struct {
		name, path, ctype string
		body              []byte
		status            int
		field             string
	}{
		{"no audio field", "/v1/search/voice", noAudioCT, noAudio, 422, "audio"},
		{"not WAV", "/v1/search/voice", notWavCT, notWav, 422, "audio"},
		{"empty raw body", "/v1/search/voice", "audio/wav", nil, 422, "audio"},
		{"JSON", "/v1/search/voice", "application/json", []byte(`{}`), 422, "audio"},
		{"too large", "/v1/search/voice", "audio/wav", make([]byte, api.MaxVoiceBytes+1), 413, "audio"},
		{"bad k", "/v1/search/voice?k=0", "audio/wav", []byte("RIFF"), 422, "k"},
	} {
		r := fx.do("POST", c.path, fx.read, c.ctype, c.body)
		var p api.Problem
		r.json(t, &p)
		if r.status != c.status || len(p.Errors) != 1 || p.Errors[0].Field != c.field {
			t.Errorf("%s: %d %+v, want %d naming %s", c.name, r.status, p, c.status, c.field)
		}
	}
}

func TestSearchVoiceWithoutSpeechModel(t *testing.T) {
	fx := newVoiceFixture(t, false)
	req, err := http.NewRequest("POST", fx.srv.URL+"/v1/search/voice", strings.NewReader("RIFF"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "audio/wav")
	req.Header.Set("Authorization", "Bearer "+fx.read)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	fx.validate(req, resp, b)
	if resp.StatusCode != 501 || !strings.Contains(string(b), "voice") {
		t.Errorf("%d %s, want 501", resp.StatusCode, b)
	}
	var _ serving.Transcriber = (*speech.Recognizer)(nil)
}
