// Package hostile measures the API under hostile load, against a server
// the caller starts: the latency of a normal photo search while other
// clients upload decompression bombs, and the resident memory of the
// server's process before, at the peak of and after a burst of large
// concurrent uploads. It generates its own inputs and is bounded in
// request count and time.
package hostile

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config is one run.
type Config struct {
	// Base is the server's URL (http://127.0.0.1:port); Key, if set, is
	// sent as a bearer token.
	Base string
	Key  string
	// Searches is how many normal 64×64 photo searches are timed, one
	// after another, while Bombers clients upload decompression bombs of
	// BombBytes inflated bytes each.
	Searches  int
	Bombers   int
	BombBytes int
	// Burst concurrent uploads of BurstBytes each; memory is sampled every
	// Sample until Settle after the burst has ended.
	Burst      int
	BurstBytes int
	Settle     time.Duration
	Sample     time.Duration
	// RSS reads the server process's resident size (ProcessRSS for a
	// server in this process).
	RSS func() (int64, error)
}

// DefaultConfig is the scenario: 8 bomb uploaders, 72 concurrent
// 10 MB uploads, 30 s to settle.
func DefaultConfig() Config {
	return Config{Searches: 200, Bombers: 8, BombBytes: 1 << 30, Burst: 72, BurstBytes: 10 << 20,
		Settle: 30 * time.Second, Sample: 100 * time.Millisecond, RSS: ProcessRSS}
}

// Report is what a run measured.
type Report struct {
	Searches    int            `json:"searches"`
	SearchP50Ms float64        `json:"search_p50_ms"`
	SearchP99Ms float64        `json:"search_p99_ms"`
	SearchMaxMs float64        `json:"search_max_ms"`
	SearchCodes map[string]int `json:"search_statuses"`
	Bombers     int            `json:"bombers"`
	BombBytes   int            `json:"bomb_inflated_bytes"`
	Bombs       int            `json:"bombs_sent"`
	BombCodes   map[string]int `json:"bomb_statuses"`
	Burst       int            `json:"burst_uploads"`
	BurstBytes  int            `json:"burst_upload_bytes"`
	BurstCodes  map[string]int `json:"burst_statuses"`
	RSSStartMB  float64        `json:"rss_start_mb"`
	RSSPeakMB   float64        `json:"rss_peak_mb"`
	RSSAfterMB  float64        `json:"rss_after_mb"`
	SettleS     float64        `json:"settle_s"`
}

// Run measures the photo-search latency under bombs, then the memory of a
// burst.
func Run(ctx context.Context, cfg Config) (Report, error) {
	rep := Report{Searches: cfg.Searches, Bombers: cfg.Bombers, BombBytes: cfg.BombBytes, Burst: cfg.Burst,
		BurstBytes: cfg.BurstBytes, SettleS: cfg.Settle.Seconds()}
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Bombers + cfg.Burst + 2}}
	photo, err := NoisePNG(64, 64)
	if err != nil {
		return rep, err
	}
	if err := searchUnderBombs(ctx, client, cfg, photo, &rep); err != nil {
		return rep, err
	}
	return rep, burst(ctx, client, cfg, &rep)
}

// upload is one multipart photo search body.
type upload struct {
	body        []byte
	contentType string
}

func newUpload(image []byte) upload {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	part, _ := w.CreateFormFile("image", "photo.png")
	_, _ = part.Write(image)
	_ = w.Close()
	return upload{b.Bytes(), w.FormDataContentType()}
}

// post sends one upload and returns its status ("error" when the request
// failed, e.g. a connection closed on a refused body) and latency.
func post(ctx context.Context, client *http.Client, cfg Config, u upload) (string, time.Duration) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.Base+"/v1/search/image", bytes.NewReader(u.body))
	if err != nil {
		return "error", 0
	}
	req.Header.Set("Content-Type", u.contentType)
	if cfg.Key != "" {
		req.Header.Set("Authorization", "Bearer "+cfg.Key)
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return "error", time.Since(start)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return strconv.Itoa(resp.StatusCode), time.Since(start)
}

// searchUnderBombs times cfg.Searches photo searches, one at a time, while
// cfg.Bombers clients upload bombs until the searches are done.
func searchUnderBombs(ctx context.Context, client *http.Client, cfg Config, photo []byte, rep *Report) error {
	bomb, err := PNGBomb(64, 64, cfg.BombBytes)
	if err != nil {
		return err
	}
	normal, bad := newUpload(photo), newUpload(bomb)
	bctx, stop := context.WithCancel(ctx)
	var mu sync.Mutex
	rep.BombCodes, rep.SearchCodes = map[string]int{}, map[string]int{}
	var wg sync.WaitGroup
	for range cfg.Bombers {
		wg.Go(func() {
			for bctx.Err() == nil {
				code, _ := post(bctx, client, cfg, bad)
				if bctx.Err() == nil {
					mu.Lock()
					rep.Bombs++
					rep.BombCodes[code]++
					mu.Unlock()
				}
			}
		})
	}
	time.Sleep(200 * time.Millisecond) // the bombers are under way
	lat := make([]float64, 0, cfg.Searches)
	for range cfg.Searches {
		code, d := post(ctx, client, cfg, normal)
		rep.SearchCodes[code]++
		lat = append(lat, float64(d.Microseconds())/1000)
	}
	stop()
	wg.Wait()
	if len(lat) == 0 {
		return errors.New("hostile: no searches measured")
	}
	slices.Sort(lat)
	rep.SearchP50Ms, rep.SearchP99Ms, rep.SearchMaxMs = quantile(lat, 0.5), quantile(lat, 0.99), lat[len(lat)-1]
	return ctx.Err()
}

// quantile of sorted values (nearest rank).
func quantile(sorted []float64, q float64) float64 {
	i := int(q*float64(len(sorted)) + 0.5)
	return sorted[min(max(i-1, 0), len(sorted)-1)]
}

// burst sends cfg.Burst uploads of cfg.BurstBytes at once and samples the
// server's resident size until cfg.Settle after the last one answered.
func burst(ctx context.Context, client *http.Client, cfg Config, rep *Report) error {
	start, err := cfg.RSS()
	if err != nil {
		return err
	}
	peak := &peakRSS{read: cfg.RSS, max: start}
	sctx, stopSampling := context.WithCancel(ctx)
	sampled := make(chan struct{})
	go func() { peak.sample(sctx, cfg.Sample); close(sampled) }()
	rep.BurstCodes, err = sendBurst(ctx, client, cfg)
	if err != nil {
		stopSampling()
		<-sampled
		return err
	}
	client.CloseIdleConnections()
	select {
	case <-time.After(cfg.Settle):
	case <-ctx.Done():
	}
	stopSampling()
	<-sampled
	if err := ctx.Err(); err != nil {
		return err
	}
	after, err := cfg.RSS()
	if err != nil {
		return err
	}
	rep.RSSStartMB, rep.RSSPeakMB, rep.RSSAfterMB = mb(start), mb(peak.max), mb(after)
	return nil
}

// sendBurst posts cfg.Burst copies of a noise PNG of about cfg.BurstBytes
// at once and counts the answers; the body is dropped when it returns.
func sendBurst(ctx context.Context, client *http.Client, cfg Config) (map[string]int, error) {
	side := 1
	for side*side*4 < cfg.BurstBytes {
		side++
	}
	big, err := NoisePNG(side, side)
	if err != nil {
		return nil, err
	}
	u := newUpload(big)
	codes := map[string]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range cfg.Burst {
		wg.Go(func() {
			code, _ := post(ctx, client, cfg, u)
			mu.Lock()
			codes[code]++
			mu.Unlock()
		})
	}
	wg.Wait()
	return codes, ctx.Err()
}

// peakRSS keeps the largest resident size sampled.
type peakRSS struct {
	read func() (int64, error)
	max  int64
}

// sample reads the resident size every period until ctx ends.
func (p *peakRSS) sample(ctx context.Context, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if r, err := p.read(); err == nil && r > p.max {
				p.max = r
			}
		}
	}
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

// ProcessRSS is this process's resident set size (Linux /proc).
func ProcessRSS() (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("hostile: resident size: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("hostile: resident size %q: %w", rest, err)
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("hostile: no VmRSS in /proc/self/status")
}

// NoisePNG is a w×h PNG of random colours (incompressible, so its size is
// about 3 bytes a pixel), seeded for repeatable runs.
func NoisePNG(w, h int) ([]byte, error) {
	rng := rand.New(rand.NewPCG(uint64(w), uint64(h)))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		v := rng.Uint32()
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = byte(v), byte(v>>8), byte(v>>16), 255
	}
	var b bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.NoCompression}).Encode(&b, img); err != nil {
		return nil, fmt.Errorf("hostile: noise PNG: %w", err)
	}
	return b.Bytes(), nil
}

// PNGBomb is a PNG that declares w×h but whose image data inflate to
// inflated bytes of zeros: small on the wire, huge to decode naively.
func PNGBomb(w, h, inflated int) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk(&b, "IHDR", ihdr)
	var z bytes.Buffer
	zw, err := zlib.NewWriterLevel(&z, zlib.BestCompression)
	if err != nil {
		return nil, err
	}
	zeros := make([]byte, 1<<20)
	for left := inflated; left > 0; left -= len(zeros) {
		if _, err := zw.Write(zeros[:min(left, len(zeros))]); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	chunk(&b, "IDAT", z.Bytes())
	chunk(&b, "IEND", nil)
	return b.Bytes(), nil
}

func chunk(b *bytes.Buffer, typ string, payload []byte) {
	_ = binary.Write(b, binary.BigEndian, uint32(len(payload)))
	start := b.Len()
	b.WriteString(typ)
	b.Write(payload)
	_ = binary.Write(b, binary.BigEndian, crc32.ChecksumIEEE(b.Bytes()[start:]))
}

// Text prints the report with the goals beside the figures.
func Text(w io.Writer, r Report) error {
	_, err := fmt.Fprintf(w, `photo search (64x64 PNG) while %d clients upload PNG bombs (%d MiB inflated each, %d sent, statuses %v):
  %d searches, statuses %v: p50 %.1f ms, p99 %.1f ms, max %.1f ms (goal: p99 <= 200 ms)
burst of %d concurrent %.1f MiB uploads (statuses %v):
  RSS start %.0f MiB, peak %.0f MiB, %.0f s after %.0f MiB (%+.0f MiB; goal: within 200 MiB of the start)
`, r.Bombers, r.BombBytes>>20, r.Bombs, r.BombCodes, r.Searches, r.SearchCodes, r.SearchP50Ms, r.SearchP99Ms, r.SearchMaxMs,
		r.Burst, float64(r.BurstBytes)/(1<<20), r.BurstCodes, r.RSSStartMB, r.RSSPeakMB, r.SettleS, r.RSSAfterMB, r.RSSAfterMB-r.RSSStartMB)
	return err
}

// Markdown renders the report for report.Write.
func Markdown(w io.Writer, r Report) error {
	_, err := fmt.Fprintf(w, "# Hostile load\n\n| measure | value | goal |\n|---|---|---|\n"+
		"| photo search p50 / p99 / max, %d bombers | %.1f / %.1f / %.1f ms | p99 <= 200 ms |\n"+
		"| RSS start / peak / %.0f s after %d x %.0f MiB uploads | %.0f / %.0f / %.0f MiB | after - start <= 200 MiB |\n",
		r.Bombers, r.SearchP50Ms, r.SearchP99Ms, r.SearchMaxMs, r.SettleS, r.Burst, float64(r.BurstBytes)/(1<<20), r.RSSStartMB, r.RSSPeakMB, r.RSSAfterMB)
	return err
}
