package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/extractors/onnx"
	"github.com/vitrinehq/vitrine/internal/config"
	"github.com/vitrinehq/vitrine/models"
)

// gpuCheckUnavailable is the exit status when CUDA cannot be used at all,
// so a script can tell "no GPU here" (3) from "the GPU gives wrong
// embeddings or a model failed" (1).
const gpuCheckUnavailable = 3

// gpuCheckBatches are the batch sizes measured: one item at a time is the
// latency-bound search path, 32 the ingestion path (ort.max_batch default).
func gpuCheckBatches() []int { return []int{1, 32} }

type gpuCheckOptions struct {
	items     int
	minTime   time.Duration
	minCosine float64
	text      string // file of text inputs, one per line; "" = the demo catalog
	images    string // directory of photos
	audio     string // directory of WAVs; "" = the mirror's fsdd, else synthesised
}

func newModelsGPUCheckCmd(a *app) *cobra.Command {
	o := gpuCheckOptions{}
	cmd := &cobra.Command{
		Use:   "gpu-check",
		Short: "Run every configured model on CPU and on CUDA: embeddings must agree; report items/s",
		Long: `gpu-check loads each configured model (models.text, models.image,
models.audio) twice in one process, on the CPU and on the CUDA execution
provider of the CUDA build of ONNX Runtime (ort.library when set, else
<home>/lib-cuda/libonnxruntime.so.1 from 'vitrine models fetch --gpu'; that
build runs the CPU provider too, and ONNX Runtime loads one library per
process). It encodes the same real inputs on both:

  text   lines of --text, or the demo catalog's titles and descriptions
  image  photos in --images (default demo/grocery/images)
  audio  WAVs in --audio, else <assets>/data/audio/fsdd when VITRINE_ASSETS
         (assets) is set, else synthesised tones

For each model it prints items/s on CPU and CUDA at batch 1 and batch 32
(end to end, preprocessing included, after a warm-up batch) and the minimum
and mean cosine similarity between the CPU and CUDA vector of each input,
which must be at least --min-cosine.

Exit status: 0 when every model agrees; 1 when a model fails or disagrees;
3 when CUDA cannot be used here at all. In that case it stops before any
model is measured and names what is missing (the CUDA build of ONNX Runtime,
its provider libraries, the NVIDIA driver, CUDA 13, cuDNN 9).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.items < 1 {
				return fmt.Errorf("--items %d: want at least 1", o.items)
			}
			if o.minCosine <= 0 || o.minCosine > 1 {
				return fmt.Errorf("--min-cosine %v: want a value in (0, 1]", o.minCosine)
			}
			return runGPUCheck(cmd.Context(), a, o, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.items, "items", 64, "inputs per model (sources are repeated to reach it)")
	f.DurationVar(&o.minTime, "min-time", time.Second, "measure each provider and batch size for at least this long")
	f.Float64Var(&o.minCosine, "min-cosine", 0.999, "lowest acceptable cosine similarity between a CPU and a CUDA vector")
	f.StringVar(&o.text, "text", "", "file of text inputs, one per line (default: the demo catalog's titles and descriptions)")
	f.StringVar(&o.images, "images", filepath.Join("demo", "grocery", "images"), "directory of images (.jpg, .jpeg, .png)")
	f.StringVar(&o.audio, "audio", "", "directory of .wav files (default: <assets>/data/audio/fsdd, else synthesised tones)")
	return cmd
}

// gpuCheckLibrary is the ONNX Runtime build gpu-check loads: ort.library
// when set (the operator says that is their CUDA build), else the one
// `vitrine models fetch --gpu` installs.
func gpuCheckLibrary(cfg config.Config) string {
	if cfg.ORT.Library != "" {
		return config.Abs(cfg.ORT.Library)
	}
	return cfg.ORTCUDALibrary()
}

func runGPUCheck(ctx context.Context, a *app, o gpuCheckOptions, out io.Writer) error {
	ms, err := a.manifests()
	if err != nil {
		return err
	}
	todo, err := verifyTargets(ms, nil, a.cfg.Models.Manifests, []string{a.cfg.Models.Text, a.cfg.Models.Image, a.cfg.Models.Audio})
	if err != nil {
		return err
	}
	lib := gpuCheckLibrary(a.cfg)
	// Without the ONNX Runtime pieces there is nothing to ask ORT; say all
	// that is missing at once rather than one piece per run.
	if ortMissing := missingORTCUDAPieces(lib); len(ortMissing) > 0 {
		host := missingGPUHostPieces(ctx, filepath.Dir(lib), nil)
		return gpuUnavailable(&onnx.ProviderError{Provider: onnx.ProviderCUDA, Missing: append(ortMissing, host...)})
	}

	rtOpts := func(p onnx.Provider) []onnx.Option {
		return []onnx.Option{
			onnx.WithLibraryPath(lib),
			onnx.WithProvider(p),
			onnx.WithIntraOpThreads(a.cfg.ORT.IntraOpThreads),
			onnx.WithInterOpThreads(a.cfg.ORT.InterOpThreads),
			onnx.WithLogger(a.log),
		}
	}
	// Two Runtimes on one library share the process's ORT environment and
	// differ only in the provider their sessions get: cuda never falls back,
	// so a CUDA encoder that opens really runs on the GPU.
	cudaRT, err := onnx.NewRuntime(ctx, rtOpts(onnx.ProviderCUDA)...)
	if err != nil {
		return err
	}
	defer cudaRT.Close()
	cpuRT, err := onnx.NewRuntime(ctx, rtOpts(onnx.ProviderCPU)...)
	if err != nil {
		return err
	}
	defer cpuRT.Close()

	eo := extractors.Options{MaxBatch: slices.Max(gpuCheckBatches()), MaxWait: a.cfg.ORT.MaxWait, QueueSize: a.cfg.ORT.QueueSize, Logger: a.log}
	var rows []gpuCheckRow
	var failed []error
	// cudaWorks turns true with the first CUDA session; until then a
	// provider error means CUDA is unusable here, not that a model is bad.
	cudaWorks := false
	for _, m := range todo {
		// The CUDA encoder opens first: on a machine without a usable GPU
		// the first model fails within a second, before any CPU work.
		cudaEnc, err := extractors.Open(ctx, cudaRT, m, a.cfg.ModelDir(), eo)
		if err != nil {
			var pe *onnx.ProviderError
			if !cudaWorks && errors.As(err, &pe) {
				host := missingGPUHostPieces(ctx, filepath.Dir(lib), pe.Missing)
				return gpuUnavailable(&onnx.ProviderError{Provider: pe.Provider, Missing: append(slices.Clone(pe.Missing), host...), Err: pe.Err})
			}
			err = fmt.Errorf("on cuda: %w", gpuHintFetch(err, m))
			failed = append(failed, fmt.Errorf("%s: %w", m.Key(), err))
			rows = append(rows, gpuCheckRow{m: m, err: err})
			continue
		}
		cudaWorks = true
		row := checkModelOnGPU(ctx, a, o, m, cpuRT, cudaEnc, eo)
		cudaEnc.Close()
		rows = append(rows, row)
		if row.err != nil {
			failed = append(failed, fmt.Errorf("%s: %w", m.Key(), row.err))
		}
		if ctx.Err() != nil {
			break
		}
	}
	if err := printGPUCheck(out, cudaRT, rows, o); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(failed) > 0 {
		return fmt.Errorf("models gpu-check: %d of %d models failed: %w", len(failed), len(todo), errors.Join(failed...))
	}
	return nil
}

// gpuUnavailableError is CUDA being unusable: main finds the exitError
// (status 3, the whole message, which names the missing pieces and
// scripts/setup --gpu), errors.Is finds onnx.ErrProviderUnavailable.
type gpuUnavailableError struct {
	exit exitError
	pe   *onnx.ProviderError
}

func (e *gpuUnavailableError) Error() string   { return e.exit.msg }
func (e *gpuUnavailableError) Unwrap() []error { return []error{e.exit, e.pe} }

func gpuUnavailable(pe *onnx.ProviderError) error {
	return &gpuUnavailableError{exit: exitError{code: gpuCheckUnavailable, msg: "models gpu-check: " + pe.Error()}, pe: pe}
}

// gpuHintFetch adds the command that provides a missing model file.
func gpuHintFetch(err error, m models.Manifest) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w (run `vitrine models fetch %s`)", err, m.Name)
	}
	return err
}

// gpuCheckRow is one model's result.
type gpuCheckRow struct {
	m       models.Manifest
	inputs  string             // where the inputs came from
	n       int                // inputs encoded
	perSec  map[string]float64 // "cpu/1", "cuda/32", ... -> items/s
	cosMin  float64            // over every input and batch size
	cosMean float64
	// compared: cosines were computed (cosMin and cosMean mean something).
	compared bool
	err      error
}

// checkModelOnGPU encodes the model's inputs on both providers at each
// batch size and compares the vectors input by input.
func checkModelOnGPU(ctx context.Context, a *app, o gpuCheckOptions, m models.Manifest, cpuRT *onnx.Runtime, cudaEnc extractors.Encoder, eo extractors.Options) gpuCheckRow {
	row := gpuCheckRow{m: m, perSec: map[string]float64{}}
	inputs, desc, err := gpuCheckInputs(m, o, config.Abs(a.cfg.Assets))
	if err != nil {
		row.err = err
		return row
	}
	row.inputs, row.n = desc, len(inputs)
	cpuEnc, err := extractors.Open(ctx, cpuRT, m, a.cfg.ModelDir(), eo)
	if err != nil {
		row.err = fmt.Errorf("on cpu: %w", gpuHintFetch(err, m))
		return row
	}
	defer cpuEnc.Close()

	var cos []float64
	for _, b := range gpuCheckBatches() {
		cpu, err := gpuMeasure(ctx, cpuEnc, inputs, b, o.minTime)
		if err != nil {
			row.err = fmt.Errorf("cpu, batch %d: %w", b, err)
			return row
		}
		gpu, err := gpuMeasure(ctx, cudaEnc, inputs, b, o.minTime)
		if err != nil {
			row.err = fmt.Errorf("cuda, batch %d: %w", b, err)
			return row
		}
		row.perSec[fmt.Sprintf("cpu/%d", b)] = cpu.perSec
		row.perSec[fmt.Sprintf("cuda/%d", b)] = gpu.perSec
		c, err := gpuCompareRuns(cpu, gpu)
		if err != nil {
			row.err = fmt.Errorf("batch %d: %w", b, err)
			return row
		}
		cos = append(cos, c...)
	}
	if len(cos) == 0 {
		row.err = errors.New("no input produced a vector on either provider")
		return row
	}
	row.compared = true
	row.cosMin = slices.Min(cos)
	var sum float64
	for _, c := range cos {
		sum += c
	}
	row.cosMean = sum / float64(len(cos))
	if row.cosMin < o.minCosine {
		row.err = fmt.Errorf("CPU and CUDA vectors differ: minimum cosine %.6f < %.6f", row.cosMin, o.minCosine)
	}
	return row
}

// gpuRun is one provider's pass over the inputs at one batch size.
type gpuRun struct {
	perSec float64
	vecs   [][]float32
	errs   []error
}

// gpuMeasure encodes inputs in batches of b after one warm-up batch (CUDA
// picks kernels and cuDNN algorithms per shape on the first call), passing
// over them until minTime has gone by, at least once. The vectors of the
// first pass are kept for comparison.
func gpuMeasure(ctx context.Context, enc extractors.Encoder, inputs [][]byte, b int, minTime time.Duration) (gpuRun, error) {
	if _, _, err := enc.EncodeBatch(ctx, inputs[:min(b, len(inputs))]); err != nil {
		return gpuRun{}, fmt.Errorf("warm-up: %w", err)
	}
	r := gpuRun{vecs: make([][]float32, len(inputs)), errs: make([]error, len(inputs))}
	done := 0
	start := time.Now()
	for pass := 0; pass == 0 || time.Since(start) < minTime; pass++ {
		for lo := 0; lo < len(inputs); lo += b {
			hi := min(lo+b, len(inputs))
			vecs, errs, err := enc.EncodeBatch(ctx, inputs[lo:hi])
			if err != nil {
				return gpuRun{}, err
			}
			if pass == 0 {
				copy(r.vecs[lo:hi], vecs)
				copy(r.errs[lo:hi], errs)
			}
			done += hi - lo
		}
	}
	r.perSec = float64(done) / time.Since(start).Seconds()
	return r, nil
}

// gpuCompareRuns gives the cosine of each input's CPU and CUDA vectors. An
// input refused on one provider and encoded on the other is a failure; one
// refused on both (a text with no known word) is left out.
func gpuCompareRuns(cpu, gpu gpuRun) ([]float64, error) {
	var cos []float64
	for i := range cpu.vecs {
		ce, ge := cpu.errs[i], gpu.errs[i]
		switch {
		case ce != nil && ge != nil:
			continue
		case ce != nil:
			return nil, fmt.Errorf("input %d: cpu refused it (%w), cuda encoded it", i, ce)
		case ge != nil:
			return nil, fmt.Errorf("input %d: cuda refused it (%w), cpu encoded it", i, ge)
		}
		c, err := gpuCosine(cpu.vecs[i], gpu.vecs[i])
		if err != nil {
			return nil, fmt.Errorf("input %d: %w", i, err)
		}
		cos = append(cos, c)
	}
	return cos, nil
}

// gpuCosine is computed in float64; a NaN from CUDA counts as disagreement.
func gpuCosine(a, b []float32) (float64, error) {
	if len(a) != len(b) {
		return 0, fmt.Errorf("vectors of %d and %d dimensions", len(a), len(b))
	}
	var dot, na, nb float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		dot += x * y
		na += x * x
		nb += y * y
	}
	if na == 0 || nb == 0 {
		return 0, errors.New("a zero vector")
	}
	c := dot / math.Sqrt(na*nb)
	if math.IsNaN(c) {
		return 0, errors.New("a vector with NaN values")
	}
	return c, nil
}

func printGPUCheck(out io.Writer, rt *onnx.Runtime, rows []gpuCheckRow, o gpuCheckOptions) error {
	fmt.Fprintf(out, "ONNX Runtime %s from %s; sessions on cpu and cuda\n", rt.Version(), rt.Library())
	for _, r := range rows {
		if r.inputs != "" {
			fmt.Fprintf(out, "%s inputs: %s\n", r.m.Key(), r.inputs)
		}
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tMODALITY\tITEMS\tCPU b1/s\tCUDA b1/s\tCPU b32/s\tCUDA b32/s\tCOS MIN\tCOS MEAN\tRESULT")
	rate := func(r gpuCheckRow, key string) string {
		v, ok := r.perSec[key]
		if !ok {
			return "-"
		}
		return fmt.Sprintf("%.1f", v)
	}
	for _, r := range rows {
		result, cmin, cmean := "OK", "-", "-"
		if r.compared {
			cmin, cmean = fmt.Sprintf("%.6f", r.cosMin), fmt.Sprintf("%.6f", r.cosMean)
		}
		if r.err != nil {
			result = "FAIL: " + r.err.Error()
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.m.Key(), r.m.Modality, r.n,
			rate(r, "cpu/1"), rate(r, "cuda/1"), rate(r, "cpu/32"), rate(r, "cuda/32"), cmin, cmean, result)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(out, "items/s end to end (preprocessing included); cosine of CPU vs CUDA vectors, at least %g required\n", o.minCosine)
	return nil
}

// gpuCheckInputs gathers o.items inputs for the model's modality, repeating
// the sources when there are fewer, and says where they came from.
func gpuCheckInputs(m models.Manifest, o gpuCheckOptions, assets string) ([][]byte, string, error) {
	var (
		src  [][]byte
		desc string
		err  error
	)
	switch m.Modality {
	case models.Text:
		src, desc, err = gpuCheckTexts(o.text)
	case models.Image:
		src, desc, err = gpuReadInputDir(o.images, ".jpg", ".jpeg", ".png")
		if err == nil && len(src) == 0 {
			src, desc, err = gpuSynthImages()
		}
	case models.Audio:
		dir := o.audio
		if dir == "" && assets != "" {
			dir = filepath.Join(assets, "data", "audio", "fsdd")
		}
		if dir != "" {
			src, desc, err = gpuReadInputDir(dir, ".wav")
		}
		if err == nil && len(src) == 0 {
			src, desc = gpuSynthWAVs(m)
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
	out := make([][]byte, o.items)
	for i := range out {
		out[i] = src[i%len(src)]
	}
	if len(src) < o.items {
		desc += fmt.Sprintf(", repeated to %d", o.items)
	} else if len(src) > o.items {
		desc += fmt.Sprintf(", first %d", o.items)
	}
	return out, desc, nil
}

// gpuCheckTexts reads one input per non-empty line of path, or the demo
// catalog's titles and descriptions (short and long texts, so transformer
// encoders see several sequence lengths), or a few built-in lines.
func gpuCheckTexts(path string) ([][]byte, string, error) {
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

// gpuReadInputDir reads the files in dir with one of the extensions, sorted
// by name. A missing directory is no inputs, not an error: the caller
// synthesises instead.
func gpuReadInputDir(dir string, exts ...string) ([][]byte, string, error) {
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

// gpuSynthImages are verify's probe picture at several sizes, so resizing is
// exercised.
func gpuSynthImages() ([][]byte, string, error) {
	var out [][]byte
	for _, wh := range [][2]int{{300, 200}, {224, 224}, {640, 480}, {120, 360}} {
		b, err := probePNG(wh[0], wh[1])
		if err != nil {
			return nil, "", err
		}
		out = append(out, b)
	}
	return out, fmt.Sprintf("%d synthesised PNGs", len(out)), nil
}

// gpuSynthWAVs are tones of different pitch and length at the model's rate.
func gpuSynthWAVs(m models.Manifest) ([][]byte, string) {
	rate := 16000
	if ap := m.Preprocess.Audio; ap != nil && ap.SampleRate > 0 {
		rate = ap.SampleRate
	}
	var out [][]byte
	for i, hz := range []float64{220, 330, 440, 660, 880, 1320, 1760, 2640} {
		out = append(out, probeWAV(rate, time.Duration(1000+250*i)*time.Millisecond, hz))
	}
	return out, fmt.Sprintf("%d synthesised tones at %d Hz", len(out), rate)
}

// missingORTCUDAPieces lists what of the CUDA build of ONNX Runtime is not
// at lib: the library and the provider libraries ORT loads from its
// directory.
func missingORTCUDAPieces(lib string) []string {
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

// gpuHostLib is a library the pinned CUDA provider needs from the host.
type gpuHostLib struct{ file, what string }

// gpuHostLibs are what libonnxruntime_providers_cuda.so of the pinned build
// (models/runtime/onnxruntime-cuda.yaml) loads: the driver's libcuda and
// CUDA 13's runtime, cuBLAS and cuRAND at link time, cuDNN 9 on the first
// convolution.
func gpuHostLibs() []gpuHostLib {
	return []gpuHostLib{
		{"libcuda.so.1", "NVIDIA driver library"},
		{"libcudart.so.13", "CUDA 13 runtime"},
		{"libcublas.so.13", "CUDA 13 cuBLAS"},
		{"libcublasLt.so.13", "CUDA 13 cuBLASLt"},
		{"libcurand.so.10", "CUDA 13 cuRAND"},
		{"libcudnn.so.9", "cuDNN 9"},
	}
}

// missingGPUHostPieces lists the driver and host libraries that cannot be
// found where the dynamic loader would look, leaving out what an entry of
// known (ORT's own list) already names. It only explains a failure: whether
// CUDA works is ORT's call, since a library can live where this search does
// not reach.
func missingGPUHostPieces(ctx context.Context, libDir string, known []string) []string {
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
	cache := gpuLdconfigCache(ctx)
	var libs []string
	for _, l := range gpuHostLibs() {
		// "libcudart.so" in ORT's list covers libcudart.so.13.
		if cache[l.file] || gpuFoundIn(dirs, l.file) || named(strings.SplitAfter(l.file, ".so")[0]) {
			continue
		}
		libs = append(libs, l.what+" "+l.file)
	}
	if len(libs) > 0 {
		missing = append(missing, strings.Join(libs, ", ")+" (searched LD_LIBRARY_PATH, "+libDir+", /usr/local/cuda and the system library dirs)")
	}
	return missing
}

func gpuFoundIn(dirs []string, file string) bool {
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

// gpuLdconfigCache is the set of library names the dynamic loader's cache
// knows; empty when ldconfig is not there.
func gpuLdconfigCache(ctx context.Context) map[string]bool {
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
