package throughput

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/internal/testenv"
)

func TestInterleaveItems(t *testing.T) {
	var order []string
	calls := map[string]int{}
	runner := func(name string, items int) Runner {
		return Runner{Name: name, Items: items, Run: func(context.Context) error {
			calls[name]++
			order = append(order, name)
			return nil
		}}
	}
	res, err := Interleave(t.Context(), []Runner{runner("a", 4), runner("b", 10)}, Budget{Items: 20, Rounds: 3})
	if err != nil {
		t.Fatal(err)
	}
	// a: 7+7+6 items in rounds of 4 → 2+2+2 calls; b: 1 call a round.
	if res[0].Items != 24 || res[1].Items != 30 || len(res[0].Rounds) != 3 {
		t.Errorf("results %+v", res)
	}
	if calls["a"] != Warmups+6 || calls["b"] != Warmups+3 {
		t.Errorf("calls %v", calls)
	}
	// After the warm-ups the runners alternate round by round.
	got := strings.Join(order[2*Warmups:], "")
	if got != "aabaabaab" {
		t.Errorf("order %s: want aab three times", got)
	}
	for _, r := range res {
		if !(r.PerSecond > 0) || r.Min() > r.PerSecond || r.Max() < r.PerSecond {
			t.Errorf("%s: %v items/s, rounds %v", r.Name, r.PerSecond, r.Rounds)
		}
	}
}

func TestInterleaveDurationAndErrors(t *testing.T) {
	slow := Runner{Name: "slow", Items: 1, Run: func(context.Context) error { time.Sleep(2 * time.Millisecond); return nil }}
	res, err := Interleave(t.Context(), []Runner{slow}, Budget{Duration: 30 * time.Millisecond, Rounds: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Seconds < 0.03 || res[0].PerSecond > 600 || res[0].PerSecond < 10 {
		t.Errorf("%+v: want about 500 items/s over at least 30ms", res[0])
	}
	boom := errors.New("boom")
	bad := Runner{Name: "bad", Items: 1, Run: func(context.Context) error { return boom }}
	if _, err := Interleave(t.Context(), []Runner{bad}, Budget{Items: 1, Rounds: 1}); !errors.Is(err, boom) || !strings.Contains(err.Error(), "bad") {
		t.Errorf("error %v: want boom, naming the runner", err)
	}
	for b, flag := range map[Budget]string{{Items: -1, Rounds: 1}: "--items", {Rounds: 1}: "--duration", {Items: 3}: "--rounds"} {
		if err := b.Validate(); err == nil || !strings.Contains(err.Error(), flag) {
			t.Errorf("%+v: %v, want an error naming %s", b, err, flag)
		}
	}
}

// TestBareAndPipeline runs every default model's bare sessions and its
// pipeline paths on the same batch once.
func TestBareAndPipeline(t *testing.T) {
	fsdd := filepath.Join(testenv.Root(t), "..", "shared", "data", "audio", "fsdd")
	if a := os.Getenv("VITRINE_ASSETS"); a != "" {
		fsdd = filepath.Join(a, "data", "audio", "fsdd")
	}
	for _, c := range []struct {
		model  string
		inputs func() ([][]byte, error)
	}{
		{"glove-100d", func() ([][]byte, error) { return ProductTexts(5), nil }},
		{"mobilenetv2-int8", func() ([][]byte, error) {
			paths, err := Files(filepath.Join(testenv.Root(t), "demo", "grocery", "images"), ".jpg")
			if err != nil {
				return nil, err
			}
			return ReadFiles(paths[:3])
		}},
		{"speech-embedding", func() ([][]byte, error) {
			paths, err := Files(fsdd, ".wav")
			if err != nil {
				return nil, err
			}
			return ReadFiles(paths[:3])
		}},
	} {
		t.Run(c.model, func(t *testing.T) {
			m := testenv.Manifest(t, c.model)
			enc, err := extractors.Open(t.Context(), testenv.Runtime(t), m, testenv.ModelDir(t), extractors.Options{MaxBatch: 4})
			if err != nil {
				t.Fatal(err)
			}
			defer enc.Close()
			pool, err := c.inputs()
			if err != nil {
				t.Fatal(err)
			}
			batch := Cycle(pool, 4)
			bare, err := OpenBare(t.Context(), m, testenv.ModelDir(t), batch, Threads{Intra: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer bare.Close()
			for name, run := range map[string]func(context.Context) error{
				"bare":        bare.Run,
				"EncodeBatch": func(ctx context.Context) error { return EncodeBatch(ctx, enc, batch) },
				"Served":      func(ctx context.Context) error { return Served(ctx, enc, batch) },
			} {
				if err := run(t.Context()); err != nil {
					t.Errorf("%s: %v", name, err)
				}
			}
			if m.Modality == "audio" && bare.Metrics["windows/clip"] < 1 {
				t.Errorf("metrics %v", bare.Metrics)
			}
			if err := bare.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		})
	}
}
