package onnx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/vitrinehq/vitrine/internal/config"
)

// fixture is what every test shares. ORT's environment is process-global,
// so TestMain opens one Runtime and one mobilenet Session for the whole
// run; tests that need their own Runtime join the same environment.
type fixture struct {
	rt      *Runtime
	mobile  *Session
	library string
	model   string
}

var shared fixture

const mobilenetFile = "mobilenetv2-12-int8.onnx"

// loadProbeEnv, when set, makes the test binary only try to load the named
// file as ONNX Runtime and report; see TestLibraryLoadFailure.
const loadProbeEnv = "VITRINE_ONNX_TEST_LOAD_PROBE"

func TestMain(m *testing.M) {
	if path := os.Getenv(loadProbeEnv); path != "" {
		os.Exit(loadProbe(path))
	}
	os.Exit(runTests(m))
}

// loadProbe runs in a fresh process, where ORT is not loaded yet, so the
// library really is dlopen'ed. Exit 0: the typed error came back.
func loadProbe(path string) int {
	_, err := NewRuntime(context.Background(), WithLibraryPath(path))
	fmt.Println(err)
	var le *LibraryError
	if errors.Is(err, ErrLibraryLoad) && errors.As(err, &le) && le.Path != "" && !ort.IsInitialized() {
		return 0
	}
	return 3
}

func runTests(m *testing.M) int {
	ctx := context.Background()
	lib, model, err := testPaths()
	if err != nil {
		fmt.Fprintln(os.Stderr, "onnx tests:", err)
		return 1
	}
	rt, err := NewRuntime(ctx, WithLibraryPath(lib), WithLogger(stderrLogger()))
	if err != nil {
		fmt.Fprintln(os.Stderr, "onnx tests:", err)
		return 1
	}
	s, err := rt.OpenSession(ctx, model)
	if err != nil {
		fmt.Fprintln(os.Stderr, "onnx tests:", err)
		_ = rt.Close()
		return 1
	}
	shared = fixture{rt: rt, mobile: s, library: lib, model: model}
	code := m.Run()
	if err := afterAll(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "onnx tests: after all tests:", err)
		return 1
	}
	return code
}

// afterAll checks what only the end of the run can: closing the last
// Runtime destroys ORT's environment, and a later Runtime brings it back.
func afterAll(ctx context.Context) error {
	if err := shared.rt.Close(); err != nil {
		return fmt.Errorf("close shared runtime: %w", err)
	}
	if ort.IsInitialized() {
		return errors.New("ORT environment still initialised after the last Runtime closed")
	}
	rt, err := NewRuntime(ctx, WithLibraryPath(shared.library), WithLogger(stderrLogger()))
	if err != nil {
		return fmt.Errorf("runtime after full close: %w", err)
	}
	s, err := rt.OpenSession(ctx, shared.model)
	if err != nil {
		return errors.Join(fmt.Errorf("session after full close: %w", err), rt.Close())
	}
	out, err := s.Run(ctx, []Tensor{grayImage(1, 0.5)})
	if err != nil {
		return errors.Join(fmt.Errorf("run after full close: %w", err), rt.Close())
	}
	if got := out[0].Shape(); len(got) != 2 || got[0] != 1 || got[1] != 1000 {
		return errors.Join(fmt.Errorf("run after full close: output shape %v", got), rt.Close())
	}
	if err := rt.Close(); err != nil {
		return err
	}
	if ort.IsInitialized() {
		return errors.New("ORT environment still initialised after the second full close")
	}
	return nil
}

// testPaths finds the ORT library the way the service does (config, with
// VITRINE_* overrides) and the shared model mirror (config's assets, which
// CI sets; else ../shared beside the checkout).
func testPaths() (library, model string, err error) {
	root, err := repoRoot()
	if err != nil {
		return "", "", err
	}
	cfg, err := config.Load("", os.Environ)
	if err != nil {
		return "", "", err
	}
	// Relative paths in the configuration are relative to the project root,
	// while go test runs in the package directory.
	if !filepath.IsAbs(cfg.Home) {
		cfg.Home = filepath.Join(root, cfg.Home)
	}
	if cfg.ORT.Library != "" && !filepath.IsAbs(cfg.ORT.Library) {
		cfg.ORT.Library = filepath.Join(root, cfg.ORT.Library)
	}
	assets := cfg.Assets
	switch {
	case assets == "":
		assets = filepath.Join(root, "..", "shared")
	case !filepath.IsAbs(assets):
		assets = filepath.Join(root, assets)
	}
	library = cfg.ORTLibrary()
	if _, err := os.Stat(library); err != nil {
		return "", "", fmt.Errorf("ONNX Runtime library: %w (run scripts/setup)", err)
	}
	model = filepath.Join(assets, "models", mobilenetFile)
	if _, err := os.Stat(model); err != nil {
		return "", "", fmt.Errorf("test model: %w (set VITRINE_ASSETS to the shared/ mirror)", err)
	}
	return library, model, nil
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

func stderrLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

const side = 224

// normalise applies ImageNet's per-channel mean and std to a 0..1 pixel
// value, as models/SOURCE.txt describes the model's input.
func normalise(c int, v float32) float32 {
	mean := [3]float32{0.485, 0.456, 0.406}
	std := [3]float32{0.229, 0.224, 0.225}
	return (v - mean[c]) / std[c]
}

// grayImage is n copies of a uniform gray image at level (0..1), normalised
// like a real photo would be.
func grayImage(n int, level float32) Tensor {
	data := make([]float32, n*3*side*side)
	for i := range data {
		c := (i / (side * side)) % 3
		data[i] = normalise(c, level)
	}
	return Float32Tensor([]int64{int64(n), 3, side, side}, data)
}

// gradientImage is one image whose channels ramp in different directions,
// so different seeds give clearly different logits.
func gradientImage(seed int) Tensor {
	data := make([]float32, 3*side*side)
	for c := range 3 {
		for y := range side {
			for x := range side {
				v := float32((x*(c+1)+y*(seed+1))%side) / side
				data[(c*side+y)*side+x] = normalise(c, v)
			}
		}
	}
	return Float32Tensor([]int64{1, 3, side, side}, data)
}

func maxAbsDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}
