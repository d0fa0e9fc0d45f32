package web_test

import (
	"context"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/vitrinehq/vitrine/api"
	"github.com/vitrinehq/vitrine/speech"
)

// TestStorefrontVoice speaks a product name into the storefront's
// microphone: Chromium's fake capture device plays espeak-ng's WAV once,
// the page records it, encodes it as WAV in JavaScript and posts it to
// /v1/search/voice, where PocketSphinx with the demo catalog's language
// model hears it; the page shows the transcript and the product.
func TestStorefrontVoice(t *testing.T) {
	e := newEnv(t)
	rec, err := speech.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rec.Close)
	if _, err := rec.Sync(t.Context(), e.st, -1); err != nil {
		t.Fatal(err)
	}
	cfg := api.DefaultConfig()
	cfg.Auth = api.AuthOff
	cfg.RateLimit = 0
	cfg.MediaRoot = e.root
	srv, err := api.New(cfg, api.Deps{Store: e.st, Encoders: e.set, Indexer: e.ix, Media: e.media, Transcriber: rec})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)

	wav := filepath.Join(t.TempDir(), "said.wav")
	if out, err := exec.Command("espeak-ng", "-v", "en-us+klatt2", "-s", "150", "-w", wav, "Galia Melon").CombinedOutput(); err != nil {
		t.Fatalf("espeak-ng: %v: %s", err, out)
	}
	s := newSession(t,
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-file-for-fake-audio-capture", wav+"%noloop"),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"))
	s.do("open the storefront", chromedp.Navigate(ts.URL+"/"))
	s.waitFor("the microphone button", `!document.querySelector('#mic').hidden`)
	v := s.version("#results")
	s.do("press the microphone", chromedp.Click(chromedp.CSS("#mic")))
	s.waitFor("recording", `document.querySelector('#mic').getAttribute('aria-pressed') === 'true'`)
	s.shot("voice-01-recording")
	// The recording ends by itself (voice.js's MAX_SECONDS) and is sent.
	s.waitRender("#results", v)
	s.shot("voice-02-results")
	s.checkConsole("searching by voice")
	heard := eval[string](s, "the transcript", `document.querySelector('#query-voice').textContent`)
	if !strings.Contains(heard, "galia melon") {
		s.fatalf("the page shows %q, want the transcript galia melon", heard)
	}
	if q := eval[string](s, "the search box", `document.querySelector('#q').value`); q != "galia melon" {
		s.fatalf("the search box holds %q, want the transcript", q)
	}
	ids := eval[[]string](s, "results", jsResultIDs)
	if len(ids) == 0 || !strings.Contains(ids[0], "galia") {
		s.fatalf("results %v, want the Galia melon first", ids)
	}
	if kind := eval[string](s, "result kind", `document.querySelector('#results').dataset.kind`); kind != "voice" {
		s.fatalf("results are marked %q, want voice", kind)
	}
}
