// Package gpucheck runs every configured model on the CPU and on CUDA in
// one process and compares them: the embeddings of the same real inputs
// must agree (cosine at least a threshold) and each provider's items/s is
// measured at batch 1 and 32. Besides the configured models it runs
// generated ones of the sizes users deploy (all-MiniLM-L6-v2 and ViT-B/16
// shapes, random weights: package onnxgen), so a check on a GPU machine
// gives CUDA figures for real model sizes. When CUDA cannot be used at all it names
// what is missing (the CUDA build of ONNX Runtime, its provider libraries,
// the driver, CUDA 13, cuDNN 9) before any model is loaded. `vitrine
// models gpu-check` prints its result.
package gpucheck

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/extractors/onnx"
	"github.com/vitrinehq/vitrine/models"
	"github.com/vitrinehq/vitrine/models/verify"
	"github.com/vitrinehq/vitrine/vecmath"
)

// Batches are the batch sizes measured: one item at a time is the
// latency-bound search path, 32 the ingestion path (ort.max_batch default).
func Batches() []int { return []int{1, 32} }

// Options say what to feed the models and what agreement to demand.
type Options struct {
	Items     int           // inputs per model (sources repeated to reach it)
	MinTime   time.Duration // measure each provider and batch size at least this long
	MinCosine float64       // lowest acceptable CPU/CUDA cosine
	Text      string        // file of text inputs, one per line; "" = the demo catalog
	Images    string        // directory of photos
	Audio     string        // directory of WAVs; "" = the mirror's fsdd, else synthesised
	// SkipGenerated leaves out the generated models at real sizes
	// (GeneratedPresets) that a check runs after the configured ones.
	SkipGenerated bool
}

// Env is where the models and the runtime are, and how to run them.
type Env struct {
	Library  string // the CUDA build of libonnxruntime
	ModelDir string
	Assets   string // the data mirror, for the audio inputs
	// Intra and Inter are ONNX Runtime's thread settings.
	Intra, Inter int
	MaxWait      time.Duration
	QueueSize    int
	Logger       *slog.Logger
}

// UnavailableError is CUDA being unusable here; it unwraps to the
// provider error (so errors.Is finds onnx.ErrProviderUnavailable).
type UnavailableError struct{ *onnx.ProviderError }

// Unwrap returns the provider error.
func (e *UnavailableError) Unwrap() error { return e.ProviderError }

// Result is a whole check: the runtime that ran it and a row per model.
type Result struct {
	Version, Library string
	Rows             []Row
	// Failed are the models that failed or disagreed.
	Failed []error
}

// runtimes opens two Runtimes on one library: they share the process's ORT
// environment and differ only in the provider their sessions get (cuda
// never falls back, so a CUDA encoder that opens really runs on the GPU).
func runtimes(ctx context.Context, env Env) (cuda, cpu *onnx.Runtime, err error) {
	opts := func(p onnx.Provider) []onnx.Option {
		return []onnx.Option{onnx.WithLibraryPath(env.Library), onnx.WithProvider(p), onnx.WithIntraOpThreads(env.Intra),
			onnx.WithInterOpThreads(env.Inter), onnx.WithLogger(env.Logger)}
	}
	if cuda, err = onnx.NewRuntime(ctx, opts(onnx.ProviderCUDA)...); err != nil {
		return nil, nil, err
	}
	if cpu, err = onnx.NewRuntime(ctx, opts(onnx.ProviderCPU)...); err != nil {
		cuda.Close()
		return nil, nil, err
	}
	return cuda, cpu, nil
}

// Check runs every model of todo on both providers, then, unless
// o.SkipGenerated, the generated models at real sizes (GeneratedPresets,
// installed under <env.ModelDir>/generated once CUDA is known to work). It
// returns an *UnavailableError, before any model is measured or generated,
// when CUDA cannot be used here at all.
func Check(ctx context.Context, env Env, todo []models.Manifest, o Options) (Result, error) {
	var res Result
	// Without the ONNX Runtime pieces there is nothing to ask ORT; say all
	// that is missing at once rather than one piece per run.
	if ortMissing := MissingORTPieces(env.Library); len(ortMissing) > 0 {
		host := MissingHostPieces(ctx, filepath.Dir(env.Library), nil)
		return res, &UnavailableError{&onnx.ProviderError{Provider: onnx.ProviderCUDA, Missing: append(ortMissing, host...)}}
	}
	cudaRT, cpuRT, err := runtimes(ctx, env)
	if err != nil {
		return res, err
	}
	defer cudaRT.Close()
	defer cpuRT.Close()
	res.Version, res.Library = cudaRT.Version(), cudaRT.Library()
	c := checker{env: env, o: o, cudaRT: cudaRT, cpuRT: cpuRT,
		eo: extractors.Options{MaxBatch: slices.Max(Batches()), MaxWait: env.MaxWait, QueueSize: env.QueueSize, Logger: env.Logger}}
	targets := make([]Target, len(todo))
	for i, m := range todo {
		targets[i] = Target{M: m, Dir: env.ModelDir}
	}
	if err := c.run(ctx, &res, targets); err != nil || o.SkipGenerated || ctx.Err() != nil {
		return res, cmp.Or(err, ctx.Err())
	}
	gen, err := InstallGenerated(ctx, env.ModelDir, GeneratedPresets())
	if err != nil {
		return res, err
	}
	err = c.run(ctx, &res, gen)
	return res, cmp.Or(err, ctx.Err())
}

// Target is a model to check and the model directory it is in.
type Target struct {
	M   models.Manifest
	Dir string
}

// checker holds what every model of a check shares.
type checker struct {
	env           Env
	o             Options
	cudaRT, cpuRT *onnx.Runtime
	eo            extractors.Options
	// cudaWorks turns true with the first CUDA session; until then a
	// provider error means CUDA is unusable here, not that a model is bad.
	cudaWorks bool
}

// run checks each target in turn, adding its row (and failure) to res.
func (c *checker) run(ctx context.Context, res *Result, targets []Target) error {
	for _, t := range targets {
		env := c.env
		env.ModelDir = t.Dir
		// The CUDA encoder opens first: on a machine without a usable GPU
		// the first model fails within a second, before any CPU work.
		cudaEnc, err := extractors.Open(ctx, c.cudaRT, t.M, t.Dir, c.eo)
		var row Row
		if err != nil {
			var pe *onnx.ProviderError
			if !c.cudaWorks && errors.As(err, &pe) {
				host := MissingHostPieces(ctx, filepath.Dir(env.Library), pe.Missing)
				return &UnavailableError{&onnx.ProviderError{Provider: pe.Provider, Missing: append(slices.Clone(pe.Missing), host...), Err: pe.Err}}
			}
			row = Row{M: t.M, Err: fmt.Errorf("on cuda: %w", hintFetch(err, t.M))}
		} else {
			c.cudaWorks = true
			row = CheckModel(ctx, env, c.o, t.M, c.cpuRT, cudaEnc, c.eo)
			cudaEnc.Close()
		}
		res.Rows = append(res.Rows, row)
		if row.Err != nil {
			res.Failed = append(res.Failed, fmt.Errorf("%s: %w", t.M.Key(), row.Err))
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil
}

// Row is one model's result.
type Row struct {
	M       models.Manifest
	Inputs  string             // where the inputs came from
	N       int                // inputs encoded
	PerSec  map[string]float64 // "cpu/1", "cuda/32", ... -> items/s
	CosMin  float64            // over every input and batch size
	CosMean float64
	// Compared: cosines were computed (CosMin and CosMean mean something).
	Compared bool
	Err      error
}

// CheckModel encodes the model's inputs on both providers at each
// batch size and compares the vectors input by input.
func CheckModel(ctx context.Context, env Env, o Options, m models.Manifest, cpuRT *onnx.Runtime, cudaEnc extractors.Encoder, eo extractors.Options) Row {
	row := Row{M: m, PerSec: map[string]float64{}}
	inputs, desc, err := Inputs(m, o, env.Assets)
	if err != nil {
		row.Err = err
		return row
	}
	row.Inputs, row.N = desc, len(inputs)
	cpuEnc, err := extractors.Open(ctx, cpuRT, m, env.ModelDir, eo)
	if err != nil {
		row.Err = fmt.Errorf("on cpu: %w", hintFetch(err, m))
		return row
	}
	defer cpuEnc.Close()

	var cos []float64
	for _, b := range Batches() {
		cpu, err := measure(ctx, cpuEnc, inputs, b, o.MinTime)
		if err != nil {
			row.Err = fmt.Errorf("cpu, batch %d: %w", b, err)
			return row
		}
		gpu, err := measure(ctx, cudaEnc, inputs, b, o.MinTime)
		if err != nil {
			row.Err = fmt.Errorf("cuda, batch %d: %w", b, err)
			return row
		}
		row.PerSec[fmt.Sprintf("cpu/%d", b)] = cpu.PerSec
		row.PerSec[fmt.Sprintf("cuda/%d", b)] = gpu.PerSec
		c, err := CompareRuns(cpu, gpu)
		if err != nil {
			row.Err = fmt.Errorf("batch %d: %w", b, err)
			return row
		}
		cos = append(cos, c...)
	}
	if len(cos) == 0 {
		row.Err = errors.New("no input produced a vector on either provider")
		return row
	}
	row.Compared = true
	row.CosMin = slices.Min(cos)
	var sum float64
	for _, c := range cos {
		sum += c
	}
	row.CosMean = sum / float64(len(cos))
	if row.CosMin < o.MinCosine {
		row.Err = fmt.Errorf("CPU and CUDA vectors differ: minimum cosine %.6f < %.6f", row.CosMin, o.MinCosine)
	}
	return row
}

// Run is one provider's pass over the inputs at one batch size.
type Run struct {
	PerSec float64
	Vecs   [][]float32
	Errs   []error
}

// measure encodes inputs in batches of b after one warm-up batch (CUDA
// picks kernels and cuDNN algorithms per shape on the first call), passing
// over them until minTime has gone by, at least once. The vectors of the
// first pass are kept for comparison.
func measure(ctx context.Context, enc extractors.Encoder, inputs [][]byte, b int, minTime time.Duration) (Run, error) {
	if _, _, err := enc.EncodeBatch(ctx, inputs[:min(b, len(inputs))]); err != nil {
		return Run{}, fmt.Errorf("warm-up: %w", err)
	}
	r := Run{Vecs: make([][]float32, len(inputs)), Errs: make([]error, len(inputs))}
	done := 0
	start := time.Now()
	for pass := 0; pass == 0 || time.Since(start) < minTime; pass++ {
		for lo := 0; lo < len(inputs); lo += b {
			hi := min(lo+b, len(inputs))
			vecs, errs, err := enc.EncodeBatch(ctx, inputs[lo:hi])
			if err != nil {
				return Run{}, err
			}
			if pass == 0 {
				copy(r.Vecs[lo:hi], vecs)
				copy(r.Errs[lo:hi], errs)
			}
			done += hi - lo
		}
	}
	r.PerSec = float64(done) / time.Since(start).Seconds()
	return r, nil
}

// CompareRuns gives the cosine of each input's CPU and CUDA vectors. An
// input refused on one provider and encoded on the other is a failure; one
// refused on both (a text with no known word) is left out.
func CompareRuns(cpu, gpu Run) ([]float64, error) {
	var cos []float64
	for i := range cpu.Vecs {
		ce, ge := cpu.Errs[i], gpu.Errs[i]
		switch {
		case ce != nil && ge != nil:
			continue
		case ce != nil:
			return nil, fmt.Errorf("input %d: cpu refused it (%w), cuda encoded it", i, ce)
		case ge != nil:
			return nil, fmt.Errorf("input %d: cuda refused it (%w), cpu encoded it", i, ge)
		}
		c, err := cosine(cpu.Vecs[i], gpu.Vecs[i])
		if err != nil {
			return nil, fmt.Errorf("input %d: %w", i, err)
		}
		cos = append(cos, c)
	}
	return cos, nil
}

// cosine is vecmath's; a zero vector or a NaN from CUDA counts as
// disagreement, not as a cosine of 0.
func cosine(a, b []float32) (float64, error) {
	if !vecmath.Finite(a) || !vecmath.Finite(b) {
		return 0, errors.New("a vector with NaN values")
	}
	if vecmath.IsZero(a) || vecmath.IsZero(b) {
		return 0, errors.New("a zero vector")
	}
	c, err := vecmath.Cosine(a, b)
	if err != nil {
		return 0, fmt.Errorf("vectors of %d and %d dimensions: %w", len(a), len(b), err)
	}
	return c, nil
}

// Inputs gathers o.Items inputs for the model's modality, repeating
// the sources when there are fewer, and says where they came from.
func Inputs(m models.Manifest, o Options, assets string) ([][]byte, string, error) {
	var (
		src  [][]byte
		desc string
		err  error
	)
	switch m.Modality {
	case models.Text:
		src, desc, err = texts(o.Text)
	case models.Image:
		src, desc, err = readDir(o.Images, ".jpg", ".jpeg", ".png")
		if err == nil && len(src) == 0 {
			src, desc, err = verify.SynthImages()
		}
	case models.Audio:
		dir := o.Audio
		if dir == "" && assets != "" {
			dir = filepath.Join(assets, "data", "audio", "fsdd")
		}
		if dir != "" {
			src, desc, err = readDir(dir, ".wav")
		}
		if err == nil && len(src) == 0 {
			src, desc = verify.SynthWAVs(m)
		}
	default:
		return nil, "", fmt.Errorf("no inputs for modality %q", m.Modality)
	}
	if err != nil {
		return nil, "", err
	}
	if len(src) == 0 {
		return nil, "", fmt.Errorf("no %s inputs (%s)", m.Modality, desc)
	}
	out := make([][]byte, o.Items)
	for i := range out {
		out[i] = src[i%len(src)]
	}
	if len(src) < o.Items {
		desc += fmt.Sprintf(", repeated to %d", o.Items)
	} else if len(src) > o.Items {
		desc += fmt.Sprintf(", first %d", o.Items)
	}
	return out, desc, nil
}

// texts reads one input per non-empty line of path, or the demo
// catalog's titles and descriptions (short and long texts, so transformer
// encoders see several sequence lengths), or a few built-in lines.
func texts(path string) ([][]byte, string, error) {
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, "", fmt.Errorf("--text: %w", err)
		}
		var out [][]byte
		for line := range strings.SplitSeq(string(b), "\n") {
			if s := strings.TrimSpace(line); s != "" {
				out = append(out, []byte(s))
			}
		}
		return out, fmt.Sprintf("%d lines of %s", len(out), path), nil
	}
	catalog := filepath.Join("demo", "grocery", "catalog.jsonl")
	if f, err := os.Open(catalog); err == nil {
		defer f.Close()
		var out [][]byte
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
		for sc.Scan() {
			var p struct{ Title, Description string }
			if json.Unmarshal(sc.Bytes(), &p) != nil {
				continue
			}
			for _, s := range []string{p.Title, p.Description} {
				if s = strings.TrimSpace(s); s != "" {
					out = append(out, []byte(s))
				}
			}
		}
		if err := sc.Err(); err != nil {
			return nil, "", fmt.Errorf("read %s: %w", catalog, err)
		}
		if len(out) > 0 {
			return out, fmt.Sprintf("%d titles and descriptions from %s", len(out), catalog), nil
		}
	}
	lines := []string{
		"organic whole milk", "dark roast coffee beans, 500 g", "ripe bananas",
		"sparkling mineral water in glass bottles", "gluten-free oat crackers with sea salt",
		"fresh atlantic salmon fillet", "greek yoghurt, 10% fat", "red onions, net of 1 kg",
	}
	out := make([][]byte, len(lines))
	for i, s := range lines {
		out[i] = []byte(s)
	}
	return out, fmt.Sprintf("%d built-in lines (no %s here)", len(out), catalog), nil
}

// readDir reads the files in dir with one of the extensions, sorted
// by name. A missing directory is no inputs, not an error: the caller
// synthesises instead.
func readDir(dir string, exts ...string) ([][]byte, string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && slices.Contains(exts, strings.ToLower(filepath.Ext(e.Name()))) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	out := make([][]byte, 0, len(names))
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return nil, "", err
		}
		out = append(out, b)
	}
	return out, fmt.Sprintf("%d files in %s", len(out), dir), nil
}

// MissingORTPieces lists what of the CUDA build of ONNX Runtime is not
// at lib: the library and the provider libraries ORT loads from its
// directory.
func MissingORTPieces(lib string) []string {
	var missing []string
	if st, err := os.Stat(lib); err != nil || st.IsDir() {
		missing = append(missing, "the CUDA build of ONNX Runtime "+lib)
	}
	for _, name := range []string{"libonnxruntime_providers_shared.so", "libonnxruntime_providers_cuda.so"} {
		p := filepath.Join(filepath.Dir(lib), name)
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, "ONNX Runtime provider library "+p)
		}
	}
	return missing
}

// hostLib is a library the pinned CUDA provider needs from the host.
type hostLib struct{ file, what string }

// hostLibs are what libonnxruntime_providers_cuda.so of the pinned build
// (models/runtime/onnxruntime-cuda.yaml) loads: the driver's libcuda and
// CUDA 13's runtime, cuBLAS and cuRAND at link time, cuDNN 9 on the first
// convolution.
func hostLibs() []hostLib {
	return []hostLib{
		{"libcuda.so.1", "NVIDIA driver library"},
		{"libcudart.so.13", "CUDA 13 runtime"},
		{"libcublas.so.13", "CUDA 13 cuBLAS"},
		{"libcublasLt.so.13", "CUDA 13 cuBLASLt"},
		{"libcurand.so.10", "CUDA 13 cuRAND"},
		{"libcudnn.so.9", "cuDNN 9"},
	}
}

// MissingHostPieces lists the driver and host libraries that cannot be
// found where the dynamic loader would look, leaving out what an entry of
// known (ORT's own list) already names. It only explains a failure: whether
// CUDA works is ORT's call, since a library can live where this search does
// not reach.
func MissingHostPieces(ctx context.Context, libDir string, known []string) []string {
	named := func(what string) bool {
		return slices.ContainsFunc(known, func(k string) bool { return strings.Contains(k, what) })
	}
	var missing []string
	if _, err := os.Stat("/proc/driver/nvidia/version"); err != nil && !named("/proc/driver/nvidia/version") {
		missing = append(missing, "NVIDIA GPU driver (/proc/driver/nvidia/version)")
	}
	dirs := filepath.SplitList(os.Getenv("LD_LIBRARY_PATH"))
	dirs = append(dirs, libDir, "/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib",
		"/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib")
	if more, _ := filepath.Glob("/usr/local/cuda-13*/lib64"); len(more) > 0 {
		dirs = append(dirs, more...)
	}
	cache := ldconfigCache(ctx)
	var libs []string
	for _, l := range hostLibs() {
		// "libcudart.so" in ORT's list covers libcudart.so.13.
		if cache[l.file] || foundIn(dirs, l.file) || named(strings.SplitAfter(l.file, ".so")[0]) {
			continue
		}
		libs = append(libs, l.what+" "+l.file)
	}
	if len(libs) > 0 {
		missing = append(missing, strings.Join(libs, ", ")+" (searched LD_LIBRARY_PATH, "+libDir+", /usr/local/cuda and the system library dirs)")
	}
	return missing
}

func foundIn(dirs []string, file string) bool {
	for _, d := range dirs {
		if d == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, file)); err == nil {
			return true
		}
	}
	return false
}

// ldconfigCache is the set of library names the dynamic loader's cache
// knows; empty when ldconfig is not there.
func ldconfigCache(ctx context.Context) map[string]bool {
	names := map[string]bool{}
	bin, err := exec.LookPath("ldconfig")
	if err != nil {
		bin = "/sbin/ldconfig"
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-p").Output()
	if err != nil {
		return names
	}
	for line := range bytes.SplitSeq(out, []byte("\n")) {
		if f := bytes.Fields(line); len(f) > 0 {
			names[string(f[0])] = true
		}
	}
	return names
}

// hintFetch adds the command that provides a missing model file.
func hintFetch(err error, m models.Manifest) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w (run `vitrine models fetch %s`)", err, m.Name)
	}
	return err
}
