package hostile_test

import (
	"bytes"
	"context"
	"image/png"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/api"
	"github.com/vitrinehq/vitrine/bench/hostile"
	"github.com/vitrinehq/vitrine/extractors/imageprep"
	"github.com/vitrinehq/vitrine/internal/apitest"
)

// The inputs are what they claim: a noise PNG decodes to its size, a bomb
// declares a small image and is refused by the decode budget.
func TestInputs(t *testing.T) {
	noise, err := hostile.NoisePNG(40, 30)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(noise))
	if err != nil || img.Bounds().Dx() != 40 || img.Bounds().Dy() != 30 {
		t.Fatalf("noise PNG: %v %v", img, err)
	}
	bomb, err := hostile.PNGBomb(64, 64, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	h, err := imageprep.ParseHeader(bomb)
	if err != nil || h.Width != 64 || h.Height != 64 || len(bomb) > 1<<20 {
		t.Fatalf("bomb header %+v %v, %d bytes on the wire", h, err, len(bomb))
	}
	if rss, err := hostile.ProcessRSS(); err != nil || rss <= 0 {
		t.Errorf("resident size %d %v", rss, err)
	}
}

// A small run against the real API: every normal search is served, every
// bomb refused with a 4xx, and the burst's answers are counted.
func TestRun(t *testing.T) {
	env := apitest.New(t)
	cfg := api.DefaultConfig()
	cfg.Auth, cfg.RateLimit, cfg.Impressions.Enabled, cfg.MaxUploads = api.AuthOff, 0, false, 2
	svc, err := api.DefaultService(env.Store, env.Encoders, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := api.New(cfg, api.Deps{Service: svc, Store: env.Store, Encoders: env.Encoders, Indexer: env.Indexer, Media: env.Media})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	hc := hostile.DefaultConfig()
	hc.Base, hc.Searches, hc.Bombers, hc.BombBytes = ts.URL, 5, 2, 64<<20
	hc.Burst, hc.BurstBytes, hc.Settle, hc.Sample = 4, 1<<20, 10*time.Millisecond, 5*time.Millisecond
	rep, err := hostile.Run(t.Context(), hc)
	if err != nil {
		t.Fatal(err)
	}
	if rep.SearchCodes["200"] != 5 || rep.SearchP99Ms <= 0 {
		t.Errorf("searches: %v, p99 %v ms", rep.SearchCodes, rep.SearchP99Ms)
	}
	if rep.Bombs == 0 || rep.BombCodes["422"] != rep.Bombs {
		t.Errorf("bombs: %d sent, statuses %v, want all 422", rep.Bombs, rep.BombCodes)
	}
	n := 0
	for _, c := range rep.BurstCodes {
		n += c
	}
	if n != 4 || rep.RSSStartMB <= 0 || rep.RSSPeakMB < rep.RSSStartMB || rep.RSSAfterMB <= 0 {
		t.Errorf("burst: %v, RSS %.0f/%.0f/%.0f MiB", rep.BurstCodes, rep.RSSStartMB, rep.RSSPeakMB, rep.RSSAfterMB)
	}
	var text bytes.Buffer
	if err := hostile.Text(&text, rep); err != nil || !bytes.Contains(text.Bytes(), []byte("p99")) {
		t.Errorf("text report %q %v", text.String(), err)
	}
}
